"""The server's bearer token, and the middleware that asks every request for it.

Where the token comes from: ``ORCHESTRA_SERVE_TOKEN`` when set, else the OS keyring
(service ``orchestra-studio``, user ``serve-token``), where the first start stores a new
random one. Never a plaintext file: on a machine with no keyring, set the variable.
Requests compare it in constant time (``hmac.compare_digest``), so the time a wrong guess
takes says nothing about the right one. There is no unauthenticated path, not even a
health check.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time

from studio.core.errors import OrchestraError

ENV_VAR = "ORCHESTRA_SERVE_TOKEN"
KEYRING_USER = "serve-token"
MIN_TOKEN_LEN = 16


class TokenUnavailable(OrchestraError):
    """No token in the environment and the keyring cannot keep one."""


def server_token(create: bool = True) -> tuple[str, str]:
    """(token, where it came from: "environment" | "keyring" | "keyring (new)")."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        if len(env) < MIN_TOKEN_LEN:
            raise TokenUnavailable(f"{ENV_VAR} is too short to be a safe token (at least {MIN_TOKEN_LEN} characters)")
        return env, "environment"
    from studio.core.userdata.credentials import SERVICE, keyring_status

    problem = keyring_status()
    if problem:
        raise TokenUnavailable(f"cannot keep the server's token: {problem}. Set {ENV_VAR} to a long random value instead.")
    import keyring

    stored = keyring.get_password(SERVICE, KEYRING_USER)
    if stored:
        return stored, "keyring"
    if not create:
        raise TokenUnavailable("no server token yet: start `orchestra serve` once to create one")
    token = secrets.token_urlsafe(32)
    keyring.set_password(SERVICE, KEYRING_USER, token)
    return token, "keyring (new)"


def token_matches(expected: bytes, header_value: bytes | None) -> bool:
    """True when an Authorization header carries ``Bearer <expected>`` (constant time)."""
    if not header_value:
        return False
    scheme, _, given = header_value.partition(b" ")
    if scheme.lower() != b"bearer":
        return False
    return hmac.compare_digest(given.strip(), expected)


class BearerAuth:
    """ASGI middleware: 401 (with ``WWW-Authenticate: Bearer``) unless the token matches."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self._token = token.encode("utf-8")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["orchestra.t0"] = time.perf_counter()  # for the Server-Timing header of run responses
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                header = value
                break
        if not token_matches(self._token, header):
            from studio.serve.documents import error_response

            response = error_response(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)",
                                      headers={"WWW-Authenticate": 'Bearer realm="orchestra"'})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
