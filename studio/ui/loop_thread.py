"""An asyncio event loop on a daemon thread, for work that must not run on the GUI thread."""

from __future__ import annotations

import asyncio
import threading


class LoopThread:
    """An asyncio loop on a daemon thread of its own (started on first use, drained and
    stopped by ``close``): the thread-mode runs and the studio's flow tests use one."""

    def __init__(self, name: str):
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._thread = threading.Thread(target=main, name=self.name, daemon=True)
            self._thread.start()
            ready.wait(5)
            self._loop = loop
        return self._loop

    @property
    def started(self) -> bool:
        return self._loop is not None

    def submit(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self, timeout: float = 3.0) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return

        async def drain() -> None:  # cancel what still runs and let it finish cancelling
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(drain(), loop).result(timeout)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        if not loop.is_running():
            loop.close()
