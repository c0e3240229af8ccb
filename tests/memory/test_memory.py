"""Memory and Remember nodes in real runs: persistence across processes, sessions, windows,
summaries (mock and loopback server), concurrent turns, broken databases, redaction."""

from __future__ import annotations

from studio.core.document.interface import flow_key

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.document.flowfile import model_from_document
from studio.core.document.interface import chat_interface
from studio.core.running.executor import RunOptions, run_flow
from studio.core.userdata.conversations import ConversationStore, open_store, store_path
from support.mock_openai import Reply

sys.path.insert(0, str(Path(__file__).parent))
from chatflows import memory_flow, memory_flow_doc  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai/gpt-4o-mini"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(folder))
    return folder


async def turn(model, message, session="s1", mock=True, **opts):
    iface = chat_interface(model)
    assert iface is not None
    result = await run_flow(model, RunOptions(inputs=iface.run_inputs(message), mock=mock,
                                              settings=iface.run_settings(session, opts.pop("settings", None)),
                                              trace=opts.pop("trace", False), **opts))
    return result


def stored(model, session="s1", memory="chat"):
    iface = chat_interface(model)
    return [(m.role, m.content) for m in open_store(iface.flow_key).messages(session, memory)]


def loopback_flow(server, memory=None, **llm):
    return memory_flow(memory=memory, llm={"model": MODEL, "api_base": server.base_url, "timeout_s": 120, **llm})


async def test_the_model_sees_earlier_turns_and_the_store_keeps_them(mock_openai):
    model = loopback_flow(mock_openai)
    r1 = await turn(model, "My order number is 4417.", mock=False)
    r2 = await turn(model, "What was my order number?", mock=False)
    assert r1.ok and r2.ok, (r1.error, r2.error)
    sent = mock_openai.requests[1].body["messages"]
    assert sent == [{"role": "user", "content": "My order number is 4417."},
                    {"role": "assistant", "content": "echo: My order number is 4417."},
                    {"role": "user", "content": "What was my order number?"}]
    assert stored(model) == [("user", "My order number is 4417."), ("assistant", "echo: My order number is 4417."),
                             ("user", "What was my order number?"), ("assistant", "echo: What was my order number?")]


