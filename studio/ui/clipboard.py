"""Copy and paste as flow JSON, so nodes travel between windows and into text editors.

The clipboard holds the same document shape as a flow file (a fragment: the chosen
nodes, the wires among them, frames and notes), under our own MIME type and as plain
text. Pasting parses it with the file loader's checks, so a stray clipboard can never
put anything malformed into a model.
"""

from __future__ import annotations

import atexit
import json
from typing import Any, Iterable

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from studio.core.document import flowfile
from studio.core.errors import FlowFileError
from studio.core.document.model import FlowModel

MIME = "application/x-orchestra-flow+json"


def fragment(model: FlowModel, node_ids: Iterable[str], frame_ids: Iterable[str] = (), note_ids: Iterable[str] = ()) -> dict[str, Any]:
    doc = flowfile.fragment_document(model, list(node_ids))
    frames = [model.frames[i] for i in sorted(frame_ids) if i in model.frames]
    notes = [model.notes[i] for i in sorted(note_ids) if i in model.notes]
    if frames:
        doc["frames"] = [{"id": f.id, "title": f.title, "color": f.color, "x": f.x, "y": f.y, "w": f.width, "h": f.height} for f in frames]
    if notes:
        doc["notes"] = [{"id": n.id, "text": n.text, "color": n.color, "x": n.x, "y": n.y, "w": n.width, "h": n.height} for n in notes]
    return doc


def is_empty(doc: dict[str, Any]) -> bool:
    return not (doc.get("nodes") or doc.get("frames") or doc.get("notes"))


_exit_hook_registered = False


def put(doc: dict[str, Any]) -> None:
    global _exit_hook_registered
    text = flowfile.dumps(doc)
    mime = QMimeData()
    mime.setData(MIME, text.encode("utf-8"))
    mime.setText(text)
    QGuiApplication.clipboard().setMimeData(mime)
    if not _exit_hook_registered:
        atexit.register(_hand_over_as_text)
        _exit_hook_registered = True


def put_text(text: str) -> None:
    """Plain text on the clipboard (a Mermaid diagram, a pip command).

    ``setText`` lets Qt make the QMimeData itself (no Python wrapper), which is what the
    exit hook below hands over to as well, so nothing of ours is left for Qt's static
    destructors."""
    QGuiApplication.clipboard().setText(text)


def _hand_over_as_text() -> None:
    """Replace our QMimeData by a plain-text copy Qt made itself, while Python still runs.

    Qt deletes the clipboard's data in a C++ static destructor after the interpreter is
    gone; data we created has a Python wrapper, and deleting it then crashes the process
    (SIGSEGV in shiboken at exit). Plain text keeps the copy pasteable: ``get`` accepts
    flow JSON as text too.
    """
    app = QGuiApplication.instance()
    if app is None:
        return
    board = QGuiApplication.clipboard()
    mime = board.mimeData()
    if mime is not None and mime.hasFormat(MIME):
        board.setText(bytes(mime.data(MIME)).decode("utf-8", "replace"))


def get() -> dict[str, Any] | None:
    """The fragment on the clipboard, or None when it holds no flow JSON."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is None:
        return None
    if mime.hasFormat(MIME):
        raw = bytes(mime.data(MIME)).decode("utf-8", "replace")
    elif mime.hasText():
        raw = mime.text()
        if '"orchestra-flow"' not in raw:
            return None
    else:
        return None
    try:
        doc = flowfile.parse_document(raw)
        flowfile.fragment_parts(doc)  # shape check before any command sees it
    except (FlowFileError, json.JSONDecodeError):
        return None
    return doc


def bounds_of(doc: dict[str, Any]) -> tuple[float, float] | None:
    """Top-left corner of a fragment's content (to paste it at the cursor)."""
    xs, ys = [], []
    for n in doc.get("nodes", []):
        layout = n.get("layout", {})
        xs.append(layout.get("x", 0.0))
        ys.append(layout.get("y", 0.0))
    for item in [*doc.get("frames", []), *doc.get("notes", [])]:
        xs.append(item.get("x", 0.0))
        ys.append(item.get("y", 0.0))
    if not xs:
        return None
    return min(xs), min(ys)
