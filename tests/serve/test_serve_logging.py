"""The server's log never shows a key: every line, tracebacks included, is redacted."""

from __future__ import annotations

import io
import logging


def test_log_lines_and_tracebacks_are_redacted(monkeypatch):
    from studio.serve.documents import add_secrets
    from studio.serve.server import RedactSecrets

    key = "sk" "-from-the-environment-0123456789"
    token = "the-servers-own-token-abcdef012345"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    add_secrets([token])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    log = logging.getLogger("orchestra.serve.test-redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("provider said: bad key %s", key)
        try:
            raise RuntimeError(f"Incorrect API key provided: {key} (token {token})")
        except RuntimeError:
            log.exception("request failed")
    finally:
        log.removeHandler(handler)
        add_secrets([])
    text = stream.getvalue()
    assert key not in text and token not in text
    assert text.count("[redacted]") >= 3 and "RuntimeError" in text and "Traceback" in text
