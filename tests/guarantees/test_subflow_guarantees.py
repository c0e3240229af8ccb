"""Subflows: another flow file as one step, and the guard against a file that includes itself."""

from __future__ import annotations

from studio.core.running.plan import FlowInvalid

import pytest

import json

from studio.core.document.flowfile import load_flow
from studio.core.running.executor import MAX_SUBFLOW_DEPTH
from tests.guarantees.kinds import document, of_type, registry, run


def _write(path, nodes, edges, name):
    path.write_text(json.dumps(document(nodes, edges, name)), encoding="utf-8")


async def test_a_flow_that_includes_itself_is_refused_up_front_with_the_chain(tmp_path):
    """Validation finds the recursion before anything runs (the engine's depth guard,
    MAX_SUBFLOW_DEPTH, stays as a second line for a file changed during a run)."""
    _write(tmp_path / "again.flow.json",
           {"inp": ("input", {"name": "x", "type": "any"}), "me": ("subflow", {"path": "again.flow.json"}),
            "out": ("output", {"name": "y"})},
           ["inp.value -> me.x", "me.y -> out.value"], "again")
    model = load_flow(tmp_path / "again.flow.json", registry=registry())
    with pytest.raises(FlowInvalid) as info:
        await run(model, inputs={"x": 1})
    assert "again.flow.json → again.flow.json" in str(info.value)
    assert MAX_SUBFLOW_DEPTH == 16


async def test_two_files_that_include_each_other_are_refused_up_front(tmp_path):
    for me, other in (("ping", "pong"), ("pong", "ping")):
        _write(tmp_path / f"{me}.flow.json",
               {"inp": ("input", {"name": "x", "type": "any"}), "call": ("subflow", {"path": f"{other}.flow.json"}),
                "out": ("output", {"name": "y"})},
               ["inp.value -> call.x", "call.y -> out.value"], me)
    model = load_flow(tmp_path / "ping.flow.json", registry=registry())
    with pytest.raises(FlowInvalid) as info:
        await run(model, inputs={"x": 1})
    assert "ping.flow.json → pong.flow.json → ping.flow.json" in str(info.value)


async def test_subflows_nested_within_the_limit_run(tmp_path):
    _write(tmp_path / "leaf.flow.json",
           {"inp": ("input", {"name": "x", "type": "any"}), "t": ("template", {"template": "<{{ v }}>"}),
            "out": ("output", {"name": "y"})},
           ["inp.value -> t.v", "t.text -> out.value"], "leaf")
    for level in range(1, 4):
        inner = "leaf" if level == 1 else f"wrap{level - 1}"
        _write(tmp_path / f"wrap{level}.flow.json",
               {"inp": ("input", {"name": "x", "type": "any"}), "call": ("subflow", {"path": f"{inner}.flow.json"}),
                "t": ("template", {"template": "[{{ v }}]"}), "out": ("output", {"name": "y"})},
               ["inp.value -> call.x", "call.y -> t.v", "t.text -> out.value"], f"wrap{level}")
    model = load_flow(tmp_path / "wrap3.flow.json", registry=registry())
    result, events = await run(model, inputs={"x": "a"})
    assert result.ok, result.error
    assert result.outputs == {"y": "[[[<a>]]]"}
    [leaf] = [e for e in of_type(events, "node_finished", "t") if len(e.scope) == 3]
    assert leaf.scope == (("call", 0), ("call", 0), ("call", 0))


async def test_a_loop_inside_a_subflow_knows_its_iteration(tmp_path):
    # an LLM's mock responses are picked per loop iteration: the third pass answers "three"
    _write(tmp_path / "inner.flow.json",
           {"inp": ("input", {"name": "x", "type": "any"}), "lp": ("loop", {"max_iterations": 3}),
            "ask": ("llm", {"model": "gpt-4o-mini", "prompt": "{{ v }}", "mock_responses": ["one", "two", "three"]}),
            "out": ("output", {"name": "y"})},
           ["inp.value -> lp.initial", "lp.current -> ask.v", "ask.text -> lp.feedback", "lp.done -> out.value"],
           "inner")
    _write(tmp_path / "outer.flow.json",
           {"inp": ("input", {"name": "x", "type": "any"}), "call": ("subflow", {"path": "inner.flow.json"}),
            "out": ("output", {"name": "y"})},
           ["inp.value -> call.x", "call.y -> out.value"], "outer")
    model = load_flow(tmp_path / "outer.flow.json", registry=registry())
    result, events = await run(model, inputs={"x": "go"}, mock=True)
    assert result.ok, result.error
    assert result.outputs == {"y": "three"}
    answers = [e.data["outputs"]["text"] for e in of_type(events, "node_finished", "ask")]
    assert answers == ["one", "two", "three"]