def test_history_survives_a_new_process(tmp_path, data_dir):
    flow_file = tmp_path / "chat.flow.json"
    flow_file.write_text(json.dumps(memory_flow_doc(llm={"mock_per": "turn",
                                                         "mock_responses": ["first", "second", "third"]})))
    script = (
        "import asyncio, sys\n"
        "from studio.core.document.flowfile import load_flow\n"
        "from studio.core.document.interface import chat_interface\n"
        "from studio.core.running.executor import RunOptions, run_flow\n"
        "m = load_flow(sys.argv[1]); i = chat_interface(m)\n"
        "r = asyncio.run(run_flow(m, RunOptions(inputs=i.run_inputs(sys.argv[2]), mock=True, "
        "settings=i.run_settings('s1'), trace=False)))\n"
        "print(r.outputs['reply'])\n"
    )
    env = {**os.environ, "ORCHESTRA_DATA_DIR": str(data_dir), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    replies = []
    for message in ("hello", "again", "and again"):
        out = subprocess.run([sys.executable, "-c", script, str(flow_file), message], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        replies.append(out.stdout.strip().splitlines()[-1])
    # each process saw the turns the earlier processes stored (mock_per "turn" counts them)
    assert replies == ["first", "second", "third"]
    store = ConversationStore(store_path("chat-test"))
    assert [m.content for m in store.messages("s1")] == ["hello", "first", "again", "second", "and again", "third"]


async def test_sessions_are_isolated_and_so_are_memory_names():
    model = memory_flow(llm={"mock_per": "turn", "mock_responses": ["a1", "a2", "a3"]})
    assert (await turn(model, "alice 1", session="alice")).outputs == {"reply": "a1"}
    assert (await turn(model, "bob 1", session="bob")).outputs == {"reply": "a1"}
    assert (await turn(model, "alice 2", session="alice")).outputs == {"reply": "a2"}
    assert stored(model, "alice") == [("user", "alice 1"), ("assistant", "a1"), ("user", "alice 2"), ("assistant", "a2")]
    assert stored(model, "bob") == [("user", "bob 1"), ("assistant", "a1")]
    other = memory_flow(memory={"memory": "notes"}, llm={"mock_per": "turn", "mock_responses": ["n1", "n2"]})
    assert (await turn(other, "first note", session="alice")).outputs == {"reply": "n1"}  # its own history
    sessions = {s.session: s for s in open_store("chat-test").sessions()}
    assert set(sessions) == {"alice", "bob"} and sessions["alice"].memories == ("chat", "notes")


async def test_a_run_without_a_chat_session_uses_default(data_dir):
    model = memory_flow()
    r = await run_flow(model, RunOptions(inputs={"message": "plain run"}, mock=True, trace=False))
    assert r.ok, r.error
    # no flow key in the settings: the flow's own name, as `orchestra chat` keys it
    assert [m.content for m in open_store(flow_key(model.name)).messages("default")][0] == "plain run"


async def test_turn_window_keeps_the_last_n_turns(mock_openai):
    model = loopback_flow(mock_openai, memory={"max_turns": 2})
    for i in range(1, 6):
        assert (await turn(model, f"message {i}", mock=False)).ok
    sent = mock_openai.requests[-1].body["messages"]
    assert [m["content"] for m in sent] == ["message 3", "echo: message 3", "message 4", "echo: message 4", "message 5"]
    assert len(stored(model)) == 10  # the window limits what is sent, never what is kept


async def test_token_window_keeps_whole_turns_within_the_budget(mock_openai):
    from studio.llm.client import count_tokens

    pair = [{"role": "user", "content": "x " * 40}, {"role": "assistant", "content": "echo: " + "x " * 40}]
    per_turn = count_tokens("gpt-4o-mini", messages=pair)
    model = loopback_flow(mock_openai, memory={"max_turns": 0, "max_tokens": per_turn * 2 + per_turn // 2})
    for _ in range(4):
        assert (await turn(model, ("x " * 40).strip(), mock=False)).ok
    sent = mock_openai.requests[-1].body["messages"]
    assert len(sent) == 2 * 2 + 1  # two whole earlier turns fit, the third does not
    model_tiny = loopback_flow(mock_openai, memory={"max_tokens": 1, "memory": "tiny"})
    assert (await turn(model_tiny, "hi", mock=False)).ok and (await turn(model_tiny, "again", mock=False)).ok
    assert mock_openai.requests[-1].body["messages"] == [{"role": "user", "content": "again"}]


async def test_summary_in_mock_mode_is_costed_and_stored():
    model = memory_flow(memory={"max_turns": 1, "summarise": True},
                        llm={"mock_per": "turn", "mock_responses": ["r1", "r2", "r3", "r4"]})
    for message in ("My name is Ada.", "I live in Leeds.", "Where do I live?"):
        result = await turn(model, message)
        assert result.ok, result.error
    memory_cost = [r for (node, _), r in result.results.items() if node == "memory"][0]
    assert memory_cost.calls == 1 and memory_cost.cost_usd > 0  # the summary is a (mock-priced) paid call
    upto, text = open_store("chat-test").summary("chat", "s1")  # turn 3 keeps turn 2, summarises turn 1
    assert upto == 1 and "My name is Ada." in text and "Leeds" not in text
    # turn 4 extends the stored summary by turn 2 only (turn 1 is not summarised again)
    r4 = await turn(model, "And my name?")
    assert r4.ok, r4.error
    upto, text = open_store("chat-test").summary("chat", "s1")
    assert upto == 2 and text.count("My name is Ada.") == 1 and "I live in Leeds." in text


async def test_summary_against_the_loopback_server(mock_openai):
    mock_openai.on_model("gpt-4o-mini-summary", Reply.text("Ada lives in Leeds.", usage=(100, 10)))
    model = loopback_flow(mock_openai, memory={"max_turns": 1, "summarise": True,
                                               "summary_model": "openai/gpt-4o-mini-summary",
                                               "api_base": mock_openai.base_url})
    for message in ("My name is Ada.", "I live in Leeds.", "I like tea.", "Who am I?"):
        result = await turn(model, message, mock=False)
        assert result.ok, result.error
    summary_calls = [r for r in mock_openai.requests if r.model == "gpt-4o-mini-summary"]
    assert len(summary_calls) == 2  # turn 3 summarises turn 1; turn 4 adds turn 2 to that summary
    first, second = (c.body["messages"][1]["content"] for c in summary_calls)
    assert "My name is Ada." in first and "Leeds" not in first
    assert "Ada lives in Leeds." in second and "I live in Leeds." in second and "Ada." not in second.split("add:")[1]
    sent = mock_openai.requests[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": "Summary of the earlier conversation: Ada lives in Leeds."}
    assert [m["content"] for m in sent[1:]] == ["I like tea.", "echo: I like tea.", "Who am I?"]
    memory_result = [r for (node, _), r in result.results.items() if node == "memory"][0]
    assert (memory_result.tokens_in, memory_result.tokens_out) == (100, 10)


async def test_twenty_concurrent_turns_on_one_session_keep_all_forty_messages_in_order():
    model = memory_flow()
    results = await asyncio.gather(*(turn(model, f"question {i}") for i in range(20)))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    messages = open_store("chat-test").messages("s1")
    assert len(messages) == 40
    assert [m.turn for m in messages] == [t for t in range(1, 21) for _ in (0, 1)]
    for user, reply in zip(messages[0::2], messages[1::2]):
        assert (user.role, reply.role) == ("user", "assistant") and user.run_id == reply.run_id
    assert sorted(m.content for m in messages[0::2]) == sorted(f"question {i}" for i in range(20))


def test_concurrent_processes_never_lose_a_turn(tmp_path, data_dir):
    script = (
        "import sys\n"
        "from studio.core.userdata.conversations import open_store\n"
        "s = open_store('race')\n"
        "for i in range(25):\n"
        "    s.append_turn('chat', 'shared', [{'role': 'user', 'content': f'{sys.argv[1]}-{i}'},"
        " {'role': 'assistant', 'content': f'{sys.argv[1]}-{i}-reply'}])\n"
    )
    env = {**os.environ, "ORCHESTRA_DATA_DIR": str(data_dir)}
    procs = [subprocess.Popen([sys.executable, "-c", script, name], cwd=ROOT, env=env) for name in "abcd"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    messages = open_store("race").messages("shared")
    assert len(messages) == 200
    for user, reply in zip(messages[0::2], messages[1::2]):
        assert reply.content == user.content + "-reply" and user.turn == reply.turn


async def test_a_locked_database_gives_a_clear_error_and_loses_nothing():
    model = memory_flow(memory={"wait_s": 0.2})
    model.nodes["remember"].params["wait_s"] = 0.2
    assert (await turn(model, "kept")).ok
    path = store_path("chat-test")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = await turn(model, "while locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.status == "failed"
    assert "locked by another program" in result.error and str(path) in result.error
    assert stored(model) == [("user", "kept"), ("assistant", "[mock response from gpt-4o-mini: no mock response is "
                                                            "set on this node, so this stands in for the model's answer]")]
    assert (await turn(model, "after")).ok and len(stored(model)) == 4


async def test_a_corrupt_database_gives_a_clear_error_and_is_left_alone(data_dir):
    path = store_path("chat-test")
    path.parent.mkdir(parents=True)
    junk = b"this is not sqlite " * 300
    path.write_bytes(junk)
    result = await turn(memory_flow(), "hello")
    assert result.status == "failed"
    assert "cannot be read" in result.error and "left as it is" in result.error and str(path) in result.error
    assert path.read_bytes() == junk


async def test_a_damaged_page_fails_clearly_without_touching_the_file(data_dir):
    model = memory_flow()
    for i in range(30):
        assert (await turn(model, f"turn {i} " + "padding " * 200)).ok
    path = store_path("chat-test")
    open_store("chat-test").close()
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(path.read_bytes())
    page = 4096
    raw[page * 3: page * 3 + 200] = b"\xff" * 200  # scribble over a b-tree page
    path.write_bytes(bytes(raw))
    before = path.read_bytes()
    fresh = ConversationStore(path)
    from studio.core.userdata.conversations import ConversationStoreError

    with pytest.raises(ConversationStoreError, match="cannot be read|memory database"):
        fresh.recent("chat", "s1", None)
    assert path.read_bytes() == before


async def test_a_secret_typed_in_a_message_is_redacted_in_the_trace_but_kept_in_memory(tmp_path):
    secret = "sk" "-live-SECRET-4242424242"
    model = memory_flow()
    trace1, trace2 = tmp_path / "t1.jsonl", tmp_path / "t2.jsonl"
    assert (await turn(model, f"my key is {secret}", trace=trace1, secrets=[secret])).ok
    assert (await turn(model, "what is my key?", trace=trace2, secrets=[secret])).ok
    for trace in (trace1, trace2):  # turn 2 carries it in the history the LLM node received
        text = trace.read_text()
        assert secret not in text and "[redacted]" in text
    assert stored(model)[0] == ("user", f"my key is {secret}")


async def test_messages_input_rejects_what_is_not_a_conversation():
    from nodes.llm import LLMNode
    from support.context import make_ctx

    ctx, _ = make_ctx(LLMNode, {"model": "gpt-4o-mini", "prompt": "hi"}, {"messages": "not a list"}, mock=True)
    with pytest.raises(Exception, match="list of chat messages"):
        await LLMNode().run(ctx)
    ctx, _ = make_ctx(LLMNode, {"model": "gpt-4o-mini", "prompt": "hi"}, {"messages": [{"content": "x"}]}, mock=True)
    with pytest.raises(Exception, match=r"messages\[0\]"):
        await LLMNode().run(ctx)


def test_memory_params_are_checked():
    from nodes.memory import MemoryNode

    assert MemoryNode.resolve({"memory": "a b/c"}).problems[0][0] == "memory"
    assert MemoryNode.resolve({}).problems == ()  # every param may be left out
    doc = memory_flow_doc(memory={"memory": "../escape"})
    from studio.core.document.validation import validate

    problems = validate(model_from_document(doc))
    assert any("memory" in str(p) for p in problems)
