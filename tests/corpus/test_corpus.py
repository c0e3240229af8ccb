"""Flows as users write them: hand-written files naming only the params they need.

Every file in tests/corpus/flows/ is loaded from disk, validated and run. A file that
omits a param must behave exactly as with the schema's declared default (DESIGN §5):
an LLM node written as ``{"id": "ask", "type": "llm"}`` gets the default timeout and
retries, so a provider's 429 followed by a 200 is a success, not a failed run.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from studio.core.catalogue.context import ApprovalDecision
from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.registry import Registry, default_registry
from studio.core.catalogue.types import PortType
from studio.core.document.flowfile import load_flow
from studio.core.document.validation import validate
from studio.core.running.executor import RunOptions, start_run
from studio.core.running.plan import FlowInvalid
from support.mock_openai import Reply

FLOWS = Path(__file__).parent / "flows"
BUILT_IN = sorted(t.type_id for t in default_registry().types())


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(tmp_path / "config"))


async def run_file(path: Path, inputs: dict[str, Any], registry: Registry | None = None, **options: Any):
    async def approve(req):
        return ApprovalDecision("approve", req.value, by="test")

    model = load_flow(path, registry=registry)
    errors = [p for p in validate(model) if p.is_error]
    assert not errors, f"{path.name}: validation refuses a file users write: {errors}"
    options.setdefault("trace", None)
    run = start_run(model, RunOptions(inputs=inputs, approval_handler=approve, **options))
    events = [e async for e in run.events()]
    return run.result, events


def test_every_built_in_node_type_has_a_corpus_file():
    assert sorted(p.name.removesuffix(".flow.json") for p in FLOWS.glob("*.flow.json")) == BUILT_IN


def test_each_corpus_file_names_only_required_params():
    for path in FLOWS.glob("*.flow.json"):
        doc = json.loads(path.read_text())
        node_type = path.name.removesuffix(".flow.json")
        for node in doc["nodes"]:
            if node["type"] != node_type:
                continue
            nt = default_registry().get(node_type)
            required = {p.name for p in nt.params if p.required}
            assert set(node.get("params", {})) <= required, f"{path.name}: {node['id']} names optional params"


# (file, inputs, expected outputs) for the files that run without a model
OFFLINE = [
    ("input", {"x": "hello"}, {"result": "hello"}),
    ("output", {"x": "hello"}, {"result": "hello"}),
    ("template", {"x": "hi there"}, {"result": "hi there"}),
    ("guardrail", {"x": "any text at all"}, {"result": "any text at all"}),
    ("branch", {"x": "something"}, {"yes": "something"}),
    ("merge", {"x": "a"}, {"result": "a"}),
    ("loop", {"x": "s"}, {"result": "s+++"}),
    ("fanout", {"x": ["a", "b", "c"]}, {"result": ["<a>", "<b>", "<c>"]}),
    ("collect", {"x": [3, 1, 2]}, {"result": [3, 1, 2], "errors": []}),
    ("approval", {"x": "send it"}, {"result": "send it"}),
    ("delay", {"x": "later"}, {"result": "later"}),
    ("tool", {"x": "2 + 3 * 4"}, {"result": 14}),
    ("subflow", {"x": "inner"}, {"result": "inner"}),
    ("memory_save", {"x": "remember me"}, {"result": "remember me"}),
    ("memory", {}, {"result": 0}),
]


@pytest.mark.parametrize("name, inputs, expected", OFFLINE, ids=[c[0] for c in OFFLINE])
async def test_a_hand_written_file_runs_with_its_defaults(name, inputs, expected):
    result, events = await run_file(FLOWS / f"{name}.flow.json", inputs)
    assert result.ok, f"{name}: {result.error}"
    assert result.outputs == expected


async def test_the_branch_file_routes_a_falsy_value_to_default():
    result, _ = await run_file(FLOWS / "branch.flow.json", {"x": ""})
    assert result.ok and result.outputs == {"no": ""}


async def test_a_loop_file_runs_to_its_cap_and_says_so():
    result, events = await run_file(FLOWS / "loop.flow.json", {"x": "s"})
    [done] = [e for e in events if e.type == "node_finished" and e.node == "lp"]
    assert done.data["outputs"]["iterations"] == 3 and done.data["outputs"]["capped"] is True


async def test_a_loop_written_without_max_iterations_is_refused_before_it_runs_or_stops_at_the_default(tmp_path):
    """max_iterations is required: validation may refuse the file (naming it) or the run
    must stop at the declared default (5). What it may not do is accept it and then fail."""
    doc = json.loads((FLOWS / "loop.flow.json").read_text())
    for node in doc["nodes"]:
        if node["type"] == "loop":
            node.pop("params", None)
    path = tmp_path / "loop.flow.json"
    path.write_text(json.dumps(doc))
    model = load_flow(path)
    errors = [p for p in validate(model) if p.is_error]
    if errors:
        assert [(p.node, "max_iterations" in p.message + p.hint) for p in errors] == [("lp", True)]
        with pytest.raises(FlowInvalid):
            start_run(model, RunOptions(inputs={"x": "s"}, trace=None))
    else:
        result, _ = await run_file(path, {"x": "s"})
        assert result.ok, result.error
        assert result.outputs == {"result": "s+++++"}


async def test_the_fanout_file_refuses_more_than_the_default_max_items():
    result, _ = await run_file(FLOWS / "fanout.flow.json", {"x": list(range(1001))})
    assert result.status == "failed" and "exceed max_items (1000)" in result.error


async def test_the_fanout_file_runs_at_most_the_default_eight_items_at_once(mock_openai, tmp_path):
    # an LLM per item (no params either) against a slow server: it sees at most 8 at once
    doc = json.loads((FLOWS / "fanout.flow.json").read_text())
    doc["nodes"] = [n if n["id"] != "t" else {"id": "t", "type": "llm"} for n in doc["nodes"]]
    doc["edges"] = [e if e["to"] != "t.v" else {"from": "fo.item", "to": "t.input"} for e in doc["edges"]]
    mock_openai.latency = 0.05
    path = tmp_path / "fanout_llm.flow.json"
    path.write_text(json.dumps(doc))
    result, _ = await run_file(path, {"x": [str(i) for i in range(20)]}, settings={"api_base": mock_openai.base_url})
    assert result.ok, result.error
    assert mock_openai.count == 20 and mock_openai.max_in_flight == 8


async def test_the_llm_file_runs_in_mock_mode():
    result, events = await run_file(FLOWS / "llm.flow.json", {"x": "hello"}, mock=True)
    assert result.ok, result.error
    assert isinstance(result.outputs["result"], str) and result.outputs["result"]


async def test_the_llm_file_survives_a_429_with_its_default_retries(mock_openai):
    mock_openai.enqueue(Reply.rate_limited(retry_after=0.01), "the answer")
    result, events = await run_file(FLOWS / "llm.flow.json", {"x": "hello"}, settings={"api_base": mock_openai.base_url})
    assert result.ok, f"a file that omits 'retries' must retry as the schema's default says: {result.error}"
    assert result.outputs == {"result": "the answer"}
    assert mock_openai.count == 2


async def test_the_llm_file_retries_exactly_the_default_two_times(mock_openai):
    mock_openai.enqueue(*[Reply.rate_limited(retry_after=0.01)] * 3, "too late")
    result, events = await run_file(FLOWS / "llm.flow.json", {"x": "hello"}, settings={"api_base": mock_openai.base_url})
    assert result.status == "failed" and result.error_node == "ask"
    assert mock_openai.count == 3  # one attempt and the two default retries


async def test_the_agent_file_calls_its_default_tool_through_a_429(mock_openai):
    mock_openai.enqueue(Reply.rate_limited(retry_after=0.01), Reply.tools(("calculator", {"expression": "6*7"})), "42")
    result, events = await run_file(FLOWS / "agent.flow.json", {"x": "what is six times seven?"},
                                    settings={"api_base": mock_openai.base_url})
    assert result.ok, result.error
    assert result.outputs == {"result": "42"}
    tool_reply = mock_openai.requests[-1].body["messages"][-1]
    assert tool_reply["role"] == "tool" and "42" in str(tool_reply["content"])


class SlowPlugin(NodeType):
    """A plugin whose schema declares a short timeout and one retry by default."""

    type_id = "corpus_slow"
    title = "Slow plugin"
    inputs = (Port("x", PortType.ANY, required=False, default=None),)
    outputs = (Port("y", PortType.ANY),)
    params = (Param("timeout_s", "number", 0.05), Param("retries", "integer", 1), Param("retry_backoff_s", "number", 0.01))
    attempts: list[int] = []

    async def run(self, ctx):
        SlowPlugin.attempts.append(ctx.attempt)
        await asyncio.sleep(3600)
        return {"y": None}  # pragma: no cover


async def test_a_plugin_schema_default_timeout_and_retries_reach_the_run(tmp_path):
    SlowPlugin.attempts = []
    reg = Registry(default_registry().types())
    reg.register(SlowPlugin)
    path = tmp_path / "plugin.flow.json"
    path.write_text(json.dumps({"format": "orchestra-flow", "version": 1, "name": "plugin",
                                "nodes": [{"id": "slow", "type": "corpus_slow"}], "edges": []}))
    result, events = await asyncio.wait_for(run_file(path, {}, registry=reg), 20)
    assert result.status == "failed" and "timeout" in result.error
    assert SlowPlugin.attempts == [1, 2]


# -- the example projects, read from projects/ as shipped -------------------------------------

EXAMPLES = ["meeting_notes", "research_assistant", "support_router", "code_fixer", "research_report", "safe_email"]
REPO_PROJECTS = Path(__file__).resolve().parents[2] / "projects"


@pytest.fixture
def projects(tmp_path) -> Path:
    target = tmp_path / "projects"
    shutil.copytree(REPO_PROJECTS, target, ignore=shutil.ignore_patterns("outbox", "__pycache__"))
    return target


@pytest.mark.parametrize("name", [*EXAMPLES, "hello"])
async def test_each_example_runs_from_disk_in_mock_mode(name, projects):
    result, events = await run_file(projects / f"{name}.flow.json", {}, mock=True)
    assert result.ok, f"{name}: {result.error}"
    assert result.outputs


@pytest.mark.parametrize("name", EXAMPLES)
async def test_each_example_rides_out_a_429_on_every_first_call(name, projects, mock_openai):
    """The shipped examples omit 'retries': each call must still survive one rate limit."""
    from tests.projects.test_examples import _replies_from_the_flows

    answer = _replies_from_the_flows(projects)
    seen: set[str] = set()

    def reply(req):
        key = json.dumps(req.body["messages"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            return Reply.rate_limited(retry_after=0.01)
        return answer(req)

    mock_openai.on_model("gpt-4o-mini", reply)
    expected, _ = await run_file(projects / f"{name}.flow.json", {}, mock=True)
    real, events = await run_file(projects / f"{name}.flow.json", {}, settings={"api_base": mock_openai.base_url})
    assert real.ok, f"{name} has no retries where the schema promises two: {real.error}"
    assert real.outputs == expected.outputs
    retried = [e for e in events if e.type == "node_failed" and e.data.get("will_retry")]
    assert retried, "no call met a 429: this test would prove nothing"
