"""The assistant example and flow tests' conversation form."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.document.flowfile import dumps, load_flow, model_from_document
from studio.core.document.interface import chat_interface
from studio.core.document.validation import validate
from studio.core.running.executor import RunOptions, run_flow
from studio.core.running.plan import compile_plan
from studio.core.sharing.flowtests import cases_of, run_case
from studio.core.userdata.conversations import open_store, store_path

ROOT = Path(__file__).resolve().parents[2]
ASSISTANT = ROOT / "projects" / "assistant.flow.json"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "data"


def test_validates_clean_and_saves_byte_for_byte():
    model = load_flow(ASSISTANT)
    assert [p for p in validate(model) if p.is_error or p.severity == "warning"] == []
    assert dumps(model) == ASSISTANT.read_text(encoding="utf-8")
    doc = json.loads(ASSISTANT.read_text())
    assert doc["chat"] == {"input": "message", "output": "reply"}
    assert {n["type"] for n in doc["nodes"]} >= {"memory", "memory_save", "agent", "guardrail"}


def test_its_conversation_test_passes_through_orchestra_test(data_dir):
    import os

    env = {**os.environ, "ORCHESTRA_DATA_DIR": str(data_dir), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    out = subprocess.run([sys.executable, "-m", "studio.cli", "test", str(ASSISTANT), "--mock"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert '✓ turn 3: reply contains "closing the Acme workspace next week"' in out.stdout
    assert "1 passed, 0 failed" in out.stdout
    # the test's session was its own and is gone: nothing left in the user's history
    store = store_path("support-assistant")
    assert not store.exists() or open_store("support-assistant").sessions() == []


async def test_a_conversation_case_reports_the_turn_that_fails():
    model = load_flow(ASSISTANT)
    plan = compile_plan(model)
    case = copy.deepcopy(cases_of(model.meta)[0])
    case["conversation"][2]["expect"] = [{"output": "reply", "contains": "Bob"}]
    result = await run_case(plan, case)
    assert not result.ok
    failed = [c.message for c in result.checks if not c.ok]
    assert failed == ['turn 3: reply does not contain "Bob"']
    assert result.cost_usd > 0
    # a turn order mistake shows: the third mock answer needs two earlier turns
    short = {"name": "one turn", "conversation": [case["conversation"][2]]}
    short["conversation"][0]["expect"] = [{"output": "reply", "contains": "Priya, you said"}]
    assert not (await run_case(plan, short)).ok


async def test_a_conversation_case_with_a_bad_turn_or_no_say_target():
    model = load_flow(ASSISTANT)
    plan = compile_plan(model)
    result = await run_case(plan, {"name": "bad", "conversation": ["not a turn"]})
    assert not result.ok and "a turn is an object" in result.checks[0].message
    assert not (await run_case(plan, {"name": "empty", "conversation": []})).ok


async def test_three_turns_against_the_loopback_server_carry_the_first_turn(mock_openai):
    doc = json.loads(ASSISTANT.read_text())
    for node in doc["nodes"]:
        if node["id"] == "assistant":
            node["params"].update(model="openai/gpt-4o-mini", api_base=mock_openai.base_url, timeout_s=120)
    model = model_from_document(doc, base_dir=ASSISTANT.parent)
    iface = chat_interface(model)
    case = cases_of(model.meta)[0]
    for turn in case["conversation"]:
        result = await run_flow(model, RunOptions(inputs=iface.run_inputs(turn["say"]), trace=False,
                                                  settings=iface.run_settings("live")))
        assert result.ok, result.error
    sent = mock_openai.requests[-1].body["messages"]
    assert sent[0]["role"] == "system" and "research_assistant/docs" in sent[0]["content"]
    assert sent[1] == {"role": "user", "content": case["conversation"][0]["say"]}
    assert sent[-1] == {"role": "user", "content": case["conversation"][2]["say"]}
    assert len(mock_openai.requests[-1].body["tools"]) == 2  # search_files and read_file


async def test_the_agent_takes_a_conversation_as_its_messages(mock_openai):
    from nodes.agent import AgentNode
    from support.context import make_ctx

    history = [{"role": "user", "content": "I am Ada."}, {"role": "assistant", "content": "Hello Ada."}]
    ctx, _ = make_ctx(AgentNode, {"model": "openai/gpt-4o-mini", "tools": [], "system": "Be brief.", "timeout_s": 120},
                      {"task": "Who am I?", "messages": history}, settings={"api_base": mock_openai.base_url})
    out = await AgentNode().run(ctx)
    assert mock_openai.requests[0].body["messages"] == [{"role": "system", "content": "Be brief."}, *history,
                                                        {"role": "user", "content": "Who am I?"}]
    assert out["transcript"][1:3] == history
