"""Which input and output a conversation goes through (studio.core.document.interface)."""

from __future__ import annotations

import sys
from pathlib import Path

from studio.core.document.flowfile import load_flow, model_from_document
from studio.core.document.interface import SESSION_SETTING, FLOW_SETTING, chat_interface, why_no_chat

sys.path.insert(0, str(Path(__file__).parent))
from chatflows import memory_flow_doc  # noqa: E402

PROJECTS = Path(__file__).resolve().parents[2] / "projects"


def two_outputs_doc(chat=None):
    doc = memory_flow_doc()
    doc["nodes"] += [{"id": "question", "type": "input", "params": {"name": "question"}},
                     {"id": "also", "type": "output", "params": {"name": "also"}},
                     {"id": "count", "type": "output", "params": {"name": "count"}}]
    doc["edges"] += [{"from": "answer.text", "to": "also.value"}, {"from": "remember.turn", "to": "count.value"}]
    if chat is not None:
        doc["chat"] = chat
    return doc


def test_a_memory_flow_chats_through_its_text_input_and_output():
    iface = chat_interface(model_from_document(memory_flow_doc()))
    assert (iface.input, iface.output, iface.input_node, iface.output_node) == ("message", "reply", "message", "reply")
    assert iface.has_memory and iface.memory_nodes == ("memory", "remember")
    assert iface.reply_nodes == ("answer",)  # looked through Remember to the model whose tokens stream
    assert iface.run_inputs("hi", {"x": 1}) == {"x": 1, "message": "hi"}
    assert iface.run_settings("s", {"api_base": "u"}) == {"api_base": "u", SESSION_SETTING: "s", FLOW_SETTING: "chat-test"}
    assert iface.run_settings(None)[SESSION_SETTING] == "default"


def test_several_candidates_need_the_flows_chat_section():
    model = model_from_document(two_outputs_doc())
    assert chat_interface(model) is None
    assert "several text inputs" in why_no_chat(model)
    iface = chat_interface(model_from_document(two_outputs_doc({"input": "message", "output": "reply"})))
    assert (iface.input, iface.output, iface.extra_inputs, iface.required_inputs) == (
        "message", "reply", ("question",), ("question",))
    assert "does not have" in why_no_chat(model_from_document(two_outputs_doc({"input": "nope", "output": "reply"})))
    assert "must be an object" in why_no_chat(model_from_document(two_outputs_doc(["message"])))
    # a number output cannot be the reply, even when named
    assert "text port" in why_no_chat(model_from_document(two_outputs_doc({"input": "message", "output": "count"})))


def test_flows_without_a_text_pair_say_why():
    doc = memory_flow_doc()
    doc["nodes"][0]["params"]["type"] = "number"
    assert why_no_chat(model_from_document(doc)) == "the flow has no text input for the user's message"
    doc = memory_flow_doc()
    doc["edges"] = [e for e in doc["edges"] if e["to"] != "reply.value"]
    assert "no output wired from a text port" in why_no_chat(model_from_document(doc))


def test_the_example_projects():
    iface = chat_interface(load_flow(PROJECTS / "assistant.flow.json"))
    assert (iface.input, iface.output, iface.has_memory, iface.reply_nodes) == ("message", "reply", True, ("assistant",))
    assert chat_interface(load_flow(PROJECTS / "hello.flow.json")).has_memory is False


def test_an_input_and_output_without_params_have_the_same_names_in_chat_and_in_the_plan():
    """The names come from the resolved ``name`` param (its schema default when the file
    omits it) in both places; the chat interface once used the node id instead, so a
    served or chatted flow asked for an input the run did not know."""
    from studio.core.running.plan import compile_plan
    doc = {"format": "orchestra-flow", "version": 1, "name": "bare",
           "nodes": [{"id": "q", "type": "input"}, {"id": "a", "type": "output"}],
           "edges": [{"from": "q.value", "to": "a.value"}]}
    model = model_from_document(doc)
    iface, plan = chat_interface(model), compile_plan(model)
    assert (iface.input_node, iface.output_node) == ("q", "a")
    assert plan.inputs == {iface.input: "q"} and plan.outputs == {iface.output: "a"}
    assert (iface.input, iface.output) == (model.params("q")["name"] or "q", model.params("a")["name"] or "a")
