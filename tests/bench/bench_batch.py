"""Batch benchmark: the local engine over 100,000 rows, and Ray against local over 20,000.

(a) 100,000 rows of a five-node mock flow (input -> template -> LLM in mock mode ->
    template -> output) on the local engine: rows/s, and the process's peak RSS when
    10,000 rows are written and when all 100,000 are (it must not grow with rows);
(b) 20,000 rows of the same flow on the local engine and on a local Ray started for the
    run (2 CPUs here: two worker actors): rows/s of each and Ray's overhead per row.
    Ray's start-up (cluster, actors, litellm import in each worker) is reported apart;
    rows/s counts from the moment the workers are ready.

Rows read from a JSONL file and results written to a JSONL file, as `orchestra batch`
does; per-row traces are off (--traces none): 100,000 trace files would measure the disk.
Mock LLM calls still count tokens with litellm's counter and price them, so the cost
figures are real estimates.

Run: python tests/bench/bench_batch.py [--rows 100000] [--ray-rows 20000]
The last line is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("ORCHESTRA_DATA_DIR", tempfile.mkdtemp(prefix="orchestra-bench-"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from studio.batch.job import Batch, BatchConfig  # noqa: E402
from studio.batch.rowrun import RowSettings  # noqa: E402
from studio.core.document.flowfile import load_flow  # noqa: E402
from studio.core.running.plan import compile_plan  # noqa: E402

FLOW = {
    "format": "orchestra-flow", "version": 1, "name": "bench router",
    "nodes": [
        {"id": "ticket", "type": "input", "params": {"name": "ticket", "type": "text"}},
        {"id": "prompt", "type": "template", "params": {"template": "Classify this ticket: {{ ticket }}"}},
        {"id": "classify", "type": "llm", "params": {"model": "gpt-4o-mini", "prompt": "{{ text }}",
                                                      "mock_responses": ["billing"]}},
        {"id": "label", "type": "template", "params": {"template": "route={{ answer }}"}},
        {"id": "route", "type": "output", "params": {"name": "route"}},
    ],
    "edges": [{"from": "ticket.value", "to": "prompt.ticket"}, {"from": "prompt.text", "to": "classify.text"},
              {"from": "classify.text", "to": "label.answer"}, {"from": "label.text", "to": "route.value"}],
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_data(folder: Path, rows: int) -> Path:
    path = folder / f"tickets-{rows}.jsonl"
    with open(path, "w") as fh:
        for i in range(rows):
            fh.write(json.dumps({"ticket": f"ticket {i}: I was charged twice for invoice {i * 7}",
                                 "expected.route": "route=billing"}) + "\n")
    return path


def make_batch(folder: Path, flow: Path, data: Path, name: str, concurrency: int, on_record=None) -> Batch:
    plan = compile_plan(load_flow(flow))
    config = BatchConfig(data=data, out=folder / f"{name}.results.jsonl", concurrency=concurrency,
                         rows=RowSettings(mock=True, trace_dir=None))
    return Batch(plan, config, flow_path=flow, on_record=on_record)


def run_local(batch: Batch) -> float:
    t0 = time.perf_counter()
    outcome = asyncio.run(batch.run_local())
    assert outcome == "done", outcome
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--ray-rows", type=int, default=20_000)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    flow = folder / "router.flow.json"
    flow.write_text(json.dumps(FLOW))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared with other work)")

    from studio.llm import warm_up

    warm_up().result()  # litellm's import is paid once, before any clock
    warm = make_batch(folder, flow, make_data(folder, 50), "warm", args.concurrency)
    run_local(warm)

    # (a) the local engine over many rows, RSS at 10k and at the end
    data = make_data(folder, args.rows)
    marks: dict[str, float] = {}

    def mark(rec) -> None:
        n = big.stats.rows
        if n == 10_000:
            marks["rss_10k_mb"] = peak_rss_mb()
            marks["cur_10k_mb"] = current_rss_mb()

    big = make_batch(folder, flow, data, "local-big", args.concurrency, on_record=mark)
    wall = run_local(big)
    s = big.stats.summary()
    local_rps = args.rows / wall
    rss_end, cur_end = peak_rss_mb(), current_rss_mb()
    print(f"(a) local, {args.rows:,} rows: {wall:.1f} s, {local_rps:,.0f} rows/s; peak RSS {marks.get('rss_10k_mb', 0):.1f} MB "
          f"at 10k rows, {rss_end:.1f} MB at {args.rows // 1000}k (current {marks.get('cur_10k_mb', 0):.1f} -> {cur_end:.1f} MB); "
          f"cost ${s['cost_usd']:.4f} (${s['cost_per_row_usd']:.8f}/row), latency p50 {s['latency_p50_s'] * 1000:.2f} ms "
          f"p95 {s['latency_p95_s'] * 1000:.2f} ms, pass rate {s['pass_rate']}")

    # (b) Ray against local, same rows
    small = make_data(folder, args.ray_rows)
    local_small = make_batch(folder, flow, small, "local-small", args.concurrency)
    wall_local = run_local(local_small)
    local_small_rps = args.ray_rows / wall_local
    ray_batch = make_batch(folder, flow, small, "ray", args.concurrency)
    t0 = time.perf_counter()
    outcome = ray_batch.run_ray()
    ray_total = time.perf_counter() - t0
    assert outcome == "done", outcome
    ray_rows_wall = time.monotonic() - ray_batch.stats.started
    ray_rps = args.ray_rows / ray_rows_wall
    startup = ray_total - ray_rows_wall
    overhead_ms = (1 / ray_rps - 1 / local_small_rps) * 1000
    rows_equal = (sorted(json.dumps({k: v for k, v in r.items() if k in ("row", "outputs", "status", "cost_usd")})
                         for r in map(json.loads, open(ray_batch.config.out)))
                  == sorted(json.dumps({k: v for k, v in r.items() if k in ("row", "outputs", "status", "cost_usd")})
                            for r in map(json.loads, open(local_small.config.out))))
    print(f"(b) {args.ray_rows:,} rows: local {local_small_rps:,.0f} rows/s; Ray {ray_rps:,.0f} rows/s "
          f"(+{startup:.1f} s start-up: cluster, 2 actors, litellm import); Ray overhead {overhead_ms:+.3f} ms/row; "
          f"Ray/local time per row {local_small_rps / ray_rps:.2f}x; same records: {rows_equal}")
    print(json.dumps({
        "bench": "batch",
        "local_rows_per_s": round(local_rps, 1),
        "rss_10k_mb": round(marks.get("rss_10k_mb", 0.0), 1),
        "rss_100k_mb": round(rss_end, 1),
        "ray_rows_per_s": round(ray_rps, 1),
        "local_20k_rows_per_s": round(local_small_rps, 1),
        "ray_overhead_ms_per_row": round(overhead_ms, 4),
        "ray_startup_s": round(startup, 2),
        "cost_per_row_usd": s["cost_per_row_usd"],
        "latency_p50_ms": round(s["latency_p50_s"] * 1000, 3),
        "rows": args.rows, "ray_rows": args.ray_rows, "concurrency": args.concurrency,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
