"""Cancellation, pinned outputs and cache keys, traces and replay, subflows, secrets."""

from __future__ import annotations

import asyncio
import json

from studio.core.running.events import read_trace
from studio.core.running.executor import RunOptions, start_run
from studio.core.document.flowfile import save_flow
from tests.support.flows import ACTIVE, CALLS, Flow


def _finished_sleepers(result) -> list:
    """Nodes of a run that finished (a cancelled run's sleepers must not have)."""
    return [k for k, r in result.results.items() if r.status == "done" and k[0] in ("work", "side")]


def _wide_slow_flow() -> Flow:
    f = Flow()
    f.io("list")
    f.node("fo", "fanout", concurrency=0)
    f.node("work", "t_sleep", ms=5000)
    f.node("col", "collect")
    f.node("side", "t_sleep", ms=5000)
    f.node("side_out", "output", name="side")
    f.wire("inp.value", "fo.items")
    f.wire("fo.item", "work.x")
    f.wire("work.x", "col.item")
    f.wire("col.results", "out.value")
    f.wire("inp.value", "side.x")
    f.wire("side.x", "side_out.value")
    return f


async def test_cancel_stops_every_in_flight_node_fast_and_leaves_no_task(tmp_path):
    f = _wide_slow_flow()
    before = asyncio.all_tasks()
    run = start_run(f.model, RunOptions(inputs={"x": list(range(50))}, concurrency=0, trace=tmp_path / "t.jsonl"))
    task = run.start()
    while ACTIVE["now"] < 51:
        await asyncio.sleep(0.005)
    run.cancel()
    result = await task
    assert result.status == "cancelled"
    assert ACTIVE["now"] == 0  # every in-flight node was cancelled, none slept its 5 s out
    assert not _finished_sleepers(result), "a node ran to its end after the cancel"
    left = asyncio.all_tasks() - before - {asyncio.current_task()}
    assert not left, f"tasks left behind: {left}"
    events = read_trace((tmp_path / "t.jsonl").read_text().splitlines())
    assert events[-1].type == "run_cancelled"  # the trace is kept and complete


async def test_cancelling_the_awaiting_task_cancels_the_run():
    f = _wide_slow_flow()
    run = start_run(f.model, RunOptions(inputs={"x": [1, 2]}, concurrency=0, trace=None))
    waiter = asyncio.ensure_future(run.wait())
    while ACTIVE["now"] < 3:
        await asyncio.sleep(0.005)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    await asyncio.sleep(0)
    assert run.result is not None and run.result.status == "cancelled"
    assert ACTIVE["now"] == 0


async def test_a_run_in_the_callers_task_cancels_like_a_task_of_its_own_and_gives_the_task_back(tmp_path):
    """run_here (a served request runs its flow in its own task): cancel() stops every
    in-flight node and the run ends "cancelled" and returns; the calling task is not left
    cancelled, and a cancel() after the run's end does not touch it."""
    f = _wide_slow_flow()
    before = asyncio.all_tasks()
    run = start_run(f.model, RunOptions(inputs={"x": list(range(5))}, concurrency=0, trace=tmp_path / "t.jsonl"))
    ran = asyncio.Event()

    async def caller():
        result = await run.run_here()
        ran.set()
        await asyncio.sleep(0.05)  # the request answering: must not be cancelled now
        return result, asyncio.current_task().cancelling()

    task = asyncio.ensure_future(caller())
    while ACTIVE["now"] < 6:
        await asyncio.sleep(0.005)
    assert run.start() is task  # no task of its own: the run is in the caller's
    run.cancel()
    run.cancel()  # twice: still one cancellation, and it is taken back once
    await ran.wait()
    run.cancel()  # the run is over: a no-op, even though its task goes on
    result, cancelling = await task
    assert result.status == "cancelled" and cancelling == 0
    assert ACTIVE["now"] == 0 and not _finished_sleepers(result)
    left = asyncio.all_tasks() - before - {asyncio.current_task()}
    assert not left, f"tasks left behind: {left}"
    events = read_trace((tmp_path / "t.jsonl").read_text().splitlines())
    assert events[-1].type == "run_cancelled"


