"""Live-run benchmark (not a test): a 500-item fan-out of LLM nodes with the window attached.

Run:  QT_QPA_PLATFORM=offscreen python tests/bench/bench_live.py   (BENCH_ROUNDS=N, default 3)

The flow: a list of 500 items -> FanOut (concurrency 50) -> LLM (streaming, real litellm
over HTTP) -> Collect -> Output, against the loopback OpenAI-compatible server
(tests/support/mock_openai.py) in its own process with 100 ms latency per request.

Figures:
  max_ui_stall_ms            the largest gap between two ticks of a 10 ms QTimer on the
                             GUI thread while the run goes on, the whole window attached
                             (canvas, inspector on the fan-out's LLM node with its
                             streamed text, status bar, run panel); the raw gap, so an
                             idle loop scores ~10
  p99_ui_stall_ms            the 99th percentile of those gaps
  ui_click_to_finished_s     from the Run click (the toolbar's Run action triggered, as a
                             click or F5 does) until the window has rendered the
                             finished state: the run panel says "succeeded", the fan-out
                             badge says "500 of 500", and a frame of the whole window is
                             drawn (QWidget.grab); measured from outside the product, no
                             probe in studio/
  cli_process_wall_s         `orchestra run FLOW --api-base URL --json` of the same saved
                             flow file as a subprocess, from process start to exit
  ui_wall_over_headless      ui_click_to_finished_s / cli_process_wall_s (the promise: the
                             studio costs no more than the command line)
  ui_wall_over_inprocess     ui_click_to_finished_s over the same run in this process
                             without Qt (asyncio.run): stricter, the window's whole cost
Every wall figure is the median of ROUNDS rounds; each round runs the three in turn,
the order rotated every round. The statistic is named in the JSON.
Targets: max stall under 50 ms; ui_wall_over_headless within 1.2. Exit 1 on a miss.
The last line is one JSON object.
"""

from __future__ import annotations

import asyncio
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
sys.path.insert(0, str(ROOT / "tests"))

N_ITEMS = 500
CONCURRENCY = 50
LATENCY = 0.1
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
KEY = "sk" "-bench-dummy-0123456789abcdef"


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "mock_openai.py"), "--latency", str(LATENCY)],
                            stdout=subprocess.PIPE, text=True, cwd=str(ROOT / "tests"),
                            env={**os.environ, "PYTHONPATH": str(ROOT / "tests")})
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"the mock server did not start: {url!r}")
    return proc, url


def build(push) -> None:
    from studio.core.document import commands as C

    steps = [
        C.SetFlowInfo(name="Bench live"),
        C.AddNode("input", 0, 0, {"name": "items", "type": "list", "default": [f"item {i}" for i in range(N_ITEMS)]},
                  node_id="items"),
        C.AddNode("fanout", 260, 0, {"concurrency": CONCURRENCY, "max_items": 1000}, node_id="each"),
        C.AddNode("llm", 520, 0, {"model": "openai/bench", "prompt": "Describe {{ item }} in a few words please"},
                  node_id="describe"),
        C.AddNode("collect", 780, 0, node_id="gather"),
        C.AddNode("output", 1040, 0, {"name": "all"}, node_id="out"),
        C.Connect("items", "value", "each", "items"),
        C.Connect("each", "item", "describe", "item"),
        C.Connect("describe", "text", "gather", "item"),
        C.Connect("gather", "results", "out", "value"),
    ]
    for s in steps:
        err = push(s)
        assert err is None, (s, err)


def save_flow_file(folder: Path) -> Path:
    """The benchmark's flow as a file: the window opens it, the CLI runs it."""
    from studio.core.document.commands import UndoStack
    from studio.core.document.flowfile import save_flow
    from studio.core.document.model import FlowModel

    model = FlowModel()
    stack = UndoStack(model)
    build(lambda c: (stack.push(c), None)[1])
    path = folder / "bench_live.flow.json"
    save_flow(model, path)
    return path


def cli_process(path: Path, url: str) -> float:
    """`orchestra run` of the flow file in a new process: wall from process start to exit."""
    cmd = [sys.executable, "-m", "studio.cli", "run", str(path), "--api-base", url, "--json",
           "--concurrency", str(CONCURRENCY)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT), env=os.environ.copy())
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert len(doc["outputs"]["all"]) == N_ITEMS, list(doc)
    return wall


def headless(path: Path, url: str) -> float:
    from studio.core.document.flowfile import load_flow
    from studio.core.running.executor import RunOptions, run_flow

    model = load_flow(path)
    t0 = time.perf_counter()
    result = asyncio.run(run_flow(model, RunOptions(concurrency=CONCURRENCY, settings={"api_base": url}, trace=True)))
    wall = time.perf_counter() - t0
    assert result.ok, result.error
    assert len(result.outputs["all"]) == N_ITEMS
    return wall


