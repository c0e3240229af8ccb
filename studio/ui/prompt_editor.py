"""A multi-line prompt editor that highlights ``{{ variables }}`` and ``{% tags %}``.

The variables are what become the node's input ports, so seeing them stand out while
typing tells the user which ports they are creating.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QPlainTextEdit

_VAR = re.compile(r"\{\{.*?\}\}")
_TAG = re.compile(r"\{%.*?%\}")
_COMMENT = re.compile(r"\{#.*?#\}")


class TemplateHighlighter(QSyntaxHighlighter):
    def __init__(self, document):
        super().__init__(document)
        self.var = QTextCharFormat()
        self.var.setForeground(QColor("#ffb86c"))
        self.var.setFontWeight(QFont.Bold)
        self.tag = QTextCharFormat()
        self.tag.setForeground(QColor("#bd93f9"))
        self.comment = QTextCharFormat()
        self.comment.setForeground(QColor("#6a737d"))

    def highlightBlock(self, text: str) -> None:
        for rx, fmt in ((_VAR, self.var), (_TAG, self.tag), (_COMMENT, self.comment)):
            for m in rx.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), fmt)


class PromptEditor(QPlainTextEdit):
    def __init__(self, parent=None, code: bool = False):
        super().__init__(parent)
        self.setObjectName("promptEditor")
        self.setTabChangesFocus(True)
        if code:
            f = QFont("DejaVu Sans Mono")
            f.setStyleHint(QFont.Monospace)
            self.setFont(f)
        self.highlighter = TemplateHighlighter(self.document())
        self.setMinimumHeight(90)
