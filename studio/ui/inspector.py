"""The inspector: a form generated from the selected node's parameter schema.

Every change is one core command pushed through the document (typing in one field
merges into one undo step, like any editor). The form follows the model -- an undo
or a change made elsewhere updates the field -- and never rewrites a field the user
is typing in. With nothing selected it edits the flow's name and description; with a
frame or note selected, their title, text and colour.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QCompleter, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from shiboken6 import isValid

from studio.core.document import commands as C
from studio.core.document.model import ModelEvent, ModelWatch
from studio.core.catalogue.nodetype import Param
from shiboken6 import isValid as shiboken_valid

from . import param_rules, theme
from .model_catalog import catalog
from .prompt_editor import PromptEditor
from .undo_adapter import MergingItemUpdate

BOX_COLORS = ["#3a4a6b", "#3f6b4a", "#6b3a4a", "#5e4a6b", "#6b5e2e", "#2e5e6b", "#4a4a4a"]


class Field:
    """One parameter's widget: ``set`` shows a value, changes call ``on_change``."""

    def __init__(self, widget: QWidget, set_value: Callable[[Any], None], error: QLabel):
        self.widget = widget
        self.set_value = set_value
        self.error = error


class Inspector(QWidget):
    def __init__(self, editor, parent=None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.editor = editor
        self._watch = ModelWatch()
        self._target: tuple[str, str] | None = None  # ("node"|"frames"|"notes"|"flow", id)
        self._fields: dict[str, Field] = {}
        self._updating = False
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        self._host = QWidget()
        self._host.setObjectName("inspectorHost")
        self._layout = QVBoxLayout(self._host)
        self._layout.setContentsMargins(10, 10, 10, 10)
        self._layout.setSpacing(8)
        scroll.setWidget(self._host)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._form_widget: QWidget | None = None

    # -- binding -----------------------------------------------------------------------

    def set_model(self, model) -> None:
        self._watch.watch(model, self._on_event)
        self._target = None
        self.refresh_selection()

    def refresh_selection(self) -> None:
        scene = self.editor.scene
        if not (isValid(self) and isValid(scene)):
            return  # a late signal while the window is being torn down
        nodes = scene.selected_node_ids()
        boxes = scene.selected_boxes()
        if len(nodes) == 1 and not boxes:
            target = ("node", nodes[0])
        elif len(boxes) == 1 and not nodes:
            target = (boxes[0].table, boxes[0].item_id)
        elif not nodes and not boxes:
            target = ("flow", "")
        else:
            target = ("many", str(len(nodes) + len(boxes)))
        if target != self._target:
            self._target = target
            self._build()

    def _on_event(self, ev: ModelEvent) -> None:
        if self._target is None or self._updating:
            return
        kind, tid = self._target
        if kind == "node":
            if ev.kind == "node_renamed" and (ev.data or {}).get("old") == tid:
                self._target = ("node", ev.id)
                self._build()
            elif ev.kind == "node_removed" and ev.id == tid:
                self._target = None
                self.refresh_selection()
            elif ev.kind == "node_changed" and ev.id == tid:
                self._sync_values()
        elif kind in ("frames", "notes") and ev.id == tid:
            if ev.kind.endswith("_removed"):
                self._target = None
                self.refresh_selection()
            else:
                self._sync_values()
        elif kind == "flow" and ev.kind in ("flow_changed", "reset"):
            self._sync_values()

    def _push(self, command: C.Command) -> None:
        self._updating = True
        try:
            self.editor.push(command)
        finally:
            self._updating = False
        self._sync_values(skip_focused=True)

    # -- building ----------------------------------------------------------------------

    def _clear(self) -> None:
        if self._form_widget is not None:
            # a field losing focus as it goes must not edit whatever is shown next
            for child in self._form_widget.findChildren(QWidget):
                child.blockSignals(True)
            self._form_widget.setParent(None)
            self._form_widget.deleteLater()
        self._form_widget = None
        self._fields = {}
        self._boxes: dict[str, QWidget] = {}
        self._advanced_heading = None
        self._values: dict[str, Callable[[], Any]] = {}

    def _build(self) -> None:
        self._clear()
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(8)
        kind, tid = self._target or ("many", "")
        if kind == "node":
            self._build_node(v, tid)
        elif kind in ("frames", "notes"):
            self._build_box(v, kind, tid)
        elif kind == "flow":
            self._build_flow(v)
        else:
            v.addWidget(_heading(f"{tid} items selected"))
            v.addWidget(_dim("Align, distribute or group them from the Arrange menu."))
        v.addStretch(1)
        self._form_widget = w
        self._layout.addWidget(w)
        self._sync_values()

    def _build_node(self, v: QVBoxLayout, node_id: str) -> None:
        model = self.editor.model
        node = model.nodes[node_id]
        nt = model.node_type(node_id)
        head = QHBoxLayout()
        icon = QLabel()
        icon.setPixmap(theme.category_pixmap(nt.category, 28))
        head.addWidget(icon)
        head.addWidget(_heading(f"{nt.title}  <span style='color:#9aa3ad;font-weight:normal'>{nt.type_id}</span>"), 1)
        v.addLayout(head)
        if nt.description:
            v.addWidget(_dim(nt.description))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        title = QLineEdit()
        title.setObjectName("field_title")

        def title_done() -> None:
            node = self.editor.model.nodes.get(node_id)
            if node is not None and title.text() != node.title:
                self._push(C.SetTitle(node_id, title.text()))

        title.editingFinished.connect(title_done)
        form.addRow("Title", title)
        ident = QLineEdit()
        ident.setObjectName("field_id")
        ident.setToolTip("The node's id in the file and in run results (a lowercase slug).")
        ident.editingFinished.connect(lambda: self._rename(ident))
        form.addRow("Id", ident)
        self._values["__title"] = lambda: self.editor.model.nodes[self._target[1]].title
        self._values["__id"] = lambda: self._target[1]
        self._fields["__title"] = Field(title, lambda val: _set_line(title, val), QLabel())
        self._fields["__id"] = Field(ident, lambda val: _set_line(ident, val), QLabel())
        v.addLayout(form)
        basic = [p for p in nt.params if not p.advanced]
        advanced = [p for p in nt.params if p.advanced]
        for group, label in ((basic, None), (advanced, "Advanced")):
            if not group:
                continue
            if label:
                self._advanced_heading = _heading(label, small=True)
                self._advanced_names = [p.name for p in group]
                v.addWidget(self._advanced_heading)
            for p in group:
                self._add_param(v, p)

    def _rename(self, edit: QLineEdit) -> None:
        new = edit.text().strip()
        old = self._target[1]
        if new and new != old:
            self._updating = True
            try:
                ok = self.editor.push(C.RenameNode(old, new))
            finally:
                self._updating = False
            if ok:
                self._target = ("node", new)
                self.editor.scene.select_nodes([new])
            edit.setText(self._target[1])

    def _add_param(self, v: QVBoxLayout, p: Param) -> None:
        # one box per parameter, so a parameter that does not apply in the node's mode hides whole
        box = QWidget()
        box.setObjectName(f"paramBox_{p.name}")
        outer, v = v, QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        outer.addWidget(box)
        self._boxes[p.name] = box
        label = QLabel(p.display_label)
        label.setObjectName("paramLabel")
        if p.description:
            label.setToolTip(p.description)
        v.addWidget(label)
        widget, setter = self._editor_for(p)
        widget.setObjectName(f"param_{p.name}")
        if p.description:
            widget.setToolTip(p.description)
        v.addWidget(widget)
        err = QLabel()
        err.setObjectName("fieldError")
        err.setWordWrap(True)
        err.hide()
        v.addWidget(err)
        self._fields[p.name] = Field(widget, setter, err)
        self._values[p.name] = lambda name=p.name: self.editor.model.params(self._target[1])[name]

    def _set(self, name: str, value: Any, mergeable: bool = True) -> None:
        if self._target is None or self._target[0] != "node":
            return
        node = self.editor.model.nodes.get(self._target[1])
        if node is None or node.params.get(name, object()) == value:
            return
        self._updating = True
        try:
            self.editor.set_param(self._target[1], name, value, mergeable=mergeable)
        finally:
            self._updating = False
        self._sync_values(skip_focused=True)

    def _editor_for(self, p: Param) -> tuple[QWidget, Callable[[Any], None]]:
        kind = p.kind
        if kind in ("prompt", "text", "code"):
            ed = PromptEditor(code=kind == "code")
            if kind == "text":
                ed.highlighter.setDocument(None)
            ed.textChanged.connect(lambda: not self._updating and self._set(p.name, ed.toPlainText()))
            return ed, lambda val: _set_plain(ed, "" if val is None else str(val))
        if kind in ("number", "integer"):
            box = QSpinBox() if kind == "integer" else QDoubleSpinBox()
            lo = p.minimum if p.minimum is not None else -1e9
            hi = p.maximum if p.maximum is not None else 1e9
            if kind == "integer":
                box.setRange(int(max(lo, -2**31 + 1)), int(min(hi, 2**31 - 1)))
            else:
                box.setDecimals(3)
                box.setRange(lo, hi)
                box.setSingleStep(0.1 if hi - lo <= 10 else 1.0)
            box.valueChanged.connect(lambda val: not self._updating and self._set(p.name, int(val) if kind == "integer" else float(val)))
            return box, lambda val: _set_spin(box, val)
        if kind == "boolean":
            cb = QCheckBox(p.display_label)
            cb.toggled.connect(lambda on: not self._updating and self._set(p.name, bool(on), mergeable=False))
            return cb, lambda val: _quiet(cb, lambda: cb.setChecked(bool(val)))
        if kind == "enum":
            combo = QComboBox()
            combo.addItems(list(p.choices))
            combo.currentTextChanged.connect(lambda t: not self._updating and self._set(p.name, t, mergeable=False))
            return combo, lambda val: _quiet(combo, lambda: combo.setCurrentText(str(val)))
        if kind == "model":
            edit = QLineEdit()
            cat = catalog()
            cat.ensure_loading()
            comp = QCompleter(cat.model, edit)
            comp.setCaseSensitivity(Qt.CaseInsensitive)
            comp.setFilterMode(Qt.MatchContains)
            comp.setMaxVisibleItems(14)
            edit.setCompleter(comp)
            edit.setPlaceholderText("e.g. gpt-4o-mini, anthropic/claude-3-5-haiku-latest")
            edit.textEdited.connect(lambda t: self._set(p.name, t))
            comp.activated.connect(lambda t: self._set(p.name, t))
            return edit, lambda val: _set_line(edit, "" if val is None else str(val))
        if kind == "cases":
            from .cases_editor import CasesEditor

            cases = CasesEditor()
            cases.changed.connect(lambda value: not self._updating and self._set(p.name, value, mergeable=False))

            def show_cases(val: Any) -> None:
                model = self.editor.model
                nid = self._target[1] if self._target else None
                cases.set_mode(str(model.params(nid)["mode"]) if nid in model.nodes else "expression")
                cases.set_value(val)

            return cases, show_cases
        if kind in ("json", "list"):
            ed = PromptEditor(code=True)
            ed.highlighter.setDocument(None)
            ed.setMinimumHeight(70)
            ed.setMaximumHeight(160)

            def changed() -> None:
                if self._updating:
                    return
                text = ed.toPlainText()
                try:
                    if kind == "list":
                        value = [line for line in text.splitlines() if line.strip()]
                    else:
                        value = json.loads(text) if text.strip() else None
                except ValueError as exc:
                    self._fields[p.name].error.setText(f"Not valid JSON yet: {exc}")
                    self._fields[p.name].error.show()
                    return
                self._set(p.name, value)

            ed.textChanged.connect(changed)

            def show(val: Any) -> None:
                if kind == "list":
                    text = "\n".join(str(x) for x in val) if isinstance(val, list) else ""
                else:
                    text = "" if val is None else json.dumps(val, indent=2, ensure_ascii=False)
                try:
                    same = (json.loads(ed.toPlainText()) if kind != "list" else None) == val and kind != "list"
                except ValueError:
                    same = False
                if not same:
                    _set_plain(ed, text)

            return ed, show
        # string, expression, path
        edit = QLineEdit()
        edit.textEdited.connect(lambda t: self._set(p.name, t))
        if kind == "path":
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            h.addWidget(edit, 1)
            browse = QPushButton("…")
            browse.setFixedWidth(28)

            def pick() -> None:
                path, _ = QFileDialog.getOpenFileName(self, "Choose a file", "", "Flows (*.flow.json);;All files (*)")
                if path:
                    self._set(p.name, path, mergeable=False)

            browse.clicked.connect(pick)
            h.addWidget(browse)
            return row, lambda val: _set_line(edit, "" if val is None else str(val))
        return edit, lambda val: _set_line(edit, "" if val is None else str(val))

    def _build_box(self, v: QVBoxLayout, table: str, item_id: str) -> None:
        v.addWidget(_heading("Frame" if table == "frames" else "Sticky note"))
        field_name = "title" if table == "frames" else "text"
        if table == "frames":
            edit: QWidget = QLineEdit()
            edit.textEdited.connect(lambda t: self._push(_box_update(table, item_id, title=t)))
            setter = lambda val: _set_line(edit, val)  # noqa: E731
        else:
            edit = PromptEditor()
            edit.highlighter.setDocument(None)
            edit.textChanged.connect(lambda: not self._updating and self._push(_box_update(table, item_id, text=edit.toPlainText())))
            setter = lambda val: _set_plain(edit, val)  # noqa: E731
        edit.setObjectName(f"box_{field_name}")
        v.addWidget(QLabel(field_name.capitalize()))
        v.addWidget(edit)
        self._fields["__box"] = Field(edit, setter, QLabel())
        self._values["__box"] = lambda: getattr(getattr(self.editor.model, table)[item_id], field_name)
        combo = QComboBox()
        for c in BOX_COLORS:
            combo.addItem(_swatch(c), c)
        combo.currentTextChanged.connect(lambda c: not self._updating and self._push(C.UpdateItem(table, item_id, color=c)))
        v.addWidget(QLabel("Colour"))
        v.addWidget(combo)
        self._fields["__color"] = Field(combo, lambda val: _quiet(combo, lambda: _combo_value(combo, val)), QLabel())
        self._values["__color"] = lambda: getattr(self.editor.model, table)[item_id].color

    def _build_flow(self, v: QVBoxLayout) -> None:
        v.addWidget(_heading("Flow"))
        name = QLineEdit()
        name.setObjectName("flow_name")
        name.editingFinished.connect(lambda: name.text() != self.editor.model.name and self._push(C.SetFlowInfo(name=name.text())))
        desc = PromptEditor()
        desc.highlighter.setDocument(None)
        desc.setObjectName("flow_description")
        desc.textChanged.connect(lambda: not self._updating and desc.toPlainText() != self.editor.model.description
                                 and self._push(C.SetFlowInfo(description=desc.toPlainText())))
        v.addWidget(QLabel("Name"))
        v.addWidget(name)
        v.addWidget(QLabel("Description"))
        v.addWidget(desc)
        v.addWidget(_dim("Select a node to edit its settings. Drag nodes from the palette, or press Tab on the canvas."))
        self._fields["__name"] = Field(name, lambda val: _set_line(name, val), QLabel())
        self._fields["__desc"] = Field(desc, lambda val: _set_plain(desc, val), QLabel())
        self._values["__name"] = lambda: self.editor.model.name
        self._values["__desc"] = lambda: self.editor.model.description

    # -- values ------------------------------------------------------------------------

    def _sync_values(self, skip_focused: bool = False) -> None:
        if self._target is None:
            return
        self._updating = True
        try:
            node = None
            nt = None
            if self._target[0] == "node":
                node = self.editor.model.nodes.get(self._target[1])
                if node is None:
                    return
                nt = self.editor.model.node_type(node.id)
            for name, field in self._fields.items():
                getter = self._values.get(name)
                if getter is None:
                    continue
                focused = field.widget.hasFocus() or field.widget.isAncestorOf(self.focusWidget() or self)
                if not (skip_focused and focused):
                    field.set_value(getter())
                if nt is not None and not name.startswith("__"):
                    why = dict(self.editor.model.resolution(node.id).problems).get(name)
                    field.error.setText(why or "")
                    field.error.setVisible(bool(why))
            if node is not None:
                gone = param_rules.hidden(node.type, self.editor.model.params(node.id))
                for name, box in self._boxes.items():
                    box.setVisible(name not in gone)
                heading = getattr(self, "_advanced_heading", None)
                if heading is not None and shiboken_valid(heading):
                    heading.setVisible(any(n not in gone for n in self._advanced_names))
        finally:
            self._updating = False


def _box_update(table: str, item_id: str, **fields) -> MergingItemUpdate:
    return MergingItemUpdate(table, item_id, **fields)


def _heading(text: str, small: bool = False) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setObjectName("subheading" if small else "heading")
    label.setTextFormat(Qt.RichText)
    return label


def _dim(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("dim")
    label.setWordWrap(True)
    return label


def _quiet(widget: QWidget, fn: Callable[[], None]) -> None:
    old = widget.blockSignals(True)
    try:
        fn()
    finally:
        widget.blockSignals(old)


def _set_line(edit: QLineEdit, text: str) -> None:
    if edit.text() != text:
        _quiet(edit, lambda: edit.setText(text))


def _set_plain(edit, text: str) -> None:
    if edit.toPlainText() != text:
        cursor = edit.textCursor().position()
        _quiet(edit, lambda: edit.setPlainText(text))
        c = edit.textCursor()
        c.setPosition(min(cursor, len(text)))
        edit.setTextCursor(c)


def _set_spin(box, val: Any) -> None:
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        return
    if box.value() != val:
        _quiet(box, lambda: box.setValue(val))


def _combo_value(combo: QComboBox, val: str) -> None:
    if combo.findText(val) < 0:
        combo.addItem(_swatch(val), val)
    combo.setCurrentText(val)


def _swatch(color: str):
    from PySide6.QtGui import QColor, QIcon, QPixmap

    pm = QPixmap(14, 14)
    pm.fill(QColor(color))
    return QIcon(pm)
