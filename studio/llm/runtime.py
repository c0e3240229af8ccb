"""Loading litellm: lazily, once, quietly, and (for the studio) off the GUI thread.

Why a module of its own: ``import litellm`` takes about 4 s here and, unless
LITELLM_LOCAL_MODEL_COST_MAP is set first, tries to download its price list. Every other
module calls ``litellm()`` instead of importing it, so nothing pays for it until the first
model call, and the studio can call ``warm_up()`` at start-up to do the import on a
background thread while the window opens. This is the only place litellm is imported.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from concurrent.futures import Future
from types import ModuleType

_LOCK = threading.Lock()
_MODULE: ModuleType | None = None
_WARMING: Future | None = None

_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm")


def litellm() -> ModuleType:
    """The litellm module, imported on first use with the hygiene DESIGN §5 asks for."""
    global _MODULE
    if _MODULE is not None:
        return _MODULE
    with _LOCK:
        if _MODULE is None:
            # the bundled price map, never a download (which blocks 5 s offline and retries)
            os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
            import litellm as module  # noqa: PLC0415 - the one deliberate import

            module.suppress_debug_info = True
            module.drop_params = True  # a provider that lacks a parameter should not fail the call
            module.telemetry = False
            for name in _LOGGERS:
                logging.getLogger(name).setLevel(logging.ERROR)
            # pydantic complaints about litellm's own types are noise for our users
            warnings.filterwarnings("ignore", module=r"litellm(\.|$)")
            warnings.filterwarnings("ignore", category=UserWarning, message=r".*ReadOnly. qualifier")
            _MODULE = module
    return _MODULE


def is_loaded() -> bool:
    return _MODULE is not None


def warm_up() -> Future:
    """Start importing litellm on a daemon thread; returns a Future that is done when ready.

    Safe to call many times; the GUI calls it at start-up so the first run does not wait.
    """
    global _WARMING
    with _LOCK:
        if _WARMING is not None:
            return _WARMING
        fut: Future = Future()
        _WARMING = fut
    if _MODULE is not None:
        fut.set_result(_MODULE)
        return fut

    def work() -> None:
        try:
            fut.set_result(litellm())
        except BaseException as exc:  # reported through the future, not lost in a thread
            fut.set_exception(exc)

    threading.Thread(target=work, name="litellm-warm-up", daemon=True).start()
    return fut
