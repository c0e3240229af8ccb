"""Colours, fonts and category icons, in one place so every widget agrees.

Port colours are keyed by the core's port type names and category colours by the
node type's ``category``; unknown plugin categories get a stable hashed hue, so a
third-party node still looks deliberate. Icons are drawn with QPainter (no image
files to lose, crisp at any size) and cached.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt

from studio.packaged import resources_dir
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

RESOURCES = resources_dir()

BG = QColor("#1e2127")
GRID_MINOR = QColor("#262a31")
GRID_MAJOR = QColor("#2f343d")
NODE_BODY = QColor("#2b3038")
NODE_BORDER = QColor("#14171b")
NODE_SELECTED = QColor("#f0b429")
TEXT = QColor("#e6e8eb")
TEXT_DIM = QColor("#9aa3ad")
ERROR = QColor("#e5484d")
WARNING = QColor("#f5a524")
LABEL_PLATE = QColor(16, 18, 22, 210)  # behind a zoomed-out node title

# run states (canvas outlines, status chips, the Last run tab)
RUN_COLORS = {
    "queued": QColor("#6b7380"),
    "running": QColor("#3b9eff"),
    "waiting": QColor("#f5a524"),  # an Approval waiting for a person
    "done": QColor("#46c46e"),
    "failed": QColor("#e5484d"),
    "skipped": QColor("#6b7380"),
    "cached": QColor("#2ec4b6"),
    "stopped": QColor("#a0a7b1"),
}
WIRE_LIT = QColor("#ffe08a")


def run_color(status: str) -> QColor:
    return RUN_COLORS.get(status, RUN_COLORS["queued"])

PORT_COLORS = {
    "text": QColor("#5fb3f9"),
    "number": QColor("#7ee787"),
    "boolean": QColor("#f778ba"),
    "json": QColor("#d2a8ff"),
    "list": QColor("#ffa657"),
    "messages": QColor("#56d4dd"),
    "any": QColor("#b1bac4"),
}

CATEGORY_COLORS = {
    "Flow": QColor("#3f8f5f"),
    "Text": QColor("#3a6ea5"),
    "Control": QColor("#8a5cc2"),
    "LLM": QColor("#c2673a"),
    "AI": QColor("#c2673a"),
    "Tools": QColor("#a58a2e"),
    "Data": QColor("#2e8a8a"),
    "Missing": QColor("#a33a3a"),
}


def port_color(type_name: str) -> QColor:
    return PORT_COLORS.get(str(type_name), PORT_COLORS["any"])


def category_color(category: str) -> QColor:
    c = CATEGORY_COLORS.get(category)
    if c is None:
        hue = zlib.crc32(category.encode()) % 360
        c = QColor.fromHsv(hue, 130, 165)
        CATEGORY_COLORS[category] = c
    return c


def load_stylesheet() -> str:
    """The dark theme (resources/studio.qss); empty when the file is missing.

    ``@RESOURCES@`` in the sheet becomes the resources folder, because Qt resolves
    relative ``url()``s against the working directory, not the sheet.
    """
    try:
        text = (RESOURCES / "studio.qss").read_text(encoding="utf-8")
    except OSError:
        return ""
    return text.replace("@RESOURCES@", RESOURCES.as_posix())


# ----------------------------------------------------------------------------- icons

def _glyph(p: QPainter, category: str, s: float) -> None:
    """Draw a category's glyph in white inside an s-by-s square."""
    pen = QPen(QColor("#ffffff"), s * 0.09, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.NoBrush)
    m = s * 0.28
    if category == "Flow":  # an arrow entering a bracket
        p.drawLine(QPointF(m, s / 2), QPointF(s - m - s * 0.05, s / 2))
        p.drawPolyline(QPolygonF([QPointF(s / 2, m + s * 0.02), QPointF(s - m, s / 2), QPointF(s / 2, s - m - s * 0.02)]))
    elif category == "Text":  # a "T"
        p.drawLine(QPointF(m, m), QPointF(s - m, m))
        p.drawLine(QPointF(s / 2, m), QPointF(s / 2, s - m))
    elif category == "Control":  # a fork
        p.drawLine(QPointF(m, s / 2), QPointF(s / 2, s / 2))
        p.drawLine(QPointF(s / 2, s / 2), QPointF(s - m, m))
        p.drawLine(QPointF(s / 2, s / 2), QPointF(s - m, s - m))
    elif category in ("LLM", "AI"):  # a four-point sparkle
        c = s / 2
        path = QPainterPath(QPointF(c, m * 0.8))
        for a, b in (((c + s * 0.07, c - s * 0.07), (s - m * 0.8, c)), ((c + s * 0.07, c + s * 0.07), (c, s - m * 0.8)),
                     ((c - s * 0.07, c + s * 0.07), (m * 0.8, c)), ((c - s * 0.07, c - s * 0.07), (c, m * 0.8))):
            path.lineTo(QPointF(*a))
            path.lineTo(QPointF(*b))
        p.setBrush(QColor("#ffffff"))
        p.drawPath(path)
    elif category == "Tools":  # a wrench-like bar with a head
        p.drawLine(QPointF(m, s - m), QPointF(s * 0.58, s * 0.42))
        p.drawEllipse(QPointF(s * 0.64, s * 0.36), s * 0.12, s * 0.12)
    elif category == "Missing":  # a question mark
        f = p.font()
        f.setPixelSize(int(s * 0.6))
        f.setBold(True)
        p.setFont(f)
        p.drawText(QRectF(0, 0, s, s), Qt.AlignCenter, "?")
    else:  # a dot
        p.setBrush(QColor("#ffffff"))
        p.drawEllipse(QPointF(s / 2, s / 2), s * 0.14, s * 0.14)


@lru_cache(maxsize=64)
def category_pixmap(category: str, size: int = 32) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(category_color(category))
    p.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), size * 0.22, size * 0.22)
    _glyph(p, category, float(size))
    p.end()
    return pm


def category_icon(category: str) -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32):
        icon.addPixmap(category_pixmap(category, size))
    return icon


def severity_icon(severity: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(ERROR if severity == "error" else WARNING)
    p.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    p.setPen(QPen(QColor("#1e2127"), 2))
    p.drawLine(QPointF(size / 2, size * 0.25), QPointF(size / 2, size * 0.58))
    p.drawPoint(QPointF(size / 2, size * 0.76))
    p.end()
    return QIcon(pm)


@lru_cache(maxsize=16)
def result_icon(result: str, size: int = 14) -> QIcon:
    """A test case's mark: "pass" (green tick), "fail" (red cross), "running" (blue dot)."""
    pm = QPixmap(size, size)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    color = {"pass": RUN_COLORS["done"], "fail": ERROR, "running": RUN_COLORS["running"]}.get(result, RUN_COLORS["queued"])
    p.setBrush(color)
    p.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    p.setPen(QPen(QColor("#1e2127"), 2, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
    s = float(size)
    if result == "pass":
        p.drawPolyline(QPolygonF([QPointF(s * 0.28, s * 0.52), QPointF(s * 0.44, s * 0.68), QPointF(s * 0.72, s * 0.34)]))
    elif result == "fail":
        p.drawLine(QPointF(s * 0.33, s * 0.33), QPointF(s * 0.67, s * 0.67))
        p.drawLine(QPointF(s * 0.67, s * 0.33), QPointF(s * 0.33, s * 0.67))
    p.end()
    return QIcon(pm)
