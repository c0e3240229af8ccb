"""--resume after SIGKILL or Ctrl-C mid-batch: exactly one line per row, nothing lost."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import REPO, flow_doc, read_results, write_flow, write_jsonl

ROWS = 240


def slow_flow(path):
    return write_flow(path, flow_doc("slow", [
        ("message", "input", {"name": "message", "type": "text"}),
        ("wait", "delay", {"seconds": 0.03}),
        ("say", "template", {"template": "got {{ m }}"}),
        ("reply", "output", {"name": "reply"}),
    ], [("message.value", "wait.value"), ("wait.value", "say.m"), ("say.text", "reply.value")]))


def start(tmp_path, *extra):
    env = {**os.environ, "ORCHESTRA_DATA_DIR": str(tmp_path / "data"), "ORCHESTRA_CONFIG_DIR": str(tmp_path / "config")}
    cmd = [sys.executable, "-m", "studio.cli", "batch", str(tmp_path / "slow.flow.json"), "--data",
           str(tmp_path / "d.jsonl"), "--out", str(tmp_path / "o.jsonl"), "--concurrency", "6", "--plain", *extra]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_lines(path, n, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"fewer than {n} lines after {timeout} s")


@pytest.fixture
def slow_batch(tmp_path):
    slow_flow(tmp_path / "slow.flow.json")
    write_jsonl(tmp_path / "d.jsonl", [{"message": f"m{i}"} for i in range(ROWS)])
    return tmp_path


def check_exactly_once(out):
    recs = read_results(out)
    counts = collections.Counter(r["row"] for r in recs)
    assert sorted(counts) == list(range(ROWS))
    assert max(counts.values()) == 1
    assert all(r["outputs"] == {"reply": f"got m{r['row']}"} for r in recs)


def test_resume_after_sigkill_gives_exactly_one_line_per_row(slow_batch):
    out = slow_batch / "o.jsonl"
    proc = start(slow_batch)
    wait_for_lines(out, 40, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    first = read_results(out)
    assert 40 <= len(first) < ROWS
    # a crash can also cut the last line short: resume must drop it, not choke on it
    with open(out, "ab") as fh:
        fh.write(b'{"row": 7, "status": "succ')
    proc = start(slow_batch, "--resume")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert f"({len(first)} from before --resume)" in stdout
    check_exactly_once(out)


def test_ctrl_c_exits_130_and_resume_finishes(slow_batch):
    out = slow_batch / "o.jsonl"
    proc = start(slow_batch)
    wait_for_lines(out, 30, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "--resume carries on" in stderr
    assert len(read_results(out)) < ROWS
    proc = start(slow_batch, "--resume")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    check_exactly_once(out)


def test_a_record_with_a_value_orjson_refuses_is_still_written_whole(tmp_path):
    """A row whose output holds an integer beyond 64 bits (a tool's 2**70) or a lone
    surrogate is written like any other, not a crash of the whole batch."""
    from studio.batch.results import ResultsWriter

    out = tmp_path / "out.jsonl"
    writer = ResultsWriter(out)
    writer.write({"row": 0, "status": "succeeded", "outputs": {"big": 2 ** 70, "text": "a\ud800b", 1: "key"}})
    writer.write({"row": 1, "status": "succeeded", "outputs": {"x": 1}})
    writer.close()
    records = read_results(out)
    assert [r["row"] for r in records] == [0, 1]
    assert records[0]["outputs"] == {"big": 2 ** 70, "text": "a\ud800b", "1": "key"}
    # and a resumed batch reads the row back as done, not as a line to skip and run again
    from studio.batch.results import read_records

    assert [r["row"] for r in read_records(out)] == [0, 1]
    resumed = ResultsWriter(out, resume=True)
    resumed.close()
    assert 0 in resumed.done and 1 in resumed.done
