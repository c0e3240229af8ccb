"""Run → Batch…: run the open flow over a dataset and evaluate it, in a window of its own.

The work is ``studio.batch`` (the same code as ``orchestra batch``, local engine); this
package is only its view: pick a dataset, check the column mapping and the first rows,
estimate the cost with a mock run of a few rows, run, and read the results table.
"""

from __future__ import annotations


def open_batch_window(main_window):
    """Show the Batch window for the main window's open flow (one window per main window)."""
    from .window import BatchWindow

    existing = getattr(main_window, "_batch_window", None)
    if existing is not None and existing.isVisible():
        existing.raise_()
        existing.activateWindow()
        return existing
    win = BatchWindow(main_window)
    main_window._batch_window = win
    win.show()
    return win
