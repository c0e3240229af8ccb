"""The studio's PySide6 user interface: the only package that may import Qt.

Everything here is a view of ``studio.core``: the canvas observes a ``FlowModel`` and
every edit goes through a core command wrapped for Qt's undo stack, so the CLI and
the studio share one set of rules and one file format.
"""
