"""Live validation: re-check the flow a moment after the last edit (debounced).

The validator lives in ``studio.core.document.validation`` (``validate(model) -> list[Problem]``)
and is imported lazily: it pulls in networkx, which start-up should not pay for, and
the studio must still work (showing no problems) where it is not installed. A
validator that crashes is reported as one problem instead of taking the studio down.
"""

from __future__ import annotations

import importlib
import logging
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.document.model import FlowModel, ModelWatch
from studio.core.document.problems import Problem

log = logging.getLogger(__name__)

Validator = Callable[[FlowModel], list]


def load_validator() -> Validator | None:
    try:
        module = importlib.import_module("studio.core.document.validation")
    except ModuleNotFoundError as exc:
        if exc.name in ("studio.core.document.validation",):
            return None
        raise
    return getattr(module, "validate", None)


class ValidationRunner(QObject):
    finished = Signal(list)  # list[Problem]

    def __init__(self, parent: QObject | None = None, delay_ms: int = 250):
        super().__init__(parent)
        self.validate_fn: Validator | None = None  # tests may inject one
        self.model: FlowModel | None = None
        self.problems: list[Problem] = []
        self._watch = ModelWatch()
        self._delay = delay_ms
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.run_now)

    def set_model(self, model: FlowModel) -> None:
        self.model = model
        self._watch.watch(model, lambda ev: self.schedule())
        self.schedule()

    def schedule(self) -> None:
        # bigger flows take longer to check: wait a little longer for typing to pause
        n = len(self.model) if self.model is not None else 0
        self._timer.start(self._delay + min(n // 4, 750))

    def pending(self) -> bool:
        return self._timer.isActive()

    def run_now(self) -> list[Problem]:
        self._timer.stop()
        if self.model is None:
            return []
        fn = self.validate_fn or load_validator()
        if fn is None:
            problems: list[Problem] = []
        else:
            try:
                problems = list(fn(self.model))
            except Exception as exc:  # a validator bug must not take the editor down
                log.exception("validation failed")
                problems = [Problem("error", "validator_failed", f"the validator failed: {type(exc).__name__}: {exc}")]
        self.problems = problems
        self.finished.emit(problems)
        return problems
