"""The list of model names for the inspector's model field, loaded off the GUI thread.

``import litellm`` takes seconds and, unless LITELLM_LOCAL_MODEL_COST_MAP is set first,
reaches for the network; so it happens only when a model field is first shown, in a
daemon thread, and the names arrive in the completer's model by a queued signal. Until
then (or if litellm is missing) a short list of common models is offered.
"""

from __future__ import annotations

import logging
import os
import threading

from PySide6.QtCore import QObject, QStringListModel, Signal

COMMON = [
    "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini",
    "anthropic/claude-3-5-sonnet-latest", "anthropic/claude-3-5-haiku-latest",
    "gemini/gemini-1.5-pro", "gemini/gemini-1.5-flash", "ollama/llama3.1", "mistral/mistral-large-latest",
]


def load_model_names() -> list[str]:
    """All model names litellm knows (import happens here, never at start-up)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm  # noqa: PLC0415 - deliberately lazy

    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logging.getLogger(name).setLevel(logging.ERROR)
    names = set(getattr(litellm, "model_list", []) or []) | set(getattr(litellm, "model_cost", {}) or {})
    names.discard("sample_spec")
    return sorted(n for n in names if isinstance(n, str))


class ModelCatalog(QObject):
    loaded = Signal(list)
    enabled = True  # tests switch this off to keep litellm out of the process

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.model = QStringListModel(COMMON, self)
        self.names: list[str] | None = None
        self._started = False
        self.loaded.connect(self._on_loaded)

    def ensure_loading(self) -> None:
        if self._started or not self.enabled:
            return
        self._started = True
        threading.Thread(target=self._load, name="model-list", daemon=True).start()

    def _load(self) -> None:
        try:
            names = load_model_names()
        except Exception:  # litellm missing or broken: keep the common list
            return
        self.loaded.emit(names)  # queued to the GUI thread

    def _on_loaded(self, names: list) -> None:
        self.names = list(names)
        merged = list(dict.fromkeys([*COMMON, *self.names]))
        self.model.setStringList(merged)


_catalog: ModelCatalog | None = None


def catalog() -> ModelCatalog:
    global _catalog
    if _catalog is None:
        _catalog = ModelCatalog()
    return _catalog
