"""Serving benchmark (not a test): 2,000 requests from 64 concurrent clients to
`orchestra serve`, and the same 2,000 runs through the executor directly, in one run.

The flow has five nodes -- Input -> Template -> LLM (mock mode) -> Template -> Output --
so every request does what a small served flow does: validate the inputs, compile
nothing (the plan is cached), run five nodes with events and a redacted JSON-lines
trace, answer the run's document. The server is the real CLI in its own process
(uvicorn, --mock, --concurrency 64); the clients are 64 keep-alive\nconnections of a minimal asyncio HTTP/1.1 client in this one (see RawClient).
The direct runs use the same plan options (mock, trace on) with 64 runs at once on one
event loop, so both sides do the same work apart from HTTP.

Figures:
  requests_per_s        2,000 / the wall time of the served round
  served p50/p99 ms     latency per request as the client sees it
  direct p50/p99 ms     latency per run through ``run_flow`` with 64 at once
  added_p50/p99_ms      what the server adds around each run, as it times it itself: the
                        Server-Timing header's ``app`` (request reaching the app to the
                        answer) minus ``run`` (the run's wall time) -- the checks, JSON,
                        bookkeeping and waiting for the server's event loop
  client_added_p50/p99_ms  the same seen from the client: its latency minus the run's
                        wall time; also counts the kernel, uvicorn's parsing and, on a
                        loaded machine, waiting to be scheduled at all
  server_cpu_ms_per_request  the server process's CPU per request, run included: what
                        a request costs whatever else the machine is doing
  sequential_added_ms   one client, one request at a time (200): served p50 minus direct
                        p50 -- the overhead with no queueing at all
  cancel_after_disconnect_ms  a client drops a stream mid-run; how long until the
                        server reports the run cancelled (median and max of 10)
Targets (issue 16): no failed request, added p50 < 5 ms, p99 < 25 ms.

Run: python tests/bench/bench_serve.py [--requests N] [--clients N]
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "serve"))
os.environ.setdefault("ORCHESTRA_DATA_DIR", tempfile.mkdtemp(prefix="orchestra-bench-serve-"))
os.environ.setdefault("ORCHESTRA_CONFIG_DIR", os.environ["ORCHESTRA_DATA_DIR"])
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx  # noqa: E402

from serving import Server, flow_doc, slow_flow, write_flow  # noqa: E402


def five_node_flow() -> dict:
    return flow_doc("Bench five", [
        {"id": "question", "type": "input", "params": {"name": "question"}},
        {"id": "ask", "type": "template", "params": {"template": "Answer briefly: {{ question }}"}},
        {"id": "answer", "type": "llm", "params": {"model": "gpt-4o-mini", "prompt": "{{ text }}", "stream": False,
                                                   "mock_responses": ["A short mock answer of a few words."]}},
        {"id": "polish", "type": "template", "params": {"template": "{{ text | trim }}"}},
        {"id": "reply", "type": "output", "params": {"name": "reply"}},
    ], [("question.value", "ask.question"), ("ask.text", "answer.text"), ("answer.text", "polish.text"),
        ("polish.text", "reply.value")])


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def server_cpu_s(pid: int) -> float:
    """User + system CPU of the server process so far (Linux /proc): load-independent cost."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    Why not httpx or aiohttp: on this machine their own per-request cost (1-5 ms of CPU
    and wake-ups, measured against a raw socket) would be most of what this benchmark
    reports as the server's; a client that only writes one request and reads one
    Content-Length body leaves the server's cost visible.
    """

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.reader = self.writer = None

    async def post(self, path: str, doc: dict) -> tuple[int, dict, dict[str, float]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        body = json.dumps(doc).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {self.token}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
        timing = next((line.split(":", 1)[1] for line in lines if line.lower().startswith("server-timing:")), "")
        durations = {part.split(";")[0].strip(): float(part.split("dur=")[1]) for part in timing.split(",") if "dur=" in part}
        return status, json.loads(await self.reader.readexactly(length)), durations

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def served_round(srv: Server, n: int, clients: int):
    """``clients`` keep-alive connections share ``n`` requests."""
    latencies: list[float] = []
    added: list[float] = []
    server_added: list[float] = []
    failed = 0
    counter = iter(range(n))

    async def client() -> None:
        nonlocal failed
        conn = RawClient(srv.port, srv.token)
        try:
            for i in counter:
                t0 = time.perf_counter()
                try:
                    status, doc, timing = await conn.post("/flows/five/runs", {"inputs": {"question": f"question {i}"}})
                    ok = status == 200 and doc["status"] == "succeeded"
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    ok, doc, timing = False, None, {}
                    await conn.close()
                    conn = RawClient(srv.port, srv.token)
                dt = time.perf_counter() - t0
                if not ok:
                    failed += 1
                    continue
                latencies.append(dt)
                added.append(dt - doc["totals"]["wall_s"])
                server_added.append((timing["app"] - timing["run"]) / 1000)
        finally:
            await conn.close()

    cpu0 = server_cpu_s(srv.proc.pid)
    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - t0
    cpu = server_cpu_s(srv.proc.pid) - cpu0
    return wall, latencies, added, server_added, failed, cpu


async def direct_round(flow_path: Path, n: int, clients: int) -> tuple[float, list[float]]:
    from studio.core.document.flowfile import load_flow
    from studio.core.running.executor import RunOptions, run_flow
    from studio.core.running.plan import compile_plan

    plan = compile_plan(load_flow(flow_path))
    latencies: list[float] = []
    counter = iter(range(n))

    async def client() -> None:
        for i in counter:
            t0 = time.perf_counter()
            result = await run_flow(plan, RunOptions(inputs={"question": f"question {i}"}, mock=True, trace=True))
            assert result.ok, result.error
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - t0, latencies


async def sequential(srv: Server, flow_path: Path, n: int) -> tuple[float, float]:
    from studio.core.document.flowfile import load_flow
    from studio.core.running.executor import RunOptions, run_flow
    from studio.core.running.plan import compile_plan

    plan = compile_plan(load_flow(flow_path))
    served, direct = [], []
    conn = RawClient(srv.port, srv.token)
    for i in range(n):
        t0 = time.perf_counter()
        status, _, _ = await conn.post("/flows/five/runs", {"inputs": {"question": f"s{i}"}})
        assert status == 200
        served.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await run_flow(plan, RunOptions(inputs={"question": f"s{i}"}, mock=True, trace=True))
        direct.append(time.perf_counter() - t0)
    await conn.close()
    return statistics.median(served), statistics.median(direct)


def cancel_latency(srv: Server, rounds: int) -> list[float]:
    out = []
    with srv.client() as c:
        for _ in range(rounds):
            with c.stream("POST", "/flows/slow/runs?stream=true", json={"inputs": {"topic": "x"}}) as r:
                lines = r.iter_lines()
                run_id = None
                for line in lines:
                    if line.startswith("data:") and run_id is None:
                        run_id = json.loads(line[5:])["data"]["run_id"]
                    if line.startswith("event: node_started") and run_id:
                        data = next(lines)
                        if '"node":"wait"' in data:
                            break
                t0 = time.perf_counter()
            while c.get(f"/runs/{run_id}").json()["status"] == "running":
                time.sleep(0.005)
            out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=64)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="orchestra-bench-serve-"))
    flows = tmp / "flows"
    flow_path = write_flow(flows, "five", five_node_flow())
    write_flow(flows, "slow", slow_flow(60.0))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    srv = Server(tmp, [flows], "--mock", "--concurrency", str(args.clients))
    try:
        # warm both sides (imports, first compile, litellm's cost map)
        asyncio.run(served_round(srv, 100, 8))
        asyncio.run(direct_round(flow_path, 100, 8))
        wall_s, lat, added, server_added, failed, cpu_s = asyncio.run(served_round(srv, args.requests, args.clients))
        d_wall, d_lat = asyncio.run(direct_round(flow_path, args.requests, args.clients))
        seq_served, seq_direct = asyncio.run(sequential(srv, flow_path, 200))
        cancels = cancel_latency(srv, 10)
    finally:
        code = srv.stop()
    ms = 1000.0
    print(f"served: {args.requests} requests, {args.clients} clients: {wall_s:.2f} s, "
          f"{args.requests / wall_s:.0f} req/s, failed {failed}")
    print(f"  latency p50 {pct(lat, 50) * ms:.2f} ms, p99 {pct(lat, 99) * ms:.2f} ms")
    print(f"  server CPU per request {cpu_s / args.requests * ms:.2f} ms (run included)")
    print(f"  added around the run, as the server times it (Server-Timing app - run): "
          f"p50 {pct(server_added, 50) * ms:.2f} ms, p99 {pct(server_added, 99) * ms:.2f} ms")
    print(f"  added around the run, as the client sees it (latency - run wall): "
          f"p50 {pct(added, 50) * ms:.2f} ms, p99 {pct(added, 99) * ms:.2f} ms")
    print(f"direct: {args.requests} runs, {args.clients} at once: {d_wall:.2f} s, {args.requests / d_wall:.0f} runs/s")
    print(f"  latency p50 {pct(d_lat, 50) * ms:.2f} ms, p99 {pct(d_lat, 99) * ms:.2f} ms")
    print(f"  served minus direct by percentile: p50 {(pct(lat, 50) - pct(d_lat, 50)) * ms:.2f} ms, "
          f"p99 {(pct(lat, 99) - pct(d_lat, 99)) * ms:.2f} ms")
    print(f"sequential (one client): served p50 {seq_served * ms:.2f} ms, direct p50 {seq_direct * ms:.2f} ms, "
          f"added {(seq_served - seq_direct) * ms:.2f} ms")
    print(f"cancel after a dropped stream: median {statistics.median(cancels) * ms:.1f} ms, max {max(cancels) * ms:.1f} ms")
    print(f"server exit code after SIGTERM: {code}; load average {os.getloadavg()[0]:.2f} at end")
    print(json.dumps({
        "bench": "serve",
        "requests_per_s": round(args.requests / wall_s, 1),
        "failed": failed,
        "added_p50_ms": round(pct(server_added, 50) * ms, 3),
        "added_p99_ms": round(pct(server_added, 99) * ms, 3),
        "client_added_p50_ms": round(pct(added, 50) * ms, 3),
        "client_added_p99_ms": round(pct(added, 99) * ms, 3),
        "served_p50_ms": round(pct(lat, 50) * ms, 3),
        "served_p99_ms": round(pct(lat, 99) * ms, 3),
        "direct_p50_ms": round(pct(d_lat, 50) * ms, 3),
        "direct_p99_ms": round(pct(d_lat, 99) * ms, 3),
        "direct_runs_per_s": round(args.requests / d_wall, 1),
        "sequential_added_ms": round((seq_served - seq_direct) * ms, 3),
        "server_cpu_ms_per_request": round(cpu_s / args.requests * ms, 3),
        "cancel_after_disconnect_max_ms": round(max(cancels) * ms, 1),
    }))


if __name__ == "__main__":
    main()