async def test_a_subflow_file_edited_during_a_run_does_not_change_that_run(tmp_path):
    def leaf(mark: str):
        _write(tmp_path / "leaf.flow.json",
               {"inp": ("input", {"name": "x", "type": "any"}), "t": ("template", {"template": mark + "{{ v }}"}),
                "out": ("output", {"name": "y"})},
               ["inp.value -> t.v", "t.text -> out.value"], "leaf")

    leaf("old:")
    _write(tmp_path / "main.flow.json",
           {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {"concurrency": 1}),
            "call": ("subflow", {"path": "leaf.flow.json"}), "co": ("collect", {}), "out": ("output", {"name": "r"})},
           ["inp.value -> fo.items", "fo.item -> call.x", "call.y -> co.item", "co.results -> out.value"], "main")
    from studio.core.running.executor import RunOptions, start_run

    r = start_run(load_flow(tmp_path / "main.flow.json", registry=registry()), RunOptions(inputs={"items": [1, 2]}, trace=None))
    # the first item's subflow has finished: someone saves a new version of the file
    r.add_listener(lambda e: leaf("new:") if e.type == "node_finished" and e.node == "call" else None)
    await r.wait()
    assert r.result.ok, r.result.error
    assert r.result.outputs == {"r": ["old:1", "old:2"]}


async def test_a_subflow_with_a_skipped_input_is_skipped_and_its_error_port_is_skip_on_success(tmp_path):
    _write(tmp_path / "leaf.flow.json",
           {"inp": ("input", {"name": "x", "type": "any"}), "t": ("template", {"template": "<{{ v }}>"}),
            "out": ("output", {"name": "y"})},
           ["inp.value -> t.v", "t.text -> out.value"], "leaf")
    _write(tmp_path / "main.flow.json",
           {"inp": ("input", {"name": "x", "type": "any"}),
            "route": ("branch", {"cases": [{"name": "go", "when": "value > 0"}]}),
            "call": ("subflow", {"path": "leaf.flow.json"}), "handler": ("template", {"template": "failed {{ e }}"}),
            "out": ("output", {"name": "y"}), "err": ("output", {"name": "error"})},
           ["inp.value -> route.value", "route.go -> call.x", "call.y -> out.value", "call.error -> handler.e",
            "handler.text -> err.value"], "main")
    model = load_flow(tmp_path / "main.flow.json", registry=registry())
    ok, events = await run(model, inputs={"x": 2})
    assert ok.ok and ok.outputs == {"y": "<2>"}
    assert of_type(events, "node_skipped", "handler")
    skipped, events = await run(model, inputs={"x": -2})
    assert skipped.ok and skipped.outputs == {}
    assert of_type(events, "node_skipped", "call") and not of_type(events, "node_started", "t")


def _chain(folder, levels):
    """``levels`` subflow steps nested in each other (top.flow.json calls l1 calls l2 ...)."""
    folder.mkdir()
    _write(folder / f"l{levels}.flow.json",
           {"inp": ("input", {"name": "x", "type": "any"}), "out": ("output", {"name": "y"})},
           ["inp.value -> out.value"], "leaf")
    for level in range(levels - 1, -1, -1):
        name = "top" if level == 0 else f"l{level}"
        _write(folder / f"{name}.flow.json",
               {"inp": ("input", {"name": "x", "type": "any"}), "call": ("subflow", {"path": f"l{level + 1}.flow.json"}),
                "out": ("output", {"name": "y"})},
               ["inp.value -> call.x", "call.y -> out.value"], name)
    return load_flow(folder / "top.flow.json", registry=registry())


async def test_the_engine_depth_guard_runs_max_subflow_depth_levels_and_stops_the_next(tmp_path):
    """The second line behind validation (which a file changed during a run gets past):
    checked here on a plan compiled without validation."""
    from studio.core.running.plan import compile_plan

    result, _ = await run(compile_plan(_chain(tmp_path / "ok", MAX_SUBFLOW_DEPTH), check=False), inputs={"x": "a"})
    assert result.ok and result.outputs == {"y": "a"}, result.error
    result, _ = await run(compile_plan(_chain(tmp_path / "deep", MAX_SUBFLOW_DEPTH + 1), check=False), inputs={"x": "a"})
    assert result.status == "failed"
    assert "subflows nested more than 16 deep (does a subflow include itself?)" in result.error
