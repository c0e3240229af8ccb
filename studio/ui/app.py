"""``orchestra [FLOW]``: start the studio.

Start-up is kept lean so the window appears within a second: only Qt and the core are
imported before the first show (no litellm, no networkx); the flow is opened and a
crash recovery offered right after the window is visible. With no argument the last
flow opens, or the first time, an example from ``projects/``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from studio.packaged import projects_dir

PROJECTS = projects_dir()
EXAMPLE = "support_router.flow.json"  # LLM nodes, a route to watch, runs in mock mode without a key


def _first_example() -> Path | None:
    preferred = PROJECTS / EXAMPLE
    if preferred.exists():
        return preferred
    found = sorted(PROJECTS.glob("*.flow.json")) if PROJECTS.is_dir() else []
    return found[0] if found else None


def choose_startup_flow(argv: list[str], settings) -> tuple[Path | None, bool]:
    """(flow to open, whether it is an example to open as an unsaved copy)."""
    if argv:
        return Path(argv[0]), False
    last = settings.value("last_flow")
    if isinstance(last, str) and last and Path(last).exists():
        return Path(last), False
    if not settings.value("opened_example", False, type=bool):
        example = _first_example()
        if example is not None:
            return example, True
    return None, False


def run_studio(argv: list[str]) -> int:
    from .startup_check import display_problem

    problem = display_problem()
    if problem is not None:  # Qt would abort the interpreter (exit 134) with a cryptic message
        print(problem, file=sys.stderr)
        return 3
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "orchestra", *[a for a in argv if a.startswith("-")]])
    app.setApplicationName("Orchestra Studio")
    app.setOrganizationName("Orchestra")
    from . import theme
    from .main_window import MainWindow

    app.setStyle("Fusion")
    app.setStyleSheet(theme.load_stylesheet())
    flows = [a for a in argv if not a.startswith("-")]
    settings = QSettings("Orchestra", "Orchestra Studio")
    window = MainWindow(settings, deferred=True)
    window.show()

    def after_show() -> None:
        window.finish_startup()
        open_initial(window, flows, settings)
        # the run host (a child process) imports the executor and litellm while the person
        # looks at the canvas, so the first run starts at once
        QTimer.singleShot(300, window.runs.worker.prestart)

    QTimer.singleShot(0, after_show)
    code = app.exec()
    _leave_now(code)
    return code  # not reached


def _leave_now(code: int) -> None:
    """End the process as soon as the window has closed.

    Everything worth keeping is written by then (layout and settings synced, recovery
    files dropped, runs cancelled in ``closeEvent``). What may still be going is helper
    threads importing litellm (the model list, a warm-up) -- several seconds during which
    the interpreter would wait before exiting, with no window on screen. The run host
    learns of the end from its closed stdin and exits by itself.
    """
    from .run import worker

    hub = worker._hub
    proc = hub.client.proc if hub is not None else None
    if proc is not None and proc.stdin is not None:
        try:
            proc.stdin.write(b'{"op":"exit"}\n')
            proc.stdin.close()
        except OSError:
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def open_initial(window, flows: list[str], settings) -> None:
    from studio.core.document import flowfile
    from studio.core.errors import FlowFileError

    from . import dialogs
    from .document import Document
    from .recovery import discard_recovered, find_recoverable

    for rec in find_recoverable():
        what = f"“{rec.original.name}”" if rec.original else "an untitled flow"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.saved_at))
        if dialogs.ask_restore(window, what, when):
            try:
                doc = Document(flowfile.load_flow(rec.flow_file), rec.original, window)
            except FlowFileError as exc:
                dialogs.error(window, "Cannot restore", str(exc))
            else:
                doc.stack.resetClean()  # restored work is unsaved work
                window.open_document(doc)
                discard_recovered(rec)
                return
        discard_recovered(rec)
    path, is_example = choose_startup_flow(flows, settings)
    if path is None:
        return
    if is_example:
        try:
            model = flowfile.load_flow(path)
        except FlowFileError as exc:
            dialogs.error(window, "Cannot open example", str(exc))
            return
        settings.setValue("opened_example", True)
        window.open_document(Document(model, None, window))  # Save asks where: the example stays pristine
        window.statusBar().showMessage(f"Example {path.name}: press Save to keep your own copy", 10000)
    else:
        window.open_file(path, ask=False)