class UiBench:
    def __init__(self, url: str, path: Path):
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from studio.ui import theme
        from studio.ui.main_window import MainWindow

        self.app = QApplication.instance() or QApplication([])
        self.app.setStyle("Fusion")
        self.app.setStyleSheet(theme.load_stylesheet())
        tmp = tempfile.mkdtemp(prefix="bench-live-")
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.IniFormat)
        settings.setValue("run/api_base", url)
        settings.setValue("run/concurrency", CONCURRENCY)
        self.window = w = MainWindow(settings, autosave_ms=0)
        w.resize(1400, 860)
        w.show()
        assert w.open_file(path, ask=False)
        w.view.fit()
        self.spin(0.6)  # the key look-up settles (no key needed with an api_base: Mock stays off)
        w.run_toolbar.mock_action.setChecked(True)
        w.run_toolbar.mock_action.setChecked(False)
        w.scene.select_nodes(["describe"])  # the inspector follows one item's streamed text

    def spin(self, seconds: float) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def finished_on_screen(self) -> bool:
        """What a user sees when the run is over: the panel's verdict and the full badge."""
        w = self.window
        return ("succeeded" in w.run_panel.status.text()
                and w.scene.nodes["each"].run.progress == f"{N_ITEMS} of {N_ITEMS}")

    def run(self) -> tuple[float, float, list[float]]:
        """(click to finished frame s, the executor's own wall s, GUI timer gaps ms)."""
        from PySide6.QtCore import QEventLoop, Qt, QTimer

        w = self.window
        gaps: list[float] = []
        last = [time.perf_counter()]
        shown = [0.0]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append((now - last[0]) * 1000)
            last[0] = now

        def ended(_state) -> None:
            # the controller has applied the final state; the user sees it once a frame
            # of the window is drawn: draw one, then stop the clock
            def frame() -> None:
                assert self.finished_on_screen(), w.run_panel.status.text()
                w.grab()
                shown[0] = time.perf_counter()
                loop.quit()

            QTimer.singleShot(0, frame)

        timer = QTimer()
        timer.setTimerType(Qt.PreciseTimer)
        timer.setInterval(10)
        timer.timeout.connect(tick)
        loop = QEventLoop()
        w.runs.run_ended.connect(ended)
        timer.start()
        last[0] = time.perf_counter()
        t0 = time.perf_counter()
        w.run_toolbar.run_action.trigger()  # what the Run button and F5 do
        assert w.runs.running, w.run_panel.status.text()
        loop.exec()
        timer.stop()
        w.runs.run_ended.disconnect(ended)
        state = w.runs.latest
        assert state.status == "succeeded", state.error
        assert len(state.outputs["all"]) == N_ITEMS
        return shown[0] - t0, state.wall_s or 0.0, gaps[1:]


def main() -> int:
    data = tempfile.mkdtemp(prefix="bench-live-data-")
    os.environ["ORCHESTRA_DATA_DIR"] = data
    os.environ["ORCHESTRA_CONFIG_DIR"] = data
    os.environ["OPENAI_API_KEY"] = KEY
    load_before = os.getloadavg()
    proc, url = start_server()
    path = save_flow_file(Path(data))
    try:
        from studio.llm.runtime import litellm

        litellm()  # the studio has imported it before anyone clicks Run; the CLI pays it
        ui = UiBench(url, path)
        headless(path, url)  # warm up: HTTP clients, price lookups
        walls_cli, walls_h, walls_u, walls_exec, gaps_all = [], [], [], [], []

        def ui_round() -> None:
            click, own, gaps = ui.run()
            walls_u.append(click)
            walls_exec.append(own)
            gaps_all.extend(gaps)
            ui.spin(0.3)

        sides = [lambda: walls_cli.append(cli_process(path, url)), lambda: walls_h.append(headless(path, url)), ui_round]
        for r in range(ROUNDS):
            for k in range(3):
                sides[(r + k) % 3]()
            print(f"round {r + 1}: orchestra run (process) {walls_cli[-1]:.3f} s, in-process {walls_h[-1]:.3f} s, "
                  f"ui click -> finished frame {walls_u[-1]:.3f} s (executor's own {walls_exec[-1]:.3f} s), "
                  f"max gap {max(gaps_all):.1f} ms", flush=True)
        shot = os.environ.get("BENCH_SCREENSHOT")
        if shot:
            ui.window.grab().save(shot)
        ui.window.runs.shutdown()
    finally:
        proc.terminate()
        proc.wait(5)
    med = statistics.median
    max_stall = max(gaps_all)
    ratio = med(walls_u) / med(walls_cli)
    strict = med(walls_u) / med(walls_h)
    load = os.getloadavg()
    targets = {"max_ui_stall_ms": {"target": "< 50", "ok": max_stall < 50},
               "ui_wall_over_headless": {"target": "<= 1.2", "ok": ratio <= 1.2}}
    for key, v in targets.items():
        print(f"target {key} {v['target']}: {'ok' if v['ok'] else 'MISSED'}")
    print(f"load average before {load_before[0]:.2f}, after {load[0]:.2f} (2 cores; other work adds noise)")
    doc = {"bench": "live", "statistic": f"median of {ROUNDS} rounds, the three runs of a round in rotated order",
           "max_ui_stall_ms": round(max_stall, 1),
           "p99_ui_stall_ms": round(statistics.quantiles(gaps_all, n=100)[98], 1),
           "ui_click_to_finished_s": round(med(walls_u), 3), "cli_process_wall_s": round(med(walls_cli), 3),
           "ui_wall_over_headless": round(ratio, 3), "inprocess_wall_s": round(med(walls_h), 3),
           "ui_wall_over_inprocess": round(strict, 3), "ui_executor_own_wall_s": round(med(walls_exec), 3),
           "items": N_ITEMS, "concurrency": CONCURRENCY, "latency_s": LATENCY, "rounds": ROUNDS,
           "targets": targets, "pass": all(v["ok"] for v in targets.values()),
           "load_avg": [round(load_before[0], 2), round(load[0], 2)]}
    print(json.dumps(doc), flush=True)
    return 0 if doc["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
