"""One Starlette app: the routes, the middleware stack and the lifespan that drains runs.

Middleware, outermost first: CORS (only when origins are configured; off by default, so a
web page elsewhere cannot call the server from a browser), the bearer token (401), the
body size limit (413). Every error is a JSON body shaped like OpenAI's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Sequence

from sse_starlette.sse import AppStatus
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from studio.serve import openai_api, runs_api
from studio.serve.auth import BearerAuth
from studio.serve.documents import error_response
from studio.serve.launcher import Launcher, Refused
from studio.serve.limits import BodyLimit

log = logging.getLogger("orchestra.serve")

# served streams end when their run ends, so they may finish during the grace period
# instead of being cut the moment SIGTERM arrives (uvicorn cancels what is left after it)
AppStatus.disable_automatic_graceful_drain()


async def _refused(request, exc: Refused):
    return error_response(exc.status, exc.code, exc.message, headers=exc.headers, **exc.extra)


async def _http_error(request, exc: HTTPException):
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))


async def _crash(request, exc: Exception):
    from studio.core.userdata.credentials import redact_text

    log.error("internal error on %s: %s: %s", request.url.path, type(exc).__name__, redact_text(str(exc)))
    return error_response(500, "internal_error", f"internal error: {type(exc).__name__}")


def create_app(launcher: Launcher, token: str, *, max_body_bytes: int = 1 << 20,
               cors_origins: Sequence[str] = (), grace_s: float = 30.0, startup=None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app):
        if startup is not None:
            await startup()
        yield
        await drain(launcher, grace_s)

    middleware = []
    if cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                                     allow_headers=["Authorization", "Content-Type", runs_api.SESSION_HEADER]))
    middleware += [Middleware(BearerAuth, token=token), Middleware(BodyLimit, max_bytes=max_body_bytes)]
    app = Starlette(
        routes=[*runs_api.ROUTES, *openai_api.ROUTES],
        middleware=middleware,
        exception_handlers={Refused: _refused, HTTPException: _http_error, Exception: _crash},
        lifespan=lifespan,
    )
    app.state.launcher = launcher
    return app


async def drain(launcher: Launcher, grace_s: float) -> None:
    """At shutdown: no new runs; let running ones (also detached ones) finish, then cancel."""
    launcher.begin_draining()
    active = [s.task for s in launcher.registry.active() if s.task is not None]
    if not active:
        return
    grace_s = max(0.0, grace_s - (time.monotonic() - (launcher.drain_started or time.monotonic())))
    log.info("waiting up to %g s for %d run(s) to finish", grace_s, len(active))
    done, pending = await asyncio.wait(active, timeout=grace_s)
    for served in launcher.registry.active():
        served.run.cancel()
    if pending:
        log.warning("cancelled %d run(s) still going after the grace period", len(pending))
        await asyncio.gather(*pending, return_exceptions=True)
