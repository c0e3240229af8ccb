"""Frames (named, coloured boxes grouping nodes) and sticky notes on the canvas.

Both sit behind the nodes. Dragging a frame moves the nodes inside it (the view
decides what is inside when the drag starts); the bottom-right grip resizes it.
Like nodes, they only mirror the model: edits go through core commands.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QTextLayout, QTextOption
from PySide6.QtWidgets import QGraphicsItem

from studio.core.document.model import Frame, Note

from .. import theme

GRIP = 14.0


class _BoxItem(QGraphicsItem):
    table = "frames"

    def __init__(self, item: Frame | Note):
        super().__init__()
        self.item = item
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.refresh()

    @property
    def item_id(self) -> str:
        return self.item.id

    def refresh(self) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(0, 0, max(40.0, self.item.width), max(30.0, self.item.height))
        self.setPos(self.item.x, self.item.y)
        self._color = QColor(self.item.color)
        self.update()

    def rect(self) -> QRectF:
        return self._rect

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def grip_at(self, local: QPointF) -> bool:
        r = self._rect
        return r.right() - GRIP <= local.x() <= r.right() + 2 and r.bottom() - GRIP <= local.y() <= r.bottom() + 2


class FrameItem(_BoxItem):
    Type = QGraphicsItem.UserType + 3
    table = "frames"

    def __init__(self, item: Frame):
        super().__init__(item)
        self.setZValue(-10)

    def type(self) -> int:  # noqa: A003
        return self.Type

    def paint(self, painter: QPainter, option, widget=None) -> None:
        fill = QColor(self._color)
        fill.setAlpha(70)
        border = QColor(self._color).lighter(130)
        painter.setPen(QPen(theme.NODE_SELECTED if self.isSelected() else border, 2 if self.isSelected() else 1.2))
        painter.setBrush(fill)
        painter.drawRoundedRect(self._rect, 8, 8)
        head = QColor(self._color)
        head.setAlpha(170)
        painter.setPen(Qt.NoPen)
        painter.setBrush(head)
        painter.drawRoundedRect(QRectF(0, 0, self._rect.width(), 28), 8, 8)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        f = QFont()
        f.setPixelSize(14 if lod > 0.3 else int(14 / max(lod, 0.05)))
        f.setBold(True)
        painter.setFont(f)
        painter.setPen(theme.TEXT)
        painter.drawText(QRectF(10, 0, self._rect.width() - 20, 28 if lod > 0.3 else self._rect.height()),
                         Qt.AlignLeft | Qt.AlignTop | Qt.TextSingleLine if lod <= 0.3 else Qt.AlignVCenter | Qt.AlignLeft,
                         self.item.title)
        _grip(painter, self._rect, border)


class NoteItem(_BoxItem):
    Type = QGraphicsItem.UserType + 4
    table = "notes"

    def __init__(self, item: Note):
        super().__init__(item)
        self.setZValue(-5)

    def type(self) -> int:  # noqa: A003
        return self.Type

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setPen(QPen(theme.NODE_SELECTED, 2) if self.isSelected() else Qt.NoPen)
        painter.setBrush(self._color)
        painter.drawRoundedRect(self._rect, 4, 4)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < 0.15:
            return
        # zoomed out, the text keeps ~9.5 px on screen: the note's start stays readable (the
        # whole text is in the tooltip) instead of shrinking into grey lines
        text = self.item.text or "Double-click to write a note"
        if self.toolTip() != text:
            self.setToolTip(text)
        f = QFont()
        f.setPixelSize(max(12, int(9.5 / lod)))
        painter.setFont(f)
        painter.setPen(QColor("#f4ecd0"))
        box = self._rect.adjusted(8, 6, -8, -6)
        fm = QFontMetricsF(f)
        painter.setClipRect(self._rect)
        y = box.top() + fm.ascent()
        for line in _note_lines(text, f, box.width(), max(1, int(box.height() // fm.lineSpacing()))):
            painter.drawText(QPointF(box.left(), y), line)
            y += fm.lineSpacing()
        painter.setClipping(False)
        _grip(painter, self._rect, QColor(self._color).lighter(150))


def _note_lines(text: str, font: QFont, width: float, max_lines: int) -> list[str]:
    """The note's text word-wrapped to ``width``; when it needs more than ``max_lines``,
    the last line shown ends in "…", so a shortened note never reads as a sentence cut off
    mid-way (the whole text is in the tooltip)."""
    wrapped: list[str] = []
    for para in text.split("\n"):
        layout = QTextLayout(para, font)
        opt = QTextOption()
        opt.setWrapMode(QTextOption.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(opt)
        layout.beginLayout()
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            wrapped.append(para[line.textStart(): line.textStart() + line.textLength()].rstrip())
        layout.endLayout()
        if len(wrapped) > max_lines:
            break
    if len(wrapped) <= max_lines:
        return wrapped
    shown = wrapped[:max_lines]
    fm = QFontMetricsF(font)
    shown[-1] = fm.elidedText(shown[-1] + " …", Qt.ElideRight, width)  # ends in "…" either way
    return shown


def _grip(painter: QPainter, r: QRectF, color: QColor) -> None:
    painter.setPen(QPen(color, 1.2))
    for d in (4.0, 8.0, 12.0):
        painter.drawLine(QPointF(r.right() - d, r.bottom() - 2), QPointF(r.right() - 2, r.bottom() - d))