async def test_a_run_cancelled_before_it_starts_starts_cancelled(tmp_path):
    """Stop pressed while the front door still warms up (litellm's import): the run is
    recorded as stopped -- started, then cancelled -- and no node runs."""
    f = _wide_slow_flow()
    CALLS.clear()
    run = start_run(f.model, RunOptions(inputs={"x": [1, 2]}, concurrency=0, trace=tmp_path / "t.jsonl"))
    run.cancel()
    result = await run.wait()
    assert result.status == "cancelled"
    assert not CALLS and ACTIVE["now"] == 0
    events = read_trace((tmp_path / "t.jsonl").read_text().splitlines())
    assert [e.type for e in events] == ["run_started", "run_cancelled"]


async def test_a_failure_cancels_the_siblings_at_once():
    f = Flow()
    f.io("any")
    f.node("slow", "t_sleep", ms=5000)
    f.node("bad", "t_flaky", fail_times=9, retryable=False)
    f.node("j", "template", template="{{ a }}{{ b }}")
    f.wire("inp.value", "slow.x")
    f.wire("inp.value", "bad.x")
    f.wire("slow.x", "j.a")
    f.wire("bad.x", "j.b")
    f.wire("j.text", "out.value")
    result, events = await f.run_events(inputs={"x": 1})
    assert result.status == "failed" and result.error_node == "bad"
    assert ACTIVE["now"] == 0  # the 5 s sibling was cancelled, not waited for
    assert not [e for e in events if e.node == "slow" and e.type == "node_finished"]
    assert result.results[("slow", ())].status == "running"  # cut off mid-run


def _pinned_flow(tag: str = "v1") -> Flow:
    f = Flow()
    f.io("any")
    f.node("expensive", "t_paid", usd=0.2)
    f.node("middle", "t_math", op="tag", by=tag)
    f.node("last", "t_math", op="tag", by="last")
    f.chain("inp.value", "expensive.x")
    f.wire("expensive.x", "middle.x")
    f.wire("middle.x", "last.x")
    f.wire("last.x", "out.value")
    return f


async def test_pinned_outputs_reuse_upstream_and_rerun_from_a_node():
    f = _pinned_flow()
    first, events = await f.run_events(inputs={"x": "q"})
    assert first.ok and CALLS == {"expensive": 1, "middle": 1, "last": 1}
    pinned = {
        e.node: {"outputs": e.data["outputs"], "cache_key": e.data["cache_key"]}
        for e in events if e.type == "node_finished" and e.node in ("inp", "expensive")
    }
    # "run from middle": upstream of it comes from the last run; nothing upstream is paid again
    second, events2 = await f.run_events(inputs={"x": "q"}, pinned=pinned)
    assert second.outputs == first.outputs
    assert CALLS == {"expensive": 1, "middle": 2, "last": 2}
    assert second.totals["cost_usd"] == 0
    cached = [e.node for e in events2 if e.type == "node_finished" and e.data.get("cached")]
    assert cached == ["inp", "expensive"]


async def test_pinned_output_is_not_reused_when_its_inputs_changed():
    f = _pinned_flow()
    _, events = await f.run_events(inputs={"x": "q"}, pinned={"expensive": {"outputs": {"x": "stale"}, "cache_key": "0" * 32}})
    assert CALLS["expensive"] == 1  # key mismatch: it ran again
    keyed = next(e for e in events if e.type == "node_finished" and e.node == "expensive")
    assert keyed.data["cached"] is False


async def test_cache_key_changes_with_params_and_inputs():
    f = _pinned_flow()
    _, a = await f.run_events(inputs={"x": "q"}, pinned={"middle": {"outputs": {"x": "zzz"}, "cache_key": "x"}})
    _, b = await f.run_events(inputs={"x": "other"}, pinned={"middle": {"outputs": {"x": "zzz"}, "cache_key": "x"}})
    ka = next(e.data["cache_key"] for e in a if e.type == "node_finished" and e.node == "middle")
    kb = next(e.data["cache_key"] for e in b if e.type == "node_finished" and e.node == "middle")
    g = _pinned_flow(tag="v2")
    _, c = await g.run_events(inputs={"x": "q"}, pinned={"middle": {"outputs": {"x": "zzz"}, "cache_key": "x"}})
    kc = next(e.data["cache_key"] for e in c if e.type == "node_finished" and e.node == "middle")
    assert len({ka, kb, kc}) == 3


