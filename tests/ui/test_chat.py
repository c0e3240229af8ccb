"""The Chat panel (conversations): a turn is a run of the open flow, the reply streams in,
sessions keep their own histories, a reply opens its run. Runs go to the run host and
the loopback OpenAI-compatible server, as in the studio."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from support.mock_openai import Reply

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "memory"))
from chatflows import memory_flow_doc  # noqa: E402

RUN_TIMEOUT = 60000
PROJECTS = Path(__file__).resolve().parents[2] / "projects"


def open_chat_flow(qtbot, window, tmp_path, doc=None) -> None:
    doc = doc or memory_flow_doc(llm={"model": "openai/gpt-4o-mini"})
    path = tmp_path / "chat.flow.json"
    path.write_text(json.dumps(doc))
    assert window.open_file(path, ask=False)
    window.chat.dock.show()
    qtbot.wait(50)
    window.run_toolbar.mock_action.setChecked(True)  # the person chooses Live explicitly
    window.run_toolbar.mock_action.setChecked(False)


def texts(window) -> list[tuple[str, str]]:
    return [(b.role, b.plain()) for b in window.chat.panel.bubbles]


def send(qtbot, window, text: str) -> None:
    panel = window.chat.panel
    panel.composer.setPlainText(text)
    panel.send_button.click()
    assert window.runs.running, window.run_panel.status.text()
    wait_done(qtbot, window)


def wait_done(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.runs.running and window.chat.pending is None, timeout=RUN_TIMEOUT)


def test_a_message_streams_its_reply_before_the_run_ends(qtbot, window, loopback, tmp_path):
    open_chat_flow(qtbot, window, tmp_path)
    loopback.enqueue(Reply.text("Hello there, I am streaming this reply slowly word by word.", token_delay=0.15))
    panel = window.chat.panel
    panel.composer.setPlainText("hi")
    panel.send_button.click()
    assert window.runs.running
    reply = panel.bubbles[-1]
    qtbot.waitUntil(lambda: "streaming" in reply.text.text(), timeout=RUN_TIMEOUT)
    assert window.runs.running and reply.meta.isHidden()  # part of the reply is shown, the run goes on
    assert not reply.text.text().startswith("Hello there, I am streaming this reply slowly word by word.\n")
    assert window.scene.nodes["answer"].run.status == "running"  # the canvas lights up as in a run
    assert panel.stop_button.isEnabled() and not panel.send_button.isEnabled()
    wait_done(qtbot, window)
    assert texts(window) == [("user", "hi"), ("assistant", "Hello there, I am streaming this reply slowly word by word.")]
    meta = reply.meta.text()
    assert f"run {window.runs.latest.run_id}" in meta and "turn 1" in meta and "$" in meta
    assert window.runs.latest.status == "succeeded" and window.scene.nodes["answer"].run.status == "done"
    assert "1 turn(s)" in panel.totals.text()


def test_sessions_keep_their_own_history(qtbot, window, loopback, tmp_path):
    open_chat_flow(qtbot, window, tmp_path)
    chat = window.chat
    send(qtbot, window, "alpha one")
    send(qtbot, window, "alpha two")
    assert loopback.requests[-1].body["messages"][0]["content"] == "alpha one"  # memory reached the model
    first = chat.session
    second = chat.new_session("beta")
    assert texts(window) == []
    send(qtbot, window, "beta one")
    assert [m["content"] for m in loopback.requests[-1].body["messages"]] == ["beta one"]  # not alpha's history
    chat.switch_session(first)
    assert texts(window) == [("user", "alpha one"), ("assistant", "echo: alpha one"),
                             ("user", "alpha two"), ("assistant", "echo: alpha two")]
    assert "run " in chat.panel.bubbles[-1].meta.text()  # stored replies keep their run link and cost
    assert "2 turn(s)" in chat.panel.totals.text()
    chat.switch_session(second)
    assert texts(window) == [("user", "beta one"), ("assistant", "echo: beta one")]
    assert chat.rename_session("beta renamed")
    assert texts(window) == [("user", "beta one"), ("assistant", "echo: beta one")]
    names = [chat.panel.sessions.itemText(i) for i in range(chat.panel.sessions.count())]
    assert sorted(names) == sorted([first, "beta renamed"])
    chat.delete_session()
    assert chat.session == first and texts(window)[0] == ("user", "alpha one")
    assert chat.delete_older_than(1) == []  # used just now: kept
    assert chat.delete_older_than(0) == [first] and texts(window) == []


def test_a_reply_opens_its_run_and_stop_stops_the_turn(qtbot, window, loopback, tmp_path):
    open_chat_flow(qtbot, window, tmp_path)
    chat = window.chat
    send(qtbot, window, "first")
    first_run = window.runs.latest.run_id
    send(qtbot, window, "second")
    chat.open_run(first_run)
    qtbot.waitUntil(lambda: window.runs.state is not None and window.runs.state.run_id == first_run, timeout=10000)
    assert window.inspector_tabs.currentWidget() is window.last_run
    loopback.enqueue(Reply.text("a very long reply " * 40, token_delay=0.1))
    chat.panel.composer.setPlainText("third")
    chat.panel.send_button.click()
    qtbot.waitUntil(lambda: "long" in chat.panel.bubbles[-1].text.text(), timeout=RUN_TIMEOUT)
    chat.panel.stop_button.click()
    wait_done(qtbot, window)
    assert window.runs.latest.status == "cancelled"
    assert chat.panel.bubbles[-1].plain().endswith("[stopped]")


def test_a_flow_that_cannot_chat_says_why(qtbot, window, tmp_path):
    from studio.core.document import commands as C

    path = tmp_path / "router.flow.json"
    path.write_bytes((PROJECTS / "support_router.flow.json").read_bytes())
    assert window.open_file(path, ask=False)
    window.chat.dock.show()
    assert "cannot chat" in window.chat.panel.info.text()
    assert not window.chat.panel.composer.isEnabled()
    # an edit that takes the reply's wire away is noticed once the edits settle
    open_chat_flow(qtbot, window, tmp_path)
    assert window.chat.panel.composer.isEnabled() and "goes to <b>message</b>" in window.chat.panel.info.text()
    assert window.document.push(C.Disconnect("remember", "reply", "reply", "value")) is None
    qtbot.waitUntil(lambda: "cannot chat" in window.chat.panel.info.text(), timeout=5000)
    assert not window.chat.panel.composer.isEnabled()


def test_a_turn_that_cannot_run_says_why(qtbot, window, tmp_path):
    doc = memory_flow_doc(llm={"model": "openai/gpt-4o-mini", "prompt": "{{ message }} for {{ customer }}"})
    doc["nodes"].append({"id": "customer", "type": "input", "params": {"name": "customer"}})
    doc["edges"].append({"from": "customer.value", "to": "answer.customer"})
    doc["chat"] = {"input": "message"}
    open_chat_flow(qtbot, window, tmp_path, doc)
    assert window.chat.send("hello") is False
    assert texts(window) == [("user", "hello"), ("problem", "Not run: the flow needs input(s): customer")]
    assert not window.runs.running and window.chat.panel.send_button.isEnabled()


def test_screenshot_mid_reply(qtbot, window, loopback, tmp_path):
    """The assistant example mid-reply on its third turn (also to $ORCHESTRA_SCREENSHOT_DIR)."""
    flow = json.loads((PROJECTS / "assistant.flow.json").read_text())
    for node in flow["nodes"]:
        if node["id"] == "assistant":
            node["params"].update(model="openai/gpt-4o-mini", tools=[])
    (tmp_path / "research_assistant").symlink_to(PROJECTS / "research_assistant")
    open_chat_flow(qtbot, window, tmp_path, flow)
    answers = [n["params"]["mock_responses"] for n in flow["nodes"] if n["id"] == "assistant"][0]
    loopback.enqueue(answers[0][-1], answers[1][-1])
    window.palette_dock.hide()
    send(qtbot, window, "Hi, I'm Priya from the Acme workspace. We are closing our account next week.")
    send(qtbot, window, "Could support restore just our workspace from a backup later?")
    loopback.enqueue(Reply.text(answers[2][0], token_delay=0.12))
    chat = window.chat.panel
    chat.composer.setPlainText("So until when can we still change our mind?")
    chat.send_button.click()
    window.resize(1600, 900)
    window.scene.clearSelection()
    window.view.fit()  # the whole flow
    window.scene.select_nodes(["assistant"])  # Last run shows the agent's reply streaming too
    qtbot.waitUntil(lambda: "reopen" in chat.bubbles[-1].text.text(), timeout=RUN_TIMEOUT)
    qtbot.wait(150)
    out = [tmp_path]
    if os.environ.get("ORCHESTRA_SCREENSHOT_DIR"):
        out.append(Path(os.environ["ORCHESTRA_SCREENSHOT_DIR"]))
    assert window.runs.running
    for folder in out:
        folder.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(folder / "chat_mid_reply.png"))
        assert chat.grab().save(str(folder / "chat_panel_mid_reply.png"))
    wait_done(qtbot, window)
    assert "Priya" in chat.bubbles[-1].plain()
