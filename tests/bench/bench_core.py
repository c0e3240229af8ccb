"""Benchmark of the headless core: load, save and validate flows of 1,000 and 10,000 nodes.

Run it as a script (pytest does not collect tests/bench):

    python tests/bench/bench_core.py [--reps N]

Shapes, each built at 1,000 and 10,000 nodes:

* chain   -- Input -> Text -> Text -> ... -> Output, every template distinct
* wide    -- one Input feeding thousands of Text nodes, each with its own Output
* nested  -- repeated blocks of a fan-out holding a fan-out and a loop that holds a
             fan-out (regions and loop bodies nested three deep), chained together

Every figure is the MEDIAN of the repetitions for that shape (the best run in
brackets); the JSON summary on the last line reports, for the 10k flows, the WORST
(slowest) shape's median, so the headline numbers are an upper bound over the shapes.
The machine's load average is printed too: on a shared 2-core box other processes
can double wall times.

The flows are built as file documents (not through undoable commands) so building
them costs nothing measured. "load" is file bytes -> FlowModel (flowfile.loads),
"save" is FlowModel -> file on disk (flowfile.save_flow: serialise, write a temp file,
fsync, rename), "validate" is validation.validate (networkx analysis included).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from studio.core.document import flowfile  # noqa: E402
from studio.core.document.validation import validate  # noqa: E402


class Doc:
    """Builds a flow document node by node (ids are readable, wires by name)."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, str]] = []

    def node(self, nid: str, type_id: str, **params: Any) -> str:
        x = float(len(self.nodes) % 100 * 220)
        y = float(len(self.nodes) // 100 * 140)
        self.nodes.append({"id": nid, "type": type_id, "title": nid, "params": params, "layout": {"x": x, "y": y}})
        return nid

    def wire(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        self.edges.append({"from": f"{src}.{src_port}", "to": f"{dst}.{dst_port}"})

    def document(self) -> dict[str, Any]:
        return {"format": flowfile.FORMAT, "version": flowfile.VERSION, "name": self.name,
                "nodes": self.nodes, "edges": self.edges}


def chain(n: int) -> dict[str, Any]:
    d = Doc(f"chain {n}")
    prev, port = d.node("question", "input", name="question", type="text"), "value"
    for i in range(n - 2):
        t = d.node(f"step_{i}", "template", template=f"Step {i}: refine this.\n\n{{{{ text }}}}")
        d.wire(prev, port, t, "text")
        prev, port = t, "text"
    out = d.node("answer", "output", name="answer")
    d.wire(prev, port, out, "value")
    return d.document()


def wide(n: int) -> dict[str, Any]:
    d = Doc(f"wide {n}")
    src = d.node("question", "input", name="question", type="text")
    for i in range((n - 1) // 2):
        t = d.node(f"variant_{i}", "template", template=f"Variant {i} of {{{{ text }}}}")
        o = d.node(f"out_{i}", "output", name=f"out_{i}")
        d.wire(src, "value", t, "text")
        d.wire(t, "text", o, "value")
    while len(d.nodes) < n:
        d.node(f"note_{len(d.nodes)}", "template", template="{{ text }}")
        d.wire(src, "value", d.nodes[-1]["id"], "text")
    return d.document()


def nested(n: int) -> dict[str, Any]:
    """Blocks of: fanout f1 { fanout f2 { t3 } -> c2 -> loop { fanout f3 { t4 } c3 } } c1."""
    d = Doc(f"nested {n}")
    prev, port = d.node("items", "input", name="items", type="list"), "value"
    i = 0
    while len(d.nodes) + 9 + 1 <= n:
        f1 = d.node(f"f1_{i}", "fanout")
        f2 = d.node(f"f2_{i}", "fanout")
        t3 = d.node(f"t3_{i}", "template", template=f"Block {i} inner: {{{{ item }}}}")
        c2 = d.node(f"c2_{i}", "collect")
        lp = d.node(f"loop_{i}", "loop", max_iterations=3, condition="iteration >= 2")
        f3 = d.node(f"f3_{i}", "fanout")
        t4 = d.node(f"t4_{i}", "template", template=f"Block {i} body: {{{{ item }}}}")
        c3 = d.node(f"c3_{i}", "collect")
        c1 = d.node(f"c1_{i}", "collect")
        d.wire(prev, port, f1, "items")
        d.wire(f1, "item", f2, "items")
        d.wire(f2, "item", t3, "item")
        d.wire(t3, "text", c2, "item")
        d.wire(c2, "results", lp, "initial")
        d.wire(lp, "current", f3, "items")
        d.wire(f3, "item", t4, "item")
        d.wire(t4, "text", c3, "item")
        d.wire(c3, "results", lp, "feedback")
        d.wire(lp, "done", c1, "item")
        prev, port = c1, "results"
        i += 1
    while len(d.nodes) < n - 1:
        t = d.node(f"tail_{len(d.nodes)}", "template", template="{{ text }}")
        d.wire(prev, port, t, "text")
        prev, port = t, "text"
    out = d.node("result", "output", name="result")
    d.wire(prev, port, out, "value")
    return d.document()


SHAPES: dict[str, Callable[[int], dict[str, Any]]] = {"chain": chain, "wide": wide, "nested": nested}


def timed(fn: Callable[[], Any], reps: int) -> tuple[float, float, Any]:
    """(median, best) wall time in ms over ``reps`` runs, and the last result.

    Garbage is collected before each run (not during: the collector stays on, as in
    the studio), so one run does not pay for the previous run's garbage.
    """
    times, result = [], None
    for _ in range(reps):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), result


# the targets at 10,000 nodes (the run exits 1 when one is missed)
TARGETS_MS = {"validate_10k_ms": 200.0, "load_10k_ms": 500.0, "save_10k_ms": 500.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5, help="repetitions per measurement (median reported)")
    args = ap.parse_args(argv)

    rows: list[tuple[str, int, int, int, tuple[float, float], tuple[float, float], tuple[float, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (1_000, 10_000):
            for shape, build in SHAPES.items():
                raw = flowfile.dumps(flowfile.loads(flowfile.dumps(build(size)))).encode()  # as the saver writes it
                path = Path(tmp) / f"{shape}_{size}.flow.json"
                path.write_bytes(raw)
                model = flowfile.loads(raw)
                validate(model)  # warm caches shared by every run (registry, imports)
                load_med, load_min, model = timed(lambda: flowfile.loads(path.read_bytes()), args.reps)
                save_med, save_min, _ = timed(lambda: flowfile.save_flow(model, path), args.reps)
                val_med, val_min, problems = timed(lambda: validate(model), args.reps)
                errors = [p for p in problems if p.is_error]
                if errors:
                    print(f"{shape} {size}: unexpected errors, first: {errors[0]}", file=sys.stderr)
                    return 1
                if path.read_bytes() != raw:
                    print(f"{shape} {size}: save changed the file", file=sys.stderr)
                    return 1
                rows.append((shape, size, model.edge_count(), len(raw), (load_med, load_min), (save_med, save_min),
                             (val_med, val_min)))

    print(f"core benchmark: wall time in ms, median (best) of {args.reps} runs, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"{'shape':<8} {'nodes':>6} {'edges':>6} {'file KiB':>9} {'load':>15} {'save':>15} {'validate':>15}")
    for shape, size, edges, nbytes, *figures in rows:
        cells = " ".join(f"{med:>7.1f} ({best:>5.1f})" for med, best in figures)
        print(f"{shape:<8} {size:>6} {edges:>6} {nbytes / 1024:>9.0f} {cells}")
    big = [r for r in rows if r[1] == 10_000]
    summary = {
        "bench": "core",
        "statistic": "10k nodes: the slowest shape's median",
        "validate_10k_ms": round(max(r[6][0] for r in big), 1),
        "load_10k_ms": round(max(r[4][0] for r in big), 1),
        "save_10k_ms": round(max(r[5][0] for r in big), 1),
    }
    summary["targets"] = {key: {"target": f"< {bound:g}", "ok": summary[key] < bound} for key, bound in TARGETS_MS.items()}
    summary["pass"] = all(v["ok"] for v in summary["targets"].values())
    for key, verdict in summary["targets"].items():
        print(f"target {key} {verdict['target']} ms: {summary[key]} -> {'ok' if verdict['ok'] else 'MISSED'}")
    print("(each the slowest shape's median at 10,000 nodes)")
    print(json.dumps(summary))
    return 0 if summary["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