async def test_trace_replays_event_for_event(tmp_path):
    f = Flow()
    f.io("list")
    f.node("fo", "fanout", concurrency=2, on_item_error="keep")
    f.node("work", "t_flaky", fail_times=1, fail_when=2, retryable=False)
    f.node("col", "collect")
    f.wire("inp.value", "fo.items")
    f.wire("fo.item", "work.x")
    f.wire("work.x", "col.item")
    f.wire("col.results", "out.value")
    trace = tmp_path / "run.jsonl"
    run = start_run(f.model, RunOptions(inputs={"x": [1, 2, 3]}, trace=trace))
    live = [e async for e in run.events()]
    replayed = read_trace(trace.read_text(encoding="utf-8").splitlines())
    assert [e.to_json() for e in replayed] == [e.to_json() for e in live]
    assert [(e.type, e.node, e.scope) for e in replayed] == [(e.type, e.node, e.scope) for e in live]
    assert len(live) > 10


async def test_default_trace_location_is_per_flow_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "profile"))
    f = Flow("Meeting Notes")
    f.io("any")
    f.wire("inp.value", "out.value")
    result = await f.run(inputs={"x": 1}, trace=True)
    assert result.trace_path.parent == tmp_path / "profile" / "traces" / "meeting-notes"
    lines = result.trace_path.read_text().splitlines()
    assert json.loads(lines[0])["type"] == "run_started" and json.loads(lines[-1])["type"] == "run_finished"


async def test_secrets_are_redacted_from_traces(tmp_path):
    secret = "sk" "-test-1234567890abcdef"
    f = Flow()
    f.io("any")
    f.node("echo", "template", template="key is {{ k }}")
    f.wire("inp.value", "echo.k")
    f.wire("echo.text", "out.value")
    trace = tmp_path / "t.jsonl"
    result = await f.run(inputs={"x": secret}, trace=trace, secrets=[secret])
    assert result.ok
    text = trace.read_text()
    assert secret not in text and "[redacted]" in text


async def test_subflow_runs_another_flow_file_with_its_ports(tmp_path):
    sub = Flow("shout")
    sub.node("inp", "input", name="text", type="text")
    sub.node("up", "template", template="{{ t | upper }}!")
    sub.node("out", "output", name="loud")
    sub.wire("inp.value", "up.t")
    sub.wire("up.text", "out.value")
    save_flow(sub.model, tmp_path / "shout.flow.json")
    f = Flow("main")
    f.model.base_dir = tmp_path
    f.io("text")
    f.node("call", "subflow", path="shout.flow.json")
    f.wire("inp.value", "call.text")
    f.wire("call.loud", "out.value")
    result, events = await f.run_events(inputs={"x": "hi"})
    assert result.ok, result.error
    assert result.outputs == {"result": "HI!"}
    inner = [e for e in events if e.node == "up" and e.type == "node_finished"]
    assert inner and inner[0].scope == (("call", 0),)


def test_cache_key_encoding_is_stable_and_takes_what_orjson_refuses():
    """Cache keys hash ``events.stable_json``: key order does not matter, SKIP and values
    orjson refuses (a huge integer, a lone surrogate) still encode, and differ from others."""
    from studio.core.catalogue.types import SKIP
    from studio.core.running.events import stable_json

    assert stable_json({"b": 1, "a": [1, {"y": 2, "x": 3}]}) == stable_json({"a": [1, {"x": 3, "y": 2}], "b": 1})
    assert stable_json({"v": SKIP}) != stable_json({"v": None})
    assert stable_json({"n": 2 ** 70}) != stable_json({"n": 2 ** 70 + 1})
    assert stable_json({"t": "\ud800"}) != stable_json({"t": "\ud801"})
