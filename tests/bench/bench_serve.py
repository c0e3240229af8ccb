"""Serving benchmark (not a test): 2,000 requests from 64 concurrent clients to
`orchestra serve`, the same 2,000 runs through the executor directly, and the HTTP
stack's floor under the same load, in one run.

The flow has five nodes -- Input -> Template -> LLM (mock mode) -> Template -> Output --
so every request does what a small served flow does: validate the inputs, compile
nothing (the plan is cached), run five nodes with events and a redacted JSON-lines
trace, answer the run's document. Three sides see the same load:

  served  the real CLI in its own process (uvicorn, --mock, --concurrency 64)
  bare    tests/bench/serve_floor.py: a Starlette endpoint on the same uvicorn settings
          that reads the body and answers a canned run document of the same size --
          no token, no checks, no run. Its latency under a load is the floor for what
          any endpoint on this stack can add at that load.
  direct  ``run_flow`` in this process, the same plan options (mock, trace on), N runs
          at once on one event loop (uvloop, as the server's): the run without HTTP.

The clients are keep-alive connections of a minimal asyncio HTTP/1.1 client in this
process (see RawClient). They share the machine's two cores with the server.

Rounds: the issue's saturated one (--clients 64, --requests 2000), then the same three
sides at lower concurrency (--levels, 400 requests each), then a shed round: a second
server admitting only --shed-limit runs at once, hit by 64 clients that honour 429's
Retry-After (the issue's concurrency limit doing its job). The shed round's flow is the
five-node one with a 20 ms Delay before the answer: the five-node flow itself never gives
the event loop up (templates and a mock call), so with the run in the request's own task
two of its runs are never going at once and no run-slot limit would ever fill.

"Added latency", every definition side by side (p50 and p99 of each):
  A server-timed      Server-Timing ``app`` (from the request reaching the app's first
                      middleware to the answer being handed to uvicorn) minus ``run``
                      (the run's wall time as the engine measures it), per request: what
                      the server does around the run plus any time the request waits for
                      the server's event loop in between. These are the issue's
                      added_p50/p99_ms. The run goes on in the request's own task, so
                      there is no such wait unless the run itself waits (then it is the
                      run's); for this flow A is the app's own CPU time around the run.
                      The loop's queue that a busy server still has is before the app
                      (uvicorn starts the request's task one loop turn after parsing it):
                      B, C and the floor show it.
  B client-seen       the client's latency minus the run's wall time, per request: A
                      plus the kernel, uvicorn's parsing, and waiting to be scheduled.
  C served - direct   served latency percentile minus the direct runs' same percentile.
  floor               the bare endpoint's latency percentile: all of it is "added" (it
                      runs nothing), so no served endpoint can add less at that load.

Why the floor grows with clients (Little's law): with N requests in flight and a
throughput of X per second, the mean latency is N / X. A server whose event loop spends
c seconds of CPU per request has X <= 1 / c, so each request waits about N * c: at 64 in
flight, 0.1 ms of CPU per request already means ~6 ms. An added p50 under 5 ms at 64
clients therefore needs a stack that costs under 5 / 64 ms = 78 us of CPU per request,
run and client not counted; the bare round says whether this machine's stack does.

Other figures: requests_per_s (2,000 / the served round's wall time), the server's CPU
per request (/proc; run included; load-independent), the cancel time after a dropped
stream (median and max of 10) and the exit code after SIGTERM.
Targets (issue 16): no failed request, added p50 < 5 ms, p99 < 25 ms.

Run: python tests/bench/bench_serve.py [--requests N] [--clients N] [--levels 1,2,4,16]
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "serve"))
os.environ.setdefault("ORCHESTRA_DATA_DIR", tempfile.mkdtemp(prefix="orchestra-bench-serve-"))
os.environ.setdefault("ORCHESTRA_CONFIG_DIR", os.environ["ORCHESTRA_DATA_DIR"])
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx  # noqa: E402

from serving import Server, child_env, flow_doc, free_port, slow_flow, write_flow  # noqa: E402

PATH = "/flows/five/runs"
SHED_PATH = "/flows/waiting/runs"  # the shed round's flow: its runs wait, so they overlap
TARGET_P50_MS, TARGET_P99_MS = 5.0, 25.0
MS = 1000.0


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


def waiting_flow() -> dict:
    """The five-node flow with a 20 ms Delay before its answer: runs that give the loop up
    while they wait (as a real LLM call does), so several are going at once."""
    doc = five_node_flow()
    doc["name"] = "Bench five, waiting"
    doc["nodes"].insert(3, {"id": "wait", "type": "delay", "params": {"seconds": 0.02}})
    doc["edges"] = [e for e in doc["edges"] if e != {"from": "answer.text", "to": "polish.text"}] + [
        {"from": "answer.text", "to": "wait.value"}, {"from": "wait.value", "to": "polish.text"}]
    return doc


def arun(coro):
    """asyncio.run on uvloop when it is installed: the server's loop too, so the direct
    runs and the server's runs go through the same event loop implementation."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def proc_cpu_s(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc): load-independent cost."""
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

    async def post(self, path: str, doc: dict) -> tuple[int, bytes, dict[str, str]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        body = json.dumps(doc).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {self.token}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        return int(lines[0].split()[1]), await self.reader.readexactly(int(headers["content-length"])), headers

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def server_timing(header: str) -> dict[str, float]:
    return {part.split(";")[0].strip(): float(part.split("dur=")[1]) for part in header.split(",") if "dur=" in part}


@dataclass
class Round:
    """One side at one load: latencies in seconds, and what the server's timing said."""

    side: str
    clients: int
    requests: int
    wall_s: float = 0.0
    cpu_s: float = 0.0
    failed: int = 0
    refused: int = 0  # 429s answered (and, in the shed round, waited out and retried)
    latency: list[float] = field(default_factory=list)  # per request, the last (accepted) attempt
    end_to_end: list[float] = field(default_factory=list)  # per request, refusals and waits included
    run_wall: list[float] = field(default_factory=list)  # served: the run's own wall time
    server_added: list[float] = field(default_factory=list)  # served: Server-Timing app - run

    @property
    def per_s(self) -> float:
        return self.requests / self.wall_s

    def client_added(self) -> list[float]:
        return [lat - run for lat, run in zip(self.latency, self.run_wall)]


async def http_round(side: str, port: int, token: str, pid: int, n: int, clients: int,
                     honour_retry_after: bool = False, path: str = PATH) -> Round:
    """``clients`` keep-alive connections share ``n`` requests to ``path``."""
    r = Round(side, clients, n)
    counter = iter(range(n))

    async def client() -> None:
        conn = RawClient(port, token)
        try:
            for i in counter:
                first = time.perf_counter()
                while True:
                    t0 = time.perf_counter()
                    try:
                        status, raw, headers = await conn.post(path, {"inputs": {"question": f"question {i}"}})
                    except (OSError, asyncio.IncompleteReadError, ValueError, KeyError):
                        status, raw, headers = 0, b"", {}
                        await conn.close()
                    dt = time.perf_counter() - t0
                    if status == 429 and honour_retry_after and "retry-after" in headers:
                        r.refused += 1
                        await asyncio.sleep(float(headers["retry-after"]))
                        continue
                    break
                if status != 200:
                    r.failed += 1
                    continue
                if side == "served":
                    doc = json.loads(raw)
                    if doc.get("status") != "succeeded":
                        r.failed += 1
                        continue
                    timing = server_timing(headers.get("server-timing", ""))
                    r.run_wall.append(doc["totals"]["wall_s"])
                    r.server_added.append((timing["app"] - timing["run"]) / MS)
                r.latency.append(dt)
                r.end_to_end.append(time.perf_counter() - first)
        finally:
            await conn.close()

    cpu0 = proc_cpu_s(pid)
    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    r.wall_s = time.perf_counter() - t0
    r.cpu_s = proc_cpu_s(pid) - cpu0
    return r


async def direct_round(plan, n: int, clients: int) -> Round:
    from studio.core.running.executor import RunOptions, run_flow

    r = Round("direct", clients, n)
    counter = iter(range(n))

    async def client() -> None:
        for i in counter:
            t0 = time.perf_counter()
            result = await run_flow(plan, RunOptions(inputs={"question": f"question {i}"}, mock=True, trace=True))
            if not result.ok:
                r.failed += 1
                continue
            r.latency.append(time.perf_counter() - t0)

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    r.wall_s = time.perf_counter() - t0
    r.cpu_s = time.process_time() - cpu0
    return r


class Floor:
    """tests/bench/serve_floor.py in its own process, answering ``body``."""

    def __init__(self, tmp: Path, body: bytes) -> None:
        self.port = free_port()
        body_file = tmp / "canned.json"
        body_file.write_bytes(body)
        self._log = open(tmp / "floor.log", "wb")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("serve_floor.py")),
                                      "--port", str(self.port), "--body", str(body_file)],
                                     cwd=ROOT, env=child_env(tmp), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.post(f"http://127.0.0.1:{self.port}{PATH}", json={}, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the floor endpoint did not start: {(tmp / 'floor.log').read_text()}")
            time.sleep(0.1)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        self._log.close()
        return code


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


def level(served: Round, bare: Round, direct: Round) -> dict:
    """Every definition of "added" at one load, in ms (see the module docstring)."""
    def two(values):
        return round(pct(values, 50) * MS, 3), round(pct(values, 99) * MS, 3)

    a, b = two(served.server_added), two(served.client_added())
    return {
        "clients": served.clients,
        "served_per_s": round(served.per_s, 1), "bare_per_s": round(bare.per_s, 1), "direct_per_s": round(direct.per_s, 1),
        "failed": served.failed + bare.failed + direct.failed,
        "served_p50_ms": two(served.latency)[0], "served_p99_ms": two(served.latency)[1],
        "direct_p50_ms": two(direct.latency)[0], "direct_p99_ms": two(direct.latency)[1],
        "server_timed_added_p50_ms": a[0], "server_timed_added_p99_ms": a[1],
        "client_added_p50_ms": b[0], "client_added_p99_ms": b[1],
        "served_minus_direct_p50_ms": round((pct(served.latency, 50) - pct(direct.latency, 50)) * MS, 3),
        "served_minus_direct_p99_ms": round((pct(served.latency, 99) - pct(direct.latency, 99)) * MS, 3),
        "floor_p50_ms": two(bare.latency)[0], "floor_p99_ms": two(bare.latency)[1],
        "served_cpu_ms_per_request": round(served.cpu_s / served.requests * MS, 3),
        "bare_cpu_ms_per_request": round(bare.cpu_s / bare.requests * MS, 3),
        "direct_cpu_ms_per_run": round(direct.cpu_s / direct.requests * MS, 3),
    }


def print_level(f: dict) -> None:
    c = f["clients"]
    print(f"-- {c} client(s) at once; load average {os.getloadavg()[0]:.2f}")
    print(f"   {'side':7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}")
    print(f"   {'served':7} {f['served_per_s']:7.0f} {f['served_p50_ms']:8.2f} {f['served_p99_ms']:8.2f} "
          f"{f['served_cpu_ms_per_request']:11.3f}  (server process, run included)")
    print(f"   {'bare':7} {f['bare_per_s']:7.0f} {f['floor_p50_ms']:8.2f} {f['floor_p99_ms']:8.2f} "
          f"{f['bare_cpu_ms_per_request']:11.3f}  (floor process)")
    print(f"   {'direct':7} {f['direct_per_s']:7.0f} {f['direct_p50_ms']:8.2f} {f['direct_p99_ms']:8.2f} "
          f"{f['direct_cpu_ms_per_run']:11.3f}  (this process, no HTTP)")
    print(f"   added, ms:               {'p50':>8} {'p99':>8}")
    print(f"   A server-timed          {f['server_timed_added_p50_ms']:8.2f} {f['server_timed_added_p99_ms']:8.2f}"
          "   Server-Timing app - run, per request")
    print(f"   B client-seen           {f['client_added_p50_ms']:8.2f} {f['client_added_p99_ms']:8.2f}"
          "   client latency - run wall, per request")
    print(f"   C served - direct       {f['served_minus_direct_p50_ms']:8.2f} {f['served_minus_direct_p99_ms']:8.2f}"
          "   by percentile")
    print(f"   floor (bare endpoint)   {f['floor_p50_ms']:8.2f} {f['floor_p99_ms']:8.2f}"
          "   stack + machine, nothing run")
    print(f"   Little's law: {c} in flight / {f['bare_per_s']:.0f} req/s = {c / f['bare_per_s'] * MS:.2f} ms mean for bare, "
          f"{c} / {f['served_per_s']:.0f} = {c / f['served_per_s'] * MS:.2f} ms for served", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--levels", default="1,2,4,16", help="lower client counts to measure too (comma-separated)")
    ap.add_argument("--level-requests", type=int, default=400)
    ap.add_argument("--sized", type=int, default=2, help="the level reported as 'sized' in the JSON line")
    ap.add_argument("--shed-limit", type=int, default=2, help="--concurrency of the shed round's server")
    ap.add_argument("--shed-requests", type=int, default=640)
    args = ap.parse_args()
    levels = sorted({int(x) for x in args.levels.split(",") if x.strip()} | {args.sized})
    tmp = Path(tempfile.mkdtemp(prefix="orchestra-bench-serve-"))
    flows = tmp / "flows"
    flow_path = write_flow(flows, "five", five_node_flow())
    write_flow(flows, "slow", slow_flow(60.0))
    write_flow(flows, "waiting", waiting_flow())
    load0 = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} at start",
          flush=True)

    from studio.core.document.flowfile import load_flow
    from studio.core.running.plan import compile_plan

    plan = compile_plan(load_flow(flow_path))
    srv = Server(tmp, [flows], "--mock", "--concurrency", str(args.clients))
    floor = shed = None
    try:
        with srv.client() as c:  # one real answer: the floor answers the same bytes
            body = c.post(PATH, json={"inputs": {"question": "question 0"}}).content
        floor = Floor(tmp, body)
        http = {"served": (srv.port, srv.token, srv.proc.pid), "bare": (floor.port, srv.token, floor.proc.pid)}

        def measure(n: int, clients: int) -> dict:
            served = arun(http_round("served", *http["served"], n, clients))
            bare = arun(http_round("bare", *http["bare"], n, clients))
            direct = arun(direct_round(plan, n, clients))
            return level(served, bare, direct)

        measure(200, 8)  # warm all three (imports, first compile, litellm's cost map)
        print(f"== saturated: {args.requests} requests per side, {args.clients} clients", flush=True)
        sat = measure(args.requests, args.clients)
        print_level(sat)
        print(f"== lower concurrency: {args.level_requests} requests per side", flush=True)
        by_clients = {}
        for c in levels:
            by_clients[c] = measure(args.level_requests, c)
            print_level(by_clients[c])
        cancels = cancel_latency(srv, 10)

        print(f"== shed: {args.shed_requests} requests, {args.clients} clients, a server admitting "
              f"{args.shed_limit} runs at once (429 + Retry-After beyond; the clients wait it out and retry)", flush=True)
        shed = Server(tmp, [flows], "--mock", "--concurrency", str(args.shed_limit))
        arun(http_round("served", shed.port, shed.token, shed.proc.pid, 100, args.shed_limit, path=SHED_PATH))  # warm
        sh = arun(http_round("served", shed.port, shed.token, shed.proc.pid, args.shed_requests, args.clients,
                             honour_retry_after=True, path=SHED_PATH))
        print(f"   {sh.per_s:.0f} req/s, failed {sh.failed}, answered 429 {sh.refused} times")
        print(f"   admitted requests: latency p50 {pct(sh.latency, 50) * MS:.2f} ms, p99 {pct(sh.latency, 99) * MS:.2f}; "
              f"A server-timed added p50 {pct(sh.server_added, 50) * MS:.2f} ms, p99 {pct(sh.server_added, 99) * MS:.2f}")
        print(f"   end to end, Retry-After waits included: p50 {pct(sh.end_to_end, 50) * MS:.1f} ms, "
              f"p99 {pct(sh.end_to_end, 99) * MS:.1f} ms", flush=True)
    finally:
        code = srv.stop()
        if floor is not None:
            floor.stop()
        if shed is not None:
            shed.stop()
    sized = by_clients[args.sized]
    load1 = os.getloadavg()
    print(f"cancel after a dropped stream: median {statistics.median(cancels) * MS:.1f} ms, max {max(cancels) * MS:.1f} ms")
    print(f"server exit code after SIGTERM: {code}; load average {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} at end")
    met = sat["failed"] == 0 and sat["server_timed_added_p50_ms"] < TARGET_P50_MS \
        and sat["server_timed_added_p99_ms"] < TARGET_P99_MS
    reachable = sat["floor_p50_ms"] < TARGET_P50_MS and sat["floor_p99_ms"] < TARGET_P99_MS
    print(f"targets at {args.clients} clients (added p50 < {TARGET_P50_MS:g} ms, p99 < {TARGET_P99_MS:g} ms, "
          f"no failure): {'met' if met else 'missed'}; the bare stack's own latency there is "
          f"p50 {sat['floor_p50_ms']:.2f} / p99 {sat['floor_p99_ms']:.2f} ms: the target is "
          f"{'reachable' if reachable else 'below the floor, so no endpoint on this stack can meet it at this load'}")
    print(f"at {args.clients} clients the client still sees: B client-seen added p50 {sat['client_added_p50_ms']:.2f} / "
          f"p99 {sat['client_added_p99_ms']:.2f} ms, C served - direct p50 {sat['served_minus_direct_p50_ms']:.2f} / "
          f"p99 {sat['served_minus_direct_p99_ms']:.2f} ms; a saturated server's queue is set by its CPU per request "
          f"({sat['served_cpu_ms_per_request']:.3f} ms served vs {sat['direct_cpu_ms_per_run']:.3f} ms per direct run), "
          "and it is waited out before the app (A) starts")
    print(f"at {args.sized} client(s): added p50 {sized['server_timed_added_p50_ms']:.2f} / p99 "
          f"{sized['server_timed_added_p99_ms']:.2f} ms (server-timed), "
          f"{sized['served_minus_direct_p50_ms']:.2f} / {sized['served_minus_direct_p99_ms']:.2f} ms (served - direct)")
    print(json.dumps({
        "bench": "serve",
        # the keys: the saturated round (--clients at once); added_* is definition A
        "requests_per_s": sat["served_per_s"],
        "failed": sum(f["failed"] for f in (sat, *by_clients.values())) + sh.failed,  # every side and round
        "added_p50_ms": sat["server_timed_added_p50_ms"],
        "added_p99_ms": sat["server_timed_added_p99_ms"],
        "added_definition": "server-timed: Server-Timing app - run, per-request p50/p99",
        "clients": args.clients,
        "targets_met": met,
        "target_reachable_on_this_stack": reachable,
        **{k: v for k, v in sat.items() if k not in ("clients", "failed", "served_per_s")},
        "sized": sized,
        "by_clients": {str(k): v for k, v in by_clients.items()},
        "shed": {"limit": args.shed_limit, "clients": args.clients, "requests": args.shed_requests,
                 "per_s": round(sh.per_s, 1), "failed": sh.failed, "answered_429": sh.refused,
                 "admitted_p50_ms": round(pct(sh.latency, 50) * MS, 3), "admitted_p99_ms": round(pct(sh.latency, 99) * MS, 3),
                 "server_timed_added_p50_ms": round(pct(sh.server_added, 50) * MS, 3),
                 "server_timed_added_p99_ms": round(pct(sh.server_added, 99) * MS, 3),
                 "end_to_end_p50_ms": round(pct(sh.end_to_end, 50) * MS, 1),
                 "end_to_end_p99_ms": round(pct(sh.end_to_end, 99) * MS, 1)},
        "sequential_added_ms": by_clients[1]["served_minus_direct_p50_ms"] if 1 in by_clients else None,
        "server_cpu_ms_per_request": sat["served_cpu_ms_per_request"],
        "cancel_after_disconnect_max_ms": round(max(cancels) * MS, 1),
        "sigterm_exit_code": code,
        "load_avg_start": [round(x, 2) for x in load0],
        "load_avg_end": [round(x, 2) for x in load1],
    }))


if __name__ == "__main__":
    main()
