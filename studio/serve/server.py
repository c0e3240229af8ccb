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
    config = uvicorn.Config(app, host=host, port=port, timeout_graceful_shutdown=grace_s, access_log=access_log,
                            log_level=log_level, lifespan="on", server_header=False, proxy_headers=False)
    DrainingServer(config, on_signal).run()


def configure_logging(level: str = "info") -> None:
    logging.basicConfig(level=level.upper(), format="%(levelname)s: %(name)s: %(message)s")
