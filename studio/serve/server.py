"""Running the app on uvicorn, with a SIGTERM that drains.

On SIGTERM (or Ctrl-C) the server stops accepting connections and new runs (503), lets
the requests and runs already going finish within the grace period, cancels what is left,
and the process exits 0. uvicorn would otherwise re-raise the signal after its own
graceful shutdown, so the process would end "killed by SIGTERM" even after a clean drain.
"""

from __future__ import annotations

import logging
from typing import Callable

import uvicorn


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal

    def handle_exit(self, sig, frame) -> None:
        self._on_signal()
        super().handle_exit(sig, frame)

    async def serve(self, sockets=None) -> None:
        with self.capture_signals():
            try:
                await self._serve(sockets)
            finally:
                # drained on purpose: do not re-raise the signal that asked for it (exit 0)
                self._captured_signals.clear()


def run_server(app, host: str, port: int, grace_s: float, on_signal: Callable[[], None], access_log: bool = False,
               log_level: str = "info") -> None:
    # log_config=None: uvicorn's loggers go through our handler (and its redaction) instead
    # of handlers of its own
    config = uvicorn.Config(app, host=host, port=port, timeout_graceful_shutdown=grace_s, access_log=access_log,
                            log_level=log_level, lifespan="on", server_header=False, proxy_headers=False,
                            log_config=None)
    DrainingServer(config, on_signal).run()


class RedactSecrets(logging.Filter):
    """Every log line (tracebacks too) with known keys and the server token replaced: a
    provider that puts the key in an exception message cannot leak it into the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        from studio.serve.documents import redact_str

        message = record.getMessage()
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        record.msg, record.args = redact_str(message), ()
        if record.exc_text:
            record.exc_text = redact_str(record.exc_text)
        return True


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
