"""Canvas benchmark (not a test): open, render and edit a 2,000-node flow; start-up.

Run:  QT_QPA_PLATFORM=offscreen /work/venv/bin/python tests/bench/bench_canvas.py

Figures (milliseconds):
  open_2000_ms        file on disk -> complete scene (load_flow, 2,000 node items,
                      wires, fit to view), as File > Open does it
  render_fit_2000_ms  one full repaint of the canvas at fit-to-view (median of 7)
  render_titles_20pct_ms  one repaint at 20% zoom, where every node in view is painted
                      by its item with its title at ~10 px on screen (median of 5)
  move_node_ms        move one node while 2,000 are present: a MoveNodes command
                      through the QUndoStack, the model event, the item and its wires
                      (median of 200)
  startup_ms          process launch -> the first start's example flow drawn on the
                      canvas and the window handling input, for `orchestra` with no
                      flow and a fresh profile (median of 3): the child process runs the
                      real `main([])`; this file's small driver (below, not product code)
                      waits for a paint of the canvas with the example's nodes in it, then
                      posts a key press and stops the clock when the view receives it.
                      litellm must not be imported by then
The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

N_NODES = 2000
CHAIN = 5  # input -> text -> text -> text -> output


def make_flow(path: Path) -> None:
    from studio.core.document.commands import AddNode, Connect, UndoStack
    from studio.core.document.flowfile import save_flow
    from studio.core.document.model import FlowModel

    m = FlowModel(name="bench 2000")
    s = UndoStack(m)
    for c in range(N_NODES // CHAIN):
        row, col = divmod(c, 20)
        x0, y0 = col * 5 * 260.0, row * 160.0
        ids = []
        for k, (t, params) in enumerate([("input", {"name": f"in_{c}"}), ("template", {"template": "Step one: {{ text }}"}),
                                         ("template", {"template": "Step two: {{ text }}"}), ("template", {"template": "Three {{ text }}"}),
                                         ("output", {"name": f"out_{c}"})]):
            cmd = AddNode(t, x0 + k * 250, y0, params, node_id=f"n{c}_{k}")
            s.push(cmd)
            ids.append(cmd.node_id)
        s.push(Connect(ids[0], "value", ids[1], "text"))
        s.push(Connect(ids[1], "text", ids[2], "text"))
        s.push(Connect(ids[2], "text", ids[3], "text"))
        s.push(Connect(ids[3], "text", ids[4], "value"))
    save_flow(m, path)


def bench_in_process(path: Path) -> dict:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from studio.core.document.commands import MoveNodes
    from studio.ui import theme
    from studio.ui.main_window import MainWindow
    from studio.ui.model_catalog import ModelCatalog

    ModelCatalog.enabled = False
    app.setStyle("Fusion")
    app.setStyleSheet(theme.load_stylesheet())
    tmp = tempfile.mkdtemp()
    os.environ["ORCHESTRA_RECOVERY_DIR"] = tmp
    w = MainWindow(QSettings(os.path.join(tmp, "s.ini"), QSettings.IniFormat), autosave_ms=0)
    w.resize(1400, 860)
    w.show()
    app.processEvents()

    t = time.perf_counter()
    assert w.open_file(path)
    app.processEvents()
    open_ms = (time.perf_counter() - t) * 1000
    assert len(w.scene.nodes) == N_NODES, len(w.scene.nodes)
    print(f"open {N_NODES} nodes, {len(w.scene.wires)} wires: {open_ms:.1f} ms")

    w.view.fit(selection_only=False)
    vp = w.view.viewport()
    renders = []
    for _ in range(8):
        t = time.perf_counter()
        vp.repaint()
        renders.append((time.perf_counter() - t) * 1000)
    first, rest = renders[0], renders[1:]
    render_ms = statistics.median(rest)
    print(f"render at fit (zoom {w.view.zoom():.3f}): first {first:.1f} ms, median {render_ms:.1f} ms")
    # the smallest zoom where items paint themselves with their titles (label mode, ~10 px text)
    w.view.set_zoom(0.2 / w.view.zoom())
    assert not w.scene.overview
    w.view.center_on_node("n200_2")
    labelled = []
    for _ in range(6):
        t = time.perf_counter()
        vp.repaint()
        labelled.append((time.perf_counter() - t) * 1000)
    shown = w.view.mapToScene(vp.rect()).boundingRect()
    titled = sum(1 for it in w.scene.nodes.values() if shown.intersects(it.sceneBoundingRect())
                 and it.title_screen_px(w.view.zoom()) >= 10)
    label_ms = statistics.median(labelled[1:])
    print(f"render at 20% (titles drawn, {titled} nodes in view): median {label_ms:.1f} ms")
    w.view.set_zoom(1.0 / w.view.zoom())
    detail = []
    for _ in range(5):
        t = time.perf_counter()
        vp.repaint()
        detail.append((time.perf_counter() - t) * 1000)
    print(f"render at 100% (detail level): median {statistics.median(detail):.1f} ms")

    doc = w.document
    node = doc.model.nodes["n200_2"]
    moves = []
    for i in range(200):
        t = time.perf_counter()
        doc.push(MoveNodes({node.id: (node.x + 3, node.y + (1 if i % 2 else -1))}))
        moves.append((time.perf_counter() - t) * 1000)
    move_ms = statistics.median(moves)
    print(f"move one node (command + scene): median {move_ms:.3f} ms, p95 {sorted(moves)[189]:.3f} ms")
    w.view.center_on_node(node.id)
    painted = []
    for i in range(30):
        t = time.perf_counter()
        doc.push(MoveNodes({node.id: (node.x + 3, node.y)}))
        vp.repaint()
        painted.append((time.perf_counter() - t) * 1000)
    print(f"move one node + repaint at 100%: median {statistics.median(painted):.1f} ms")

    t = time.perf_counter()
    problems = w.validation.run_now()
    print(f"validation of {N_NODES} nodes: {(time.perf_counter() - t) * 1000:.0f} ms ({len(problems)} problems)")
    t = time.perf_counter()
    w.editor.auto_layout()
    print(f"auto-layout of {N_NODES} nodes: {(time.perf_counter() - t) * 1000:.0f} ms")
    doc.stack.setClean()
    w.close()
    return {"open_2000_ms": round(open_ms, 1), "render_fit_2000_ms": round(render_ms, 1),
            "render_titles_20pct_ms": round(label_ms, 1), "move_node_ms": round(move_ms, 3)}


# Runs in the child process: the real `orchestra` start-up, watched from outside. It
# wraps app.open_initial (to know the window) and filters the canvas's events: the first
# paint after the example's nodes exist, then a posted key press arriving at the view.
STARTUP_DRIVER = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
import studio.ui.app as app_mod

orig = app_mod.open_initial

class Watch(QObject):
    def __init__(self, window):
        super().__init__()
        self.window, self.drawn = window, False

    def eventFilter(self, obj, event):
        w = self.window
        if not self.drawn and obj is w.view.viewport() and event.type() == QEvent.Paint and w.scene.nodes:
            self.drawn = True
            QApplication.postEvent(w.view, QKeyEvent(QEvent.KeyPress, Qt.Key_Shift, Qt.NoModifier))
        elif self.drawn and obj is w.view and event.type() == QEvent.KeyPress:
            readable = lambda it: getattr(it, "title_screen_px", lambda z: 0)(w.view.zoom()) >= 10  # noqa: E731
            titles = sum(1 for it in w.scene.nodes.values() if readable(it))
            print(f"STARTUP {time.time():.6f} nodes={len(w.scene.nodes)} titles={titles} "
                  f"zoom={w.view.zoom():.3f} litellm={'litellm' in sys.modules}", flush=True)
            os._exit(0)
        return False

def wrapped(window, flows, settings):
    watch = Watch(window)
    window._bench_watch = watch
    window.view.viewport().installEventFilter(watch)
    window.view.installEventFilter(watch)
    orig(window, flows, settings)

app_mod.open_initial = wrapped
from studio.cli import main
raise SystemExit(main([]))
"""


