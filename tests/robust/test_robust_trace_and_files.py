"""Finding 5 of issue 13: the trace survives signals and full disks, and every file a CLI
command writes fails with one line and exit 2. Read-only folders and full disks are real:
bubblewrap gives the command a read-only bind or a 64 KiB tmpfs (DESIGN §5)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robusthelp import REPO, env, node, no_traceback, orchestra, start, template_flow, text, wait_for_line, write_flow
from studio.core.running import events as ev
from studio.core.running.events import Event, TraceUnreadable, read_trace
from studio.core.running.trace import TraceWriter, trace_problem

SLOW = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ who }}"


def _event(type_: str, node_id: str | None = None, **data) -> Event:
    return Event(type_, node_id, (), 0.0, data)


def bwrap(tmp: Path, binds: list[str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    cmd = ["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--die-with-parent", *binds,
           sys.executable, "-m", "studio.cli", *args]
    return subprocess.run(cmd, capture_output=True, cwd=REPO, env=env(tmp), timeout=timeout)


# -- the writer -----------------------------------------------------------------------

def test_a_node_result_is_on_disk_when_the_call_returns(tmp_path):
    w = TraceWriter(tmp_path / "t.jsonl")
    w(_event(ev.RUN_STARTED, run_id="r1"))
    w(_event(ev.NODE_FINISHED, "a", outputs={"x": 1}))
    lines = (tmp_path / "t.jsonl").read_bytes().splitlines()  # not closed, not flushed by us
    assert [json.loads(x)["type"] for x in lines] == ["run_started", "node_finished"]
    w.close()


async def test_on_an_event_loop_node_results_are_on_disk_after_the_loop_turn_in_one_write(tmp_path, monkeypatch):
    """In a run, results wait for the end of the loop turn (one write for all the nodes
    that finished in it, not a system call per node) and no longer."""
    import os

    from studio.core.running import trace as trace_module

    writes: list[int] = []
    real_write = os.write
    monkeypatch.setattr(trace_module.os, "write", lambda fd, data: writes.append(len(data)) or real_write(fd, data))
    w = TraceWriter(tmp_path / "t.jsonl")
    w(_event(ev.RUN_STARTED, run_id="r1"))
    for i in range(50):
        w(_event(ev.NODE_FINISHED, f"n{i}", outputs={"x": i}))
    await asyncio.sleep(0)  # the loop's next turn
    lines = (tmp_path / "t.jsonl").read_bytes().splitlines()
    assert len(lines) == 51 and json.loads(lines[-1])["node"] == "n49"
    assert len(writes) == 1
    w.close()


def test_other_events_reach_the_disk_without_another_event_or_close(tmp_path):
    w = TraceWriter(tmp_path / "t.jsonl")
    w(_event(ev.RUN_STARTED, run_id="r1"))
    w(_event(ev.NODE_STARTED, "a", inputs={}))
    w(_event(ev.NODE_PROGRESS, "a", kind="token", text="hel"))
    # nothing else happens: the flusher thread writes them (at most 50 ms later)
    body = wait_for_line(tmp_path / "t.jsonl", '"node_progress"', limit_s=10)
    assert body.endswith("\n") and body.count("\n") == 3
    w.close()


async def test_lines_reach_the_disk_while_the_event_loop_is_busy(tmp_path):
    """A node that computes for a long time without awaiting (the loop's next turn never
    comes) must not hold back what the run did before it: the flusher thread writes it."""
    import time

    w = TraceWriter(tmp_path / "t.jsonl")
    w(_event(ev.NODE_STARTED, "a", inputs={}))
    w(_event(ev.NODE_FINISHED, "a", outputs={"x": 1}))  # queued for the next turn, which waits
    deadline = time.monotonic() + 10
    body = b""
    while time.monotonic() < deadline and b"node_finished" not in body:  # never yields to the loop
        body = (tmp_path / "t.jsonl").read_bytes()
    assert body.count(b"\n") == 2 and b"node_finished" in body
    w.close()


def test_flushes_from_another_thread_lose_no_line_and_keep_the_order(tmp_path):
    """The run appends while flushes run on other threads (the flusher, a close): every
    line arrives, whole, in order -- two flushes never interleave their writes."""
    import threading

    w = TraceWriter(tmp_path / "t.jsonl")
    stop = threading.Event()

    def flush_hard() -> None:
        while not stop.is_set():
            w.flush()

    threads = [threading.Thread(target=flush_hard) for _ in range(2)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads trade places as often as CPython allows
    for t in threads:
        t.start()
    try:
        for i in range(20000):
            w(_event(ev.NODE_PROGRESS, "a", kind="token", text=f"piece {i}"))
    finally:
        stop.set()
        for t in threads:
            t.join()
        sys.setswitchinterval(switch)
    w.close()
    texts = [json.loads(line)["data"]["text"] for line in (tmp_path / "t.jsonl").read_bytes().splitlines()]
    assert texts == [f"piece {i}" for i in range(20000)]


def test_a_trace_that_cannot_be_written_is_reported_once_and_never_raises(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    seen: list[str] = []
    w = TraceWriter(blocker / "t.jsonl", on_problem=seen.append)
    for _ in range(3):
        w(_event(ev.NODE_FINISHED, "a", outputs={}))
    w(_event(ev.RUN_FINISHED, None, outputs={}, totals={}))
    w.close()
    assert len(seen) == 1 and "cannot be written" in seen[0]
    assert trace_problem(blocker / "t.jsonl") == seen[0]


def test_a_full_device_mid_run_is_reported_once(tmp_path):
    seen: list[str] = []
    w = TraceWriter(Path("/dev/full"), on_problem=seen.append)
    w(_event(ev.RUN_STARTED, run_id="r"))
    w(_event(ev.NODE_FINISHED, "a", outputs={}))
    w(_event(ev.RUN_FAILED, "a", error="x", status="failed", outputs={}, totals={}))
    w.close()
    assert len(seen) == 1 and "No space left on device" in seen[0]


# -- reading a trace --------------------------------------------------------------------

def test_a_torn_last_line_is_skipped_and_a_torn_middle_line_is_named(tmp_path):
    good = [ev.encode_event(_event(ev.RUN_STARTED, run_id="r")), ev.encode_event(_event(ev.NODE_STARTED, "a", inputs={}))]
    torn = ev.encode_event(_event(ev.NODE_FINISHED, "a", outputs={"text": "é" * 50}))[:37]  # mid-character too
    events = read_trace((b"".join(good) + torn).splitlines())
    assert [e.type for e in events] == ["run_started", "node_started"]
    with pytest.raises(TraceUnreadable, match="line 2"):
        read_trace((good[0] + torn + b"\n" + good[1]).splitlines())


# -- signals ------------------------------------------------------------------------------

def test_sigkill_mid_run_leaves_a_readable_trace(tmp_path):
    flow = template_flow(tmp_path / "slow.flow.json", SLOW)
    trace = tmp_path / "trace.jsonl"
    p = start(tmp_path, "run", str(flow), "--input", "who=x", "--trace", str(trace))
    try:
        wait_for_line(trace, '"node_started","node":"t"', p)
        p.kill()
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
    events = read_trace(trace.read_bytes().splitlines())
    assert [e.type for e in events][:3] == ["run_started", "node_started", "node_finished"]
    assert events[-1].type == "node_started" and events[-1].node == "t"


def test_sigterm_while_a_model_call_hangs_ends_143_with_run_cancelled(tmp_path):
    from support.mock_openai import MockOpenAIThread, Reply

    flow = write_flow(tmp_path / "ask.flow.json", [
        node("q", "input", name="q"), node("ask", "llm", model="openai/gpt-4o-mini", prompt="{{ q }}"),
        node("out", "output", name="a")], [("q.value", "ask.q"), ("ask.text", "out.value")])
    trace = tmp_path / "trace.jsonl"
    with MockOpenAIThread() as server:
        server.on_model("gpt-4o-mini", Reply.hanging())
        p = subprocess.Popen([sys.executable, "-m", "studio.cli", "run", str(flow), "-i", "q=hi", "--trace", str(trace),
                              "--api-base", server.base_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                             env=env(tmp_path, OPENAI_API_KEY="sk" "-test-dummy-0123456789abcdef"))
        try:
            end = time.monotonic() + 60
            while server.count == 0 and time.monotonic() < end and p.poll() is None:
                time.sleep(0.05)
            assert server.count == 1, text(p.stderr.read()) if p.poll() is not None else "no call arrived"
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
    assert p.returncode == 143, text(err)
    assert "Traceback" not in text(err) and "terminated" in text(err)
    events = read_trace(trace.read_bytes().splitlines())
    assert events[-1].type == "run_cancelled"
    assert "Per node" in text(out)  # the result so far is printed


# -- full and read-only disks, and paths that are not files ---------------------------------

def _big_output_flow(tmp: Path) -> Path:
    # a node whose finished event is far over 64 KiB: the trace fills the disk mid-run
    return write_flow(tmp / "big.flow.json", [node("t", "template", template="{{ 'x' * 200000 }}"),
                                              node("out", "output", name="o")], [("t.text", "out.value")])


def test_a_trace_disk_that_fills_mid_run_still_prints_the_result(tmp_path):
    flow = _big_output_flow(tmp_path)
    small = tmp_path / "small"
    small.mkdir()
    r = bwrap(tmp_path, ["--size", "65536", "--tmpfs", str(small)], "run", str(flow), "--trace", str(small / "t.jsonl"))
    no_traceback(r)
    assert r.returncode == 0, text(r.stderr)
    assert text(r.stdout).count("x") >= 200_000 and "succeeded" in text(r.stdout)  # the whole output
    err = text(r.stderr)
    assert err.count("could not be written") == 1 and "No space left on device" in err
    assert "trace: not kept" in text(r.stdout)


def test_trace_to_dev_full_is_reported_once_and_the_run_ends(tmp_path):
    r = orchestra(tmp_path, "run", str(_big_output_flow(tmp_path)), "--trace", "/dev/full", "--json")
    no_traceback(r)
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["status"] == "succeeded" and doc["trace"] is None and "No space left" in doc["trace_problem"]


@pytest.mark.parametrize("where", ["folder", "read-only", "under a file"])
def test_an_unwritable_trace_path_is_one_line_and_exit_2(tmp_path, where):
    flow = template_flow(tmp_path / "f.flow.json", "hi {{ who }}")
    binds: list[str] = []
    if where == "folder":
        target = tmp_path
    elif where == "read-only":
        ro = tmp_path / "ro"
        ro.mkdir()
        binds = ["--ro-bind", str(ro), str(ro)]
        target = ro / "t.jsonl"
    else:
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "t.jsonl"
    r = bwrap(tmp_path, binds, "run", str(flow), "-i", "who=x", "--trace", str(target))
    no_traceback(r)
    assert r.returncode == 2, text(r.stderr)
    lines = text(r.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("orchestra run: --trace:"), lines


@pytest.mark.parametrize("where", ["read-only", "missing folder", "a folder", "/dev/full", "full disk"])
def test_export_to_an_unwritable_place_is_one_line_and_exit_2(tmp_path, where):
    flow = write_flow(tmp_path / "f.flow.json", [node("i", "input", name="x"), node("o", "output", name="y")],
                      [("i.value", "o.value")], description="d" * 100_000)
    binds: list[str] = []
    if where == "read-only":
        ro = tmp_path / "ro"
        ro.mkdir()
        binds, target = ["--ro-bind", str(ro), str(ro)], str(ro / "out.json")
    elif where == "missing folder":
        target = str(tmp_path / "nope" / "out.json")
    elif where == "a folder":
        target = str(tmp_path)
    elif where == "/dev/full":
        target = "/dev/full"
    else:
        small = tmp_path / "small"
        small.mkdir()
        binds, target = ["--size", "65536", "--tmpfs", str(small)], str(small / "out.json")
    r = bwrap(tmp_path, binds, "export", str(flow), "-o", target)
    no_traceback(r)
    assert r.returncode == 2, text(r.stderr)
    lines = text(r.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"orchestra export: cannot write {target}"), lines
    assert Path("/dev/full").is_char_device()  # never renamed over


def test_export_over_an_existing_file_on_a_full_disk_keeps_the_original(tmp_path):
    flow = write_flow(tmp_path / "f.flow.json", [node("i", "input", name="x")], description="d" * 100_000)
    small = tmp_path / "small"
    small.mkdir()
    script = (f"echo original > {small}/out.json && head -c 60000 /dev/zero > {small}/filler; "
              f"{sys.executable} -m studio.cli export {flow} -o {small}/out.json; echo rc=$?; cat {small}/out.json")
    r = subprocess.run(["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--die-with-parent",
                        "--size", "65536", "--tmpfs", str(small), "sh", "-c", script],
                       capture_output=True, cwd=REPO, env=env(tmp_path), timeout=90)
    out = text(r.stdout)
    assert "rc=2" in out and out.rstrip().endswith("original"), out + text(r.stderr)
    no_traceback(r)
