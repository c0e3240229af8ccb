"""Parameters are resolved once against the schema: a file that omits a param behaves
exactly as one that spells out the declared default (issue: one source of truth)."""

from __future__ import annotations

import json

import pytest

from studio.core.catalogue.params import StepPolicy, step_policy
from studio.core.catalogue.registry import default_registry
from studio.core.document.flowfile import loads
from studio.core.running.executor import RunOptions, run_flow
from studio.core.running.plan import compile_plan
from support.mock_openai import Reply

REGISTRY = default_registry()


def _types():
    return sorted(nt.type_id for nt in REGISTRY.types() if nt.kind != "placeholder")


def _doc(type_id: str, params: dict) -> str:
    node = {"id": "n", "type": type_id}
    if params:
        node["params"] = params
    return json.dumps({"format": "orchestra-flow", "version": 1, "name": "p", "nodes": [node], "edges": []})


@pytest.mark.parametrize("type_id", _types())
def test_omitting_any_param_equals_spelling_out_its_default(type_id):
    nt = REGISTRY.get(type_id)
    spelled = nt.default_params()
    full = loads(_doc(type_id, spelled), registry=REGISTRY)
    for p in nt.params:
        partial = {k: v for k, v in spelled.items() if k != p.name}
        model = loads(_doc(type_id, partial), registry=REGISTRY)
        assert "n" in model.nodes and p.name not in model.nodes["n"].params  # the file really omits it
        assert model.params("n") == full.params("n"), p.name
        assert model.resolution("n").problems == full.resolution("n").problems, p.name
        assert list(model.input_ports("n")) == list(full.input_ports("n")), p.name
        assert list(model.output_ports("n")) == list(full.output_ports("n")), p.name
        assert step_policy(model.params("n")) == step_policy(full.params("n")), p.name
    # and a file with no params at all
    bare = loads(_doc(type_id, {}), registry=REGISTRY)
    assert bare.params("n") == full.params("n")


def test_the_declared_step_policy_reaches_the_plan_when_the_file_omits_it():
    text = json.dumps({"format": "orchestra-flow", "version": 1, "name": "p",
                       "nodes": [{"id": "q", "type": "input"}, {"id": "ask", "type": "llm"}, {"id": "out", "type": "output"}],
                       "edges": [{"from": "q.value", "to": "ask.input"}, {"from": "ask.text", "to": "out.value"}]})
    plan = compile_plan(loads(text, registry=REGISTRY))
    assert plan.nodes["ask"].policy == StepPolicy(timeout_s=60.0, retries=2, backoff_s=1.0)
    assert plan.nodes["ask"].params["mock_per"] == "iteration" and plan.nodes["ask"].params["stream"] is True
    assert plan.nodes["q"].policy == StepPolicy()  # an Input has no step policy of its own


def _llm_flow(policy: dict | None = None) -> str:
    llm = {"id": "ask", "type": "llm", "params": {"model": "openai/gpt-4o-mini", **(policy or {})}}
    return json.dumps({"format": "orchestra-flow", "version": 1, "name": "p",
                       "nodes": [{"id": "q", "type": "input"}, llm, {"id": "out", "type": "output"}],
                       "edges": [{"from": "q.value", "to": "ask.input"}, {"from": "ask.text", "to": "out.value"}]})


async def test_a_file_without_policy_params_retries_a_429_by_default(mock_openai, tmp_path):
    mock_openai.enqueue(Reply.rate_limited(retry_after=0.05), Reply.text("fine"))
    model = loads(_llm_flow(), registry=REGISTRY)
    result = await run_flow(model, RunOptions(inputs={"input": "hello"}, trace=tmp_path / "t.jsonl",
                                              settings={"api_base": mock_openai.base_url}))
    assert result.ok, result.error
    assert result.outputs == {"output": "fine"}
    assert mock_openai.count == 2
    assert result.results[("ask", ())].attempts == 2


async def test_a_hung_server_fails_the_node_after_its_timeout_and_retries(mock_openai, tmp_path):
    mock_openai.enqueue(Reply.hanging(), Reply.hanging())
    model = loads(_llm_flow({"timeout_s": 0.3, "retries": 1, "retry_backoff_s": 0}), registry=REGISTRY)
    result = await run_flow(model, RunOptions(inputs={"input": "hello"}, trace=tmp_path / "t.jsonl",
                                              settings={"api_base": mock_openai.base_url}))
    assert result.status == "failed"
    assert result.results[("ask", ())].attempts == 2
    assert mock_openai.count == 2
    assert "0.3 s" in result.error and "timeout" in result.error
