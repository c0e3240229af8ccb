"""The one redaction place (userdata.redaction) hides a secret in each form it is echoed in."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from studio.core.userdata import credentials
from studio.core.userdata.redaction import MASK, Redactor

SECRET = "tok-9f8e7d6c5b4a3210fedcba98"


def echoes(secret: str) -> dict[str, str]:
    raw = secret.encode()
    out = {"raw": f"key={secret};", "json": json.dumps({"k": secret}), "url": urllib.parse.quote(f"a b/{secret}", safe=""),
           "url-plus": urllib.parse.quote_plus(f"{secret} x"), "hex": raw.hex(), "HEX": raw.hex().upper()}
    for prefix in ("", "u:", "us:", "Bearer "):  # every alignment inside a longer base64 text
        out[f"base64 after {prefix!r}"] = base64.b64encode((prefix + secret).encode()).decode()
        out[f"urlsafe base64 after {prefix!r}"] = base64.urlsafe_b64encode((prefix + secret + "?>").encode()).decode()
    return out


def visible(secret: str, text: str) -> bool:
    raw = secret.encode()
    checks = [secret, urllib.parse.quote(secret, safe=""), raw.hex(), raw.hex().upper()]
    for i in range(3):
        part = raw[i:][: (len(raw) - i) // 3 * 3]
        checks += [base64.b64encode(part).decode(), base64.urlsafe_b64encode(part).decode()]
    return any(c in text for c in checks)


@pytest.mark.parametrize("form", sorted(echoes(SECRET)))
def test_the_redactor_hides_each_form(form):
    text = echoes(SECRET)[form]
    assert visible(SECRET, text)  # the check can fail
    out = Redactor([SECRET]).text(text)
    assert MASK in out and not visible(SECRET, out)
    assert not visible(SECRET, Redactor([SECRET]).bytes(text.encode()).decode())


@pytest.mark.parametrize("form", sorted(echoes(SECRET)))
def test_credentials_redact_uses_the_same_forms(form):
    out = credentials.redact({"reply": echoes(SECRET)[form]}, frozenset({SECRET}))
    assert not visible(SECRET, json.dumps(out))


def test_a_named_secret_looked_up_is_redacted_from_then_on(monkeypatch):
    monkeypatch.setenv("ORCHESTRA_SECRET_SCAN_TEST", "named-secret-value-0042")
    r = Redactor()
    assert r.text("x named-secret-value-0042 y") == f"x {MASK} y"  # in the environment: known at once
    credentials.remember_secret("learnt-at-run-time-0099")
    assert r.text(base64.b64encode(b"learnt-at-run-time-0099").decode()) != base64.b64encode(b"learnt-at-run-time-0099").decode()


def test_environment_keys_set_or_removed_while_running_are_seen_by_the_next_scan(monkeypatch):
    """The fast scan of the environment's own table sees what os.environ writes, and finds
    exactly what the portable scan (used where the table is not bytes) finds."""
    key = "sk" "-test-environment-scan-0001"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("ORCHESTRA_SECRET_WEBHOOK", "  hook-secret-value  ")
    monkeypatch.setenv("NOT_A_KEY_AT_ALL", "an-ordinary-long-value")
    fast = credentials.known_secrets(include_keyring=False)
    assert {key, "hook-secret-value"} <= fast and "an-ordinary-long-value" not in fast
    monkeypatch.setattr(credentials.os, "supports_bytes_environ", False)
    assert credentials.known_secrets(include_keyring=False) == fast
    monkeypatch.undo()
    assert key not in credentials.known_secrets(include_keyring=False)
