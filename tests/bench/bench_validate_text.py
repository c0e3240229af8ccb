"""`orchestra validate` on a 100,000-node file: text output against --json (issue 13).

    .venv/bin/python tests/bench/bench_validate_text.py [--nodes 100000]

Writes a flow of N unwired Template nodes (each has one error and one warning, so the
report holds 2N problems), then times each command as a subprocess, output to a file.
Prints the figures, then ONE JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def write_flow(path: Path, n: int) -> None:
    nodes = [{"id": f"t{i}", "type": "template", "params": {"template": "Hello {{ who }}"},
              "layout": {"x": float(i % 100) * 200, "y": float(i // 100) * 120}} for i in range(n)]
    path.write_text(json.dumps({"format": "orchestra-flow", "version": 1, "name": "big", "nodes": nodes, "edges": []}))


def timed(args: list[str], out: Path) -> tuple[float, int]:
    t = time.perf_counter()
    with out.open("w") as fh:
        r = subprocess.run([sys.executable, "-m", "studio.cli", *args], stdout=fh, stderr=subprocess.PIPE, cwd=REPO)
    return time.perf_counter() - t, r.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100_000)
    n = ap.parse_args().nodes
    with tempfile.TemporaryDirectory() as tmp:
        flow = Path(tmp) / "big.flow.json"
        write_flow(flow, n)
        text_s, text_rc = timed(["validate", str(flow)], Path(tmp) / "out.txt")
        json_s, json_rc = timed(["validate", "--json", str(flow)], Path(tmp) / "out.json")
        lines = sum(1 for _ in (Path(tmp) / "out.txt").open())
    print(f"validate {n:,} nodes: text {text_s:.2f} s (exit {text_rc}, {lines:,} lines), --json {json_s:.2f} s (exit {json_rc})")
    print(json.dumps({"bench": "validate_text_vs_json", "nodes": n, "text_s": round(text_s, 2),
                      "json_s": round(json_s, 2), "text_lines": lines}))


if __name__ == "__main__":
    main()