def bench_startup(runs: int = 3) -> tuple[float, bool]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("ORCHESTRA_STARTUP_PROBE", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    times, litellm_seen = [], False
    for _ in range(runs):
        home = tempfile.mkdtemp()
        env["XDG_CONFIG_HOME"] = home  # a fresh profile: no restored layout, no recovery, the example opens
        env["ORCHESTRA_RECOVERY_DIR"] = os.path.join(home, "recovery")
        env["ORCHESTRA_DATA_DIR"] = os.path.join(home, "data")
        launch = time.time()
        out = subprocess.run([sys.executable, "-c", STARTUP_DRIVER], env=env, capture_output=True, text=True,
                             timeout=60, cwd=home)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("STARTUP ")), None)
        if line is None:
            raise RuntimeError(f"no STARTUP line: {out.stdout}\n{out.stderr}")
        parts = line.split()
        times.append((float(parts[1]) - launch) * 1000)
        litellm_seen |= parts[-1] == "litellm=True"
        print("  " + " ".join(parts[2:]))
    print(f"start-up to the example drawn and accepting input: {', '.join(f'{t:.0f}' for t in times)} ms; "
          f"litellm imported by then: {litellm_seen}")
    return statistics.median(times), litellm_seen


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench2000.flow.json"
        t = time.perf_counter()
        make_flow(path)
        print(f"generated {path.name} ({path.stat().st_size // 1024} KiB) in {(time.perf_counter() - t):.1f} s")
        figures = bench_in_process(path)
    startup, litellm_seen = bench_startup()
    figures["startup_ms"] = round(startup, 1)
    figures["litellm_before_show"] = litellm_seen
    print(json.dumps({"bench": "canvas", **figures}))


if __name__ == "__main__":
    main()
