"""A node on the canvas: title, category colour, typed ports, summary, problems badge.

Kept cheap because a flow may hold thousands: geometry, paths and QStaticTexts are
built once in ``rebuild`` (when the node's parameters or title change) and ``paint``
only replays them.

Readable at every zoom a person uses: text is sized in *screen* pixels once the node is
small on screen. Down to ``LOD_DETAIL`` the node is drawn in full and its title grows so
it never reads smaller than about 10 px; below that, ports and summary are dropped and
the title is drawn large (two lines at most, allowed a little past the node's sides, on
a dark plate) so a fitted flow of any size still says what each box is. A problem shows
as a one-line hint under the node, not only in a tooltip. The item never edits the model --
the view turns gestures into core commands and the scene moves the item when the
model says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF, QStaticText
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from studio.core.document.model import Node
from studio.core.catalogue.nodetype import NodeType, Port

from .. import theme

if TYPE_CHECKING:  # pragma: no cover
    from .wire_item import WireItem

WIDTH = 210.0
HEADER = 26.0
SUMMARY = 20.0
ROW = 20.0
PORT_R = 5.0
RADIUS = 6.0
LOD_DETAIL = 0.55
BADGE_H = 16.0
TITLE_MIN_PX = 10.5  # the smallest on-screen size a title is drawn at
LABEL_SPILL = 70.0  # how far (scene units, each side) a zoomed-out title may pass the node's edges


class RunLook:
    """What a run shows on a node: its state, a progress tag and a badge line."""

    __slots__ = ("status", "progress", "badge", "_progress_st", "_badge_st")

    def __init__(self, status: str, progress: str = "", badge: str = ""):
        self.status, self.progress, self.badge = status, progress, badge
        self._progress_st = self._badge_st = None

    def __eq__(self, other) -> bool:
        return isinstance(other, RunLook) and (self.status, self.progress, self.badge) == (other.status, other.progress, other.badge)

    def texts(self, width: float) -> tuple[QStaticText | None, QStaticText | None]:
        _, small = fonts()
        if self._badge_st is None and self.badge:
            self._badge_st = _static(self.badge, width, small)
        if self._progress_st is None and self.progress:
            self._progress_st = _static(self.progress, width * 0.8, small)
        return self._progress_st, self._badge_st

_SELECTED_THIN = QPen(theme.NODE_SELECTED, 2)
_SELECTED_THIN.setCosmetic(True)
_title_font = None
_small_font = None


def fonts() -> tuple[QFont, QFont]:
    global _title_font, _small_font
    if _title_font is None:
        _title_font = QFont()
        _title_font.setPixelSize(12)
        _title_font.setBold(True)
        _small_font = QFont()
        _small_font.setPixelSize(11)
    return _title_font, _small_font


class PortSpot:
    """Where one port sits on its node, and how it is drawn."""

    __slots__ = ("name", "output", "type", "pos", "color", "label", "required")

    def __init__(self, port: Port, output: bool, pos: QPointF, label: QStaticText):
        self.name = port.name
        self.output = output
        self.type = str(port.type)
        self.pos = pos
        self.color = theme.port_color(self.type)
        self.label = label
        self.required = port.needs_source and not output


class NodeItem(QGraphicsItem):
    Type = QGraphicsItem.UserType + 1

    def __init__(self, node: Node, node_type: type[NodeType], inputs: Iterable[Port], outputs: Iterable[Port]):
        super().__init__()
        self.node = node
        self.wires: list["WireItem"] = []
        self.problems: list = []
        self._highlight: set[tuple[bool, str]] | None = None  # ports that accept the wire being dragged
        self.run: RunLook | None = None  # the live or replayed run's state of this node (never the model's)
        self.phase = 0.0  # animation phase while running
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setAcceptHoverEvents(True)  # port tooltips follow the cursor
        self._hint_st = None
        self.rebuild(node_type, inputs, outputs)
        self.setPos(node.x, node.y)

    def type(self) -> int:  # noqa: A003 - Qt API
        return self.Type

    @property
    def node_id(self) -> str:
        return self.node.id

    # -- geometry ----------------------------------------------------------------

    def rebuild(self, node_type: type[NodeType], inputs: Iterable[Port], outputs: Iterable[Port]) -> None:
        """Recompute everything drawn from the node's data (after a param/title change)."""
        self.prepareGeometryChange()
        node = self.node
        self.node_type = node_type
        self.category = node_type.category
        self.color = theme.category_color(self.category)
        w = float(node.width or WIDTH)
        inputs, outputs = list(inputs), list(outputs)
        self._in_ports, self._out_ports = inputs, outputs
        try:
            summary = node_type.summary(node.params)
        except Exception:  # a plugin's summary must never break drawing
            summary = ""
        if node_type.kind == "placeholder":
            summary = getattr(node_type, "message", lambda: "missing node type")()
        self.summary = summary
        top = HEADER + (SUMMARY if summary and not node.collapsed else 0)
        rows = 0 if node.collapsed else max(len(inputs), len(outputs))
        h = top + rows * ROW + (6 if rows else 0)
        if node.height and not node.collapsed:
            h = max(h, float(node.height))
        self._rect = QRectF(0, 0, w, h)
        # room below for the run badge (latency, tokens, cost) and the problem hint, above for
        # progress, and at the sides for a zoomed-out title that passes the node's edges
        self._set_bounds()
        self._body, self._header = _paths(w, h)

        self._title_src = (node.title or node_type.title or node.type, w - 40)
        self._summary_src = (summary, w - 16) if summary and not node.collapsed else None
        self._texts_ready = False  # QStaticTexts are made on the first detailed paint

        self.ports: dict[tuple[bool, str], PortSpot] = {}
        for i, p in enumerate(inputs):
            y = HEADER / 2 if node.collapsed else top + ROW * i + ROW / 2 + 3
            self.ports[(False, p.name)] = PortSpot(p, False, QPointF(0, y), None)
        for i, p in enumerate(outputs):
            y = HEADER / 2 if node.collapsed else top + ROW * i + ROW / 2 + 3
            self.ports[(True, p.name)] = PortSpot(p, True, QPointF(w, y), None)
        self._update_badge()
        self.update()

    def _prepare_texts(self) -> None:
        title_font, small_font = fonts()
        text, width = self._title_src
        self._title = _static(text, width, title_font)
        self._summary = _static(*self._summary_src, small_font) if self._summary_src else None
        half = self._rect.width() / 2 - 12
        self._out_label_x = {}
        for (out, name), spot in self.ports.items():
            spot.label = _static(name, half, small_font)
            if out:
                self._out_label_x[name] = self._rect.width() - 10 - spot.label.size().width()
        self._texts_ready = True

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self._rect.adjusted(-PORT_R - 2, 0, PORT_R + 2, 0))
        return path

    def rect(self) -> QRectF:
        return self._rect

    def port_pos(self, output: bool, name: str) -> QPointF:
        """Scene position of a port; a missing port (a stale wire) sits on the header."""
        spot = self.ports.get((output, name))
        local = spot.pos if spot is not None else QPointF(self._rect.width() if output else 0, HEADER / 2)
        return self.pos() + local

    def port_tooltip(self, spot: "PortSpot") -> str:
        """"prompt · text input (required)" and the port's description, for hovering."""
        ports = {(False, p.name): p for p in self._in_ports} | {(True, p.name): p for p in self._out_ports}
        port = ports.get((spot.output, spot.name))
        kind = "output" if spot.output else ("input (required)" if spot.required else "input (optional)")
        text = f"{spot.name} · {spot.type} {kind}"
        desc = getattr(port, "description", "") if port is not None else ""
        return f"{text}\n{desc}" if desc else text

    def hoverMoveEvent(self, event) -> None:
        spot = self.port_at(event.pos(), 8.0)
        tip = self.port_tooltip(spot) if spot is not None else self._node_tooltip
        if self.toolTip() != tip:
            self.setToolTip(tip)
        super().hoverMoveEvent(event)

    def port_type(self, output: bool, name: str) -> str:
        spot = self.ports.get((output, name))
        return spot.type if spot is not None else "any"

    def port_at(self, local: QPointF, slack: float = 9.0) -> PortSpot | None:
        """The port under a point in item coordinates (generous, ports are small)."""
        best, best_d = None, slack * slack
        for spot in self.ports.values():
            dx, dy = spot.pos.x() - local.x(), spot.pos.y() - local.y()
            d = dx * dx + dy * dy
            if d <= best_d:
                best, best_d = spot, d
        return best

    # -- state shown -------------------------------------------------------------

    def set_highlight(self, ports: set[tuple[bool, str]] | None) -> None:
        if ports != self._highlight:
            self._highlight = ports
            self.update()

    def set_run(self, look: "RunLook | None") -> None:
        if look != self.run:
            self.run = look
            self.update()

    def set_problems(self, problems: list) -> None:
        self.problems = problems
        self._update_badge()
        self.update()

    def _set_bounds(self) -> None:
        # below: the run badge and the problem hint (drawn large when zoomed out)
        below = 120.0 if self.problems else 2 * BADGE_H + 6
        self._bounds = self._rect.adjusted(-LABEL_SPILL, -22, LABEL_SPILL, below)

    def _update_badge(self) -> None:
        self._hint_st = None
        if hasattr(self, "_rect"):
            self.prepareGeometryChange()
            self._set_bounds()
        if not self.problems:
            self._badge = None
            self._node_tooltip = self.node_type.description or ""
            self.setToolTip(self._node_tooltip)
            return
        errors = sum(1 for p in self.problems if getattr(p, "severity", "error") == "error")
        color = theme.ERROR if errors else theme.WARNING
        _, small_font = fonts()
        self._badge = (color, _static(str(len(self.problems)), 40, small_font))
        lines = [f"{getattr(p, 'severity', 'error')}: {p.message}" + (f" ({p.hint})" if getattr(p, "hint", "") else "")
                 for p in self.problems[:12]]
        if len(self.problems) > 12:
            lines.append(f"... and {len(self.problems) - 12} more")
        self._node_tooltip = "\n".join(lines)
        self.setToolTip(self._node_tooltip)

    def problem_lines(self) -> tuple[str, str]:
        """What is shown under the node: the first (worst) problem, and what to do about it
        (on a line of its own, so a long message never pushes the fix out of sight)."""
        if not self.problems:
            return "", ""
        worst = sorted(self.problems, key=lambda p: getattr(p, "severity", "error") != "error")[0]
        hint = getattr(worst, "hint", "") or ""
        more = len(self.problems) - 1
        return f"⚠ {worst.message}" + (f" (+{more} more)" if more else ""), (f"→ {hint}" if hint else "")

    def problem_hint(self) -> str:
        """The problem and its fix as one line (zoomed out there is room for one)."""
        message, hint = self.problem_lines()
        return f"{message} {hint}" if hint else message

    # -- painting ----------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        run = self.run
        if run is not None and run.status == "skipped":
            before = painter.opacity()
            painter.setOpacity(before * 0.45)
            self._paint(painter, option, run)
            painter.setOpacity(before)
        else:
            self._paint(painter, option, run)

    def _paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, run: "RunLook | None") -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        selected = self.isSelected()
        if lod < LOD_DETAIL:
            # zoomed out: two rectangles and the title, large, no ports (thousands stay fast)
            painter.fillRect(self._rect, theme.NODE_BODY)
            painter.fillRect(QRectF(0, 0, self._rect.width(), HEADER), self.color)
            if run is not None:
                painter.fillRect(QRectF(0, self._rect.height() - 6, self._rect.width(), 6), theme.run_color(run.status))
            if self._badge is not None:
                painter.fillRect(QRectF(self._rect.width() - 22, -8, 26, 26), self._badge[0])
            if selected:
                painter.setPen(_SELECTED_THIN)
                painter.setBrush(Qt.NoBrush)
                painter.drawRect(self._rect)
            self._paint_label(painter, lod)
            if self._badge is not None:
                self._paint_far_hint(painter, lod)
            return
        painter.setPen(Qt.NoPen)
        painter.setBrush(theme.NODE_BODY)
        painter.drawPath(self._body)
        painter.setBrush(self.color)
        painter.drawPath(self._header)
        painter.setPen(QPen(theme.NODE_SELECTED, 2) if selected else QPen(theme.NODE_BORDER, 1))
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self._body)
        if run is not None:
            self._paint_run_outline(painter, run, selected)
        if not self._texts_ready:
            self._prepare_texts()
        title_font, small_font = fonts()
        if lod * 12 < TITLE_MIN_PX:
            # the header title grows as the view zooms out, so it reads at ~10 px on screen
            font, (st,) = self._scaled_title(TITLE_MIN_PX / lod, self._rect.width() - 40, lines=1)
            painter.setFont(font)
            painter.setPen(theme.TEXT)
            painter.drawStaticText(QPointF(7, (HEADER - st.size().height()) / 2), st)
        else:
            painter.setFont(title_font)
            painter.setPen(theme.TEXT)
            painter.drawStaticText(QPointF(9, 6), self._title)
        painter.setFont(small_font)
        if self._summary is not None:
            painter.setPen(theme.TEXT_DIM)
            painter.drawStaticText(QPointF(9, HEADER + 3), self._summary)
        # ports
        hl = self._highlight
        collapsed = self.node.collapsed
        for key, spot in self.ports.items():
            dim = hl is not None and key not in hl
            color = QColor(spot.color)
            if dim:
                color.setAlpha(60)
            painter.setPen(QPen(theme.NODE_SELECTED, 2) if (hl is not None and not dim) else QPen(theme.NODE_BORDER, 1))
            painter.setBrush(color if (spot.required or spot.output or hl is not None) else theme.NODE_BODY)
            if not spot.required and not spot.output and hl is None:
                painter.setPen(QPen(color, 1.5))
            painter.drawEllipse(spot.pos, PORT_R, PORT_R)
            if not collapsed:
                painter.setPen(theme.TEXT_DIM if not dim else QColor(120, 120, 120, 90))
                if spot.output:
                    painter.drawStaticText(QPointF(self._out_label_x[spot.name], spot.pos.y() - 8), spot.label)
                else:
                    painter.drawStaticText(QPointF(10, spot.pos.y() - 8), spot.label)
        if run is not None:
            self._paint_run_texts(painter, run)
        if self._badge is not None:
            self._paint_hint(painter, run is not None)
            color, text = self._badge
            c = QPointF(self._rect.width() - 4, 0)
            painter.setPen(QPen(theme.NODE_BORDER, 1))
            painter.setBrush(color)
            painter.drawEllipse(c, 9, 9)
            painter.setPen(QColor("#ffffff"))
            sz = text.size()
            painter.drawStaticText(QPointF(c.x() - sz.width() / 2, c.y() - sz.height() / 2), text)


    def title_screen_px(self, zoom: float) -> float:
        """How tall the title reads on screen at ``zoom`` (0 when it is not drawn)."""
        if self.flags() & QGraphicsItem.ItemHasNoContents:
            return 0.0  # the scene's batched overview draws no text
        if zoom < LOD_DETAIL or zoom * 12 < TITLE_MIN_PX:
            return max(12.0, round(TITLE_MIN_PX / max(zoom, 0.05) / 2) * 2) * zoom
        return 12.0 * zoom

    def _scaled_title(self, px: float, width: float, lines: int) -> tuple[QFont, list[QStaticText]]:
        """The title at ``px`` scene pixels, wrapped to ``lines`` within ``width``: one
        plain QStaticText per line (cached per size step, so a zoom gesture prepares a
        handful of texts, not one per frame)."""
        px = max(12.0, round(px / 2) * 2)
        key = (px, round(width), lines, self._title_src[0])
        cache = self.__dict__.setdefault("_label_cache", {})
        hit = cache.get(key)
        if hit is not None:
            return hit
        font = QFont(fonts()[0])
        font.setPixelSize(int(px))
        text = self._title_src[0]
        fm = QFontMetricsF(font)
        if lines <= 1 or fm.horizontalAdvance(text) <= width:
            parts = [fm.elidedText(text, Qt.ElideRight, width)]
        else:  # two lines: break at the last space that fits, elide the rest
            words, first = text.split(), ""
            while words and fm.horizontalAdvance((first + " " + words[0]).strip()) <= width:
                first = (first + " " + words.pop(0)).strip()
            if not first:  # one long word
                first = fm.elidedText(text, Qt.ElideRight, width)
                words = []
            rest = fm.elidedText(" ".join(words), Qt.ElideRight, width)
            parts = [first] + ([rest] if rest else [])
        statics = []
        for part in parts:
            st = QStaticText(part)
            st.setTextFormat(Qt.PlainText)
            st.prepare(font=font)
            statics.append(st)
        if len(cache) > 8:
            cache.clear()
        cache[key] = (font, statics)
        return font, statics

    def _paint_label(self, painter: QPainter, lod: float) -> None:
        """Zoomed out: the title on a dark plate over the node, ~10 px on screen."""
        width = self._rect.width() + 2 * LABEL_SPILL - 8
        font, lines = self._scaled_title(TITLE_MIN_PX / max(lod, 0.05), width, lines=2)
        widths = [st.size().width() for st in lines]
        line_h = lines[0].size().height()
        w, h = max(widths), line_h * len(lines)
        pad = 3.0 / max(lod, 0.05)
        x = (self._rect.width() - w) / 2
        y = max(0.0, (self._rect.height() - h) / 2)
        painter.fillRect(QRectF(x - pad, y - pad / 2, w + 2 * pad, h + pad), theme.LABEL_PLATE)
        painter.setFont(font)
        painter.setPen(theme.TEXT)
        for i, st in enumerate(lines):
            painter.drawStaticText(QPointF((self._rect.width() - widths[i]) / 2, y + i * line_h), st)

    def _paint_far_hint(self, painter: QPainter, lod: float) -> None:
        """Zoomed out: the problem in words under the node, at ~9 px on screen."""
        font = QFont(fonts()[1])
        font.setPixelSize(max(11, int(9.5 / max(lod, 0.05))))
        key = (font.pixelSize(), self.problem_lines())
        cached = getattr(self, "_far_hint", None)
        fm = QFontMetricsF(font)
        if cached is None or cached[0] != key:
            width = 2 * self._rect.width() + LABEL_SPILL  # neighbours sit to the right, rarely below
            sts = []
            for line in key[1]:
                if line:
                    st = QStaticText(fm.elidedText(line, Qt.ElideRight, width))
                    st.setTextFormat(Qt.PlainText)
                    st.prepare(font=font)
                    sts.append(st)
            self._far_hint = cached = (key, sts)
        painter.setFont(font)
        painter.setPen(self._badge[0])
        y = self._rect.height() + 2 / max(lod, 0.05)
        for st in cached[1]:
            if y + fm.height() > self._bounds.bottom():
                break  # far out, only what fits inside the item's bounds (nothing left unrepainted)
            painter.drawStaticText(QPointF(0, y), st)
            y += fm.lineSpacing()

    def _paint_hint(self, painter: QPainter, below_badge: bool) -> None:
        """The first problem, in words, under the node (the badge alone says only "2")."""
        _, small = fonts()
        if self._hint_st is None:
            self._hint_st = [_static(line, self._rect.width() + LABEL_SPILL, small) for line in self.problem_lines() if line]
        color = self._badge[0] if self._badge is not None else theme.WARNING
        painter.setPen(color)
        y = self._rect.height() + (BADGE_H + 5 if below_badge else 4)
        step = QFontMetricsF(small).lineSpacing()
        for i, st in enumerate(self._hint_st):
            painter.drawStaticText(QPointF(2, y + i * step), st)

    # -- run overlay ---------------------------------------------------------------

    def _paint_run_outline(self, painter: QPainter, run: RunLook, selected: bool) -> None:
        color = theme.run_color(run.status)
        r = self._rect
        if run.status in ("running", "waiting"):
            pen = QPen(color, 2.5, Qt.CustomDashLine, Qt.RoundCap)
            pen.setDashPattern([4, 3])
            pen.setDashOffset(-self.phase * 14)
            painter.setPen(pen)
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(r.adjusted(-3, -3, 3, 3), RADIUS + 2, RADIUS + 2)
        elif run.status != "queued":
            painter.setPen(QPen(color, 2))
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(r.adjusted(-2.5, -2.5, 2.5, 2.5), RADIUS + 2, RADIUS + 2)
        # the status chip at the header's right end
        c = QPointF(r.width() - 20, HEADER / 2)
        painter.setPen(QPen(theme.NODE_BORDER, 1))
        painter.setBrush(color if run.status != "queued" else theme.NODE_BODY)
        painter.drawEllipse(c, 7, 7)
        white = QPen(QColor("#ffffff"), 1.8, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        painter.setPen(white)
        painter.setBrush(Qt.NoBrush)
        x, y = c.x(), c.y()
        st = run.status
        if st == "done":
            painter.drawPolyline(QPolygonF([QPointF(x - 3.5, y), QPointF(x - 1, y + 2.8), QPointF(x + 3.5, y - 2.8)]))
        elif st == "failed":
            painter.drawLine(QPointF(x - 3, y - 3), QPointF(x + 3, y + 3))
            painter.drawLine(QPointF(x - 3, y + 3), QPointF(x + 3, y - 3))
        elif st == "running":
            painter.drawArc(QRectF(x - 4, y - 4, 8, 8), int(-self.phase * 360 * 16) % (360 * 16), 270 * 16)
        elif st == "waiting":
            painter.drawLine(QPointF(x - 2, y - 3), QPointF(x - 2, y + 3))
            painter.drawLine(QPointF(x + 2, y - 3), QPointF(x + 2, y + 3))
        elif st == "cached":  # a bolt: reused, not run
            painter.drawPolyline(QPolygonF([QPointF(x + 1, y - 4), QPointF(x - 2, y + 0.5), QPointF(x + 2, y - 0.5), QPointF(x - 1, y + 4)]))
        elif st in ("skipped", "stopped"):
            painter.drawLine(QPointF(x - 3, y), QPointF(x + 3, y))
        else:  # queued: an empty ring
            painter.setPen(QPen(color, 1.5))
            painter.drawEllipse(c, 3.5, 3.5)

    def _paint_run_texts(self, painter: QPainter, run: RunLook) -> None:
        progress, badge = run.texts(self._rect.width())
        if badge is not None:
            painter.setPen(theme.TEXT_DIM)
            painter.drawStaticText(QPointF(4, self._rect.height() + 3), badge)
        if progress is not None:
            sz = progress.size()
            box = QRectF(0, -19, sz.width() + 12, 16)
            color = theme.run_color(run.status)
            painter.setPen(Qt.NoPen)
            painter.setBrush(color.darker(160))
            painter.drawRoundedRect(box, 7, 7)
            painter.setPen(QColor("#ffffff"))
            painter.drawStaticText(QPointF(box.x() + 6, box.y() + 1), progress)


_static_cache: dict[tuple[str, float, int], QStaticText] = {}
_path_cache: dict[tuple[float, float], tuple[QPainterPath, QPainterPath]] = {}


def _static(text: str, width: float, font: QFont) -> QStaticText:
    """An elided, prepared QStaticText, shared by every item showing the same label
    (thousands of nodes repeat "text", "value", "error")."""
    key = (text, round(width), id(font))
    st = _static_cache.get(key)
    if st is None:
        if len(_static_cache) > 20000:
            _static_cache.clear()
        elided = QFontMetricsF(font).elidedText(text, Qt.ElideRight, width)
        st = QStaticText(elided)
        st.setTextFormat(Qt.PlainText)
        st.prepare(font=font)
        _static_cache[key] = st
    return st


def _paths(w: float, h: float) -> tuple[QPainterPath, QPainterPath]:
    """Body and header outlines for a node size (shared: most nodes have few sizes)."""
    key = (w, h)
    hit = _path_cache.get(key)
    if hit is None:
        body = QPainterPath()
        body.addRoundedRect(QRectF(0, 0, w, h), RADIUS, RADIUS)
        header = QPainterPath()
        header.addRoundedRect(QRectF(0, 0, w, HEADER), RADIUS, RADIUS)
        header.addRect(QRectF(0, HEADER - RADIUS, w, RADIUS))
        hit = _path_cache[key] = (body, header.simplified())
    return hit
