"""The undoable commands one by one: what each does, what it refuses (without
changing anything), and that its undo is exact."""

from __future__ import annotations

import math

import pytest

from studio.core.document import commands as C
from studio.core.document import flowfile
from studio.core.errors import CommandError
from studio.core.document.model import DELETE, Edge, FlowModel, ModelWatch, slugify

from corehelp import FLOWS, flow


def edit(model: FlowModel | None = None) -> tuple[FlowModel, C.UndoStack]:
    model = model or FlowModel("t")
    return model, C.UndoStack(model)


def chain() -> tuple[FlowModel, C.UndoStack]:
    m, s = edit()
    s.push(C.AddNode("input", 0, 0, node_id="q"))
    s.push(C.AddNode("template", 200, 0, {"template": "Hi {{ text }}"}, node_id="t"))
    s.push(C.AddNode("output", 400, 0, node_id="a"))
    s.push(C.Connect("q", "value", "t", "text"))
    s.push(C.Connect("t", "text", "a", "value"))
    return m, s


def refused(stack: C.UndoStack, command: C.Command, match: str) -> None:
    before, depth = flowfile.dumps(stack.model), stack.undo_count
    with pytest.raises(CommandError, match=match):
        stack.push(command)
    assert flowfile.dumps(stack.model) == before and stack.undo_count == depth


def test_add_node_gives_readable_unique_ids_and_default_params() -> None:
    m, s = edit()
    for _ in range(3):
        s.push(C.AddNode("template", 1.04, 2.06))
    assert list(m.nodes) == ["text", "text_2", "text_3"]
    n = m.nodes["text_2"]
    assert n.params == {"template": "{{ text }}"} and n.title == "Text" and (n.x, n.y) == (1.0, 2.1)
    s.push(C.AddNode("loop", title="Fix the draft"))
    assert "fix_the_draft" in m.nodes and m.nodes["fix_the_draft"].params["max_iterations"] == 5
    s.undo()
    assert "fix_the_draft" not in m.nodes
    s.redo()
    assert "fix_the_draft" in m.nodes  # the same id again


@pytest.mark.parametrize("command,match", [
    (C.AddNode("input", node_id="Bad Id"), "lowercase slug"),
    (C.AddNode("input", node_id="q"), "taken"),
    (C.AddNode("input", x=math.nan), "not a usable position"),
    (C.AddNode("input", y=2e9), "not a usable position"),
    (C.AddNode("input", params={"default": float("inf")}), "not a finite number"),
    (C.AddNode("input", params={"default": (1, 2)}), "tuple cannot be stored"),
    (C.AddNode("", node_id="z"), "not a node type"),
    (C.RemoveNodes(["q", "ghost"]), "no node 'ghost'"),
    (C.Connect("q", "value", "q", "value"), "cannot feed itself"),
    (C.Connect("q", "nope", "t", "text"), "no output 'nope'"),
    (C.Connect("q", "value", "t", "nope"), "no input 'nope'"),
    (C.Connect("q", "value", "t", "text"), "already connected"),
    (C.Connect("q", "value", "t", "text", check=False), "already connected"),
    (C.Connect("ghost", "value", "t", "text", check=False), "no node 'ghost'"),
    (C.Disconnect("q", "value", "a", "value"), "no wire"),
    (C.MoveNodes({"q": (1, 1), "ghost": (2, 2)}), "no node 'ghost'"),
    (C.MoveNodes({"q": (1, 1)}, frames={"frame_9": (0, 0)}), "no frame"),
    (C.MoveNodes({"q": (math.inf, 1)}), "not a usable position"),
    (C.SetParam("ghost", "x", 1), "no node"),
    (C.SetParam("q", "default", float("nan")), "not a finite number"),
    (C.SetParam("q", "default", {1: "x"}), "keys must be text"),
    (C.SetParam("q", "", 1), "non-empty"),
    (C.SetNodeFields("q", title=5), "title is text"),
    (C.SetNodeFields("q", width=float("nan")), "not a usable"),
    (C.SetNodeFields("q", collapsed="yes"), "true or false"),
    (C.RenameNode("q", "t"), "taken"),
    (C.RenameNode("q", "Q"), "lowercase slug"),
    (C.RenameNode("ghost", "g"), "no node"),
    (C.AddFrame(color="red"), "color"),
    (C.AddNote(x=1e10), "not a usable position"),
    (C.UpdateItem("frames", "frame_9", title="x"), "no frame"),
    (C.RemoveItem("notes", "note_9"), "no note"),
    (C.SetFlowInfo(nodes=[]), "model owns it"),
    (C.SetFlowInfo(name=5), "text"),
    (C.SetFlowInfo(pricing={"x": float("nan")}), "finite"),
    (C.SetFlowInfo(requires={"node_types": {"x": 1}}), "package names"),
    (C.PasteFragment({"nodes": [{"id": "BAD"}]}), "cannot paste"),
    (C.PasteFragment({"nodes": []}, offset=("x", 0)), "must be a number"),
    (C.Macro("two", [C.AddNode("input", node_id="fresh"), C.AddNode("input", node_id="q")]), "taken"),
])
def test_refused_edits_change_nothing(command: C.Command, match: str) -> None:
    m, s = chain()
    refused(s, command, match)
    assert "fresh" not in m.nodes  # the macro rolled its first step back


def test_set_node_fields_refuses_unknown_fields_at_once() -> None:
    with pytest.raises(CommandError, match="cannot set"):
        C.SetNodeFields("q", x=5)
    with pytest.raises(CommandError, match="cannot set"):
        C.UpdateItem("frames", "f", id="other")


def test_remove_nodes_takes_their_wires_and_undo_restores_the_order() -> None:
    m, s = chain()
    before = (list(m.nodes), m.edges)
    s.push(C.RemoveNodes(["t"]))
    assert list(m.nodes) == ["q", "a"] and m.edges == []
    s.undo()
    assert (list(m.nodes), m.edges) == before


def test_connect_replaces_the_wire_of_a_single_valued_input_and_undo_brings_it_back() -> None:
    m, s = chain()
    s.push(C.AddNode("input", node_id="q2", params={"name": "q2"}))
    s.push(C.Connect("q2", "value", "t", "text"))
    assert m.edges_into("t") == [Edge("q2", "value", "t", "text")]
    s.undo()
    assert m.edges == [Edge("q", "value", "t", "text"), Edge("t", "text", "a", "value")]


def test_connect_refuses_incompatible_types_and_allows_coercions() -> None:
    m, s = edit(flow(("n", "input", {"type": "number"}), ("l", "input", {"type": "list"}), ("t", "input", {"type": "text"}),
                     ("fan", "fanout"), ("out", "output")))
    refused(s, C.Connect("t", "value", "fan", "items"), "text output cannot feed a list input")
    s.push(C.Connect("l", "value", "fan", "items"))
    s.push(C.Connect("n", "value", "out", "value"))  # number -> any
    assert m.edge_count() == 2


def test_placeholders_accept_any_wire() -> None:
    m, s = edit(flow(("q", "input"), ("x", "acme.thing")))
    s.push(C.Connect("q", "value", "x", "whatever"))
    assert m.edge_count() == 1


def test_moves_of_one_selection_merge_but_never_into_the_clean_state() -> None:
    m, s = chain()
    s.set_clean()
    s.push(C.MoveNodes({"q": (10, 10)}))
    s.push(C.MoveNodes({"q": (20, 20)}))
    s.push(C.MoveNodes({"q": (30.04, 30)}))
    assert s.undo_count == 6 and (m.nodes["q"].x, m.nodes["q"].y) == (30.0, 30.0)
    s.undo()
    assert (m.nodes["q"].x, m.nodes["q"].y) == (0.0, 0.0) and s.is_clean()
    s.push(C.MoveNodes({"q": (1, 1)}))
    s.set_clean()
    s.push(C.MoveNodes({"q": (2, 2)}))
    assert s.undo_count == 7  # not merged into the saved state
    s.push(C.MoveNodes({"q": (3, 3), "t": (0, 0)}))  # another selection: not merged
    assert s.undo_count == 8


def test_typing_in_a_field_merges_and_undo_restores_the_first_value() -> None:
    m, s = chain()
    for text in ("H", "He", "Hel"):
        s.push(C.SetParam("t", "template", text, mergeable=True))
    assert s.undo_count == 6
    s.undo()
    assert m.nodes["t"].params["template"] == "Hi {{ text }}"


def test_set_param_copies_values_and_delete_removes() -> None:
    m, s = chain()
    value = {"k": [1, 2]}
    s.push(C.SetParam("q", "default", value))
    value["k"].append(3)
    assert m.nodes["q"].params["default"] == {"k": [1, 2]}
    s.push(C.SetParam("q", "default", DELETE))
    assert "default" not in m.nodes["q"].params
    s.undo()
    s.undo()
    assert "default" not in m.nodes["q"].params or m.nodes["q"].params["default"] is None


def test_rename_moves_wires_keeps_order_and_collects_follow() -> None:
    m, s = edit(flowfile.load_flow(FLOWS / "structural.flow.json"))
    edges, order = m.edges, list(m.nodes)
    events = []
    m.subscribe(lambda ev: events.append((ev.kind, ev.id)))
    s.push(C.RenameNode("per_question", "each_question"))
    assert m.nodes["answers"].params["fanout"] == "each_question"
    assert {str(e) for e in m.edges_from("each_question")} == {"each_question.item -> answer.question",
                                                                "each_question.index -> answer.index"}
    assert list(m.nodes).index("each_question") == order.index("per_question")
    assert ("node_renamed", "each_question") in events
    from studio.core.document.validation import validate

    assert validate(m) == []
    s.undo()
    assert m.edges == edges and list(m.nodes) == order and m.nodes["answers"].params["fanout"] == "per_question"


def test_paste_reslugs_only_on_collision_and_keeps_wires_and_collects() -> None:
    m, s = edit(flowfile.load_flow(FLOWS / "nested.flow.json"))
    frag = flowfile.fragment_document(m, ["per_item", "check", "keep", "kept"])
    paste = C.PasteFragment(frag, (100, 50))
    s.push(paste)
    assert paste.new_ids == {"check": "check_2", "keep": "keep_2", "kept": "kept_2", "per_item": "per_item_2"}
    assert m.nodes["keep_2"].x == m.nodes["keep"].x + 100
    assert {str(e) for e in m.edges_of("keep_2")} == {"check_2.keep -> keep_2.text", "keep_2.text -> kept_2.item"}
    s.undo()
    assert "keep_2" not in m.nodes

    m2, s2 = edit()
    long_id = "a__b" + "x" * 60
    s2.push(C.PasteFragment({"nodes": [{"id": "a__b", "type": "input"}, {"id": long_id, "type": "input"}]}))
    assert list(m2.nodes) == ["a__b", long_id]  # free ids are kept as they are
    s2.push(C.PasteFragment({"nodes": [{"id": long_id, "type": "input"}]}))
    new = list(m2.nodes)[-1]
    assert new.endswith("_2") and len(new) <= 64
    flowfile.loads(flowfile.dumps(m2))  # still a valid file


def test_collect_names_fanout_after_paste() -> None:
    m, s = edit(flow(("f", "fanout"), ("c", "collect", {"fanout": "f"})))
    s.push(C.PasteFragment(flowfile.fragment_document(m, ["f", "c"])))
    assert m.nodes["c_2"].params["fanout"] == "f_2"


def test_frames_notes_and_flow_settings() -> None:
    m, s = chain()
    s.push(C.AddFrame("Group", 0, 0, 100, 50))
    s.push(C.AddNote("remember", 5, 5))
    s.push(C.UpdateItem("frames", "frame_1", title="Renamed", color="#abcdef"))
    s.push(C.MoveNodes({}, frames={"frame_1": (7, 7)}, notes={"note_1": (8, 8)}))
    s.push(C.SetFlowInfo(name="New", settings={"budget_usd": 1}))
    doc = flowfile.to_document(m)
    assert doc["frames"][0]["title"] == "Renamed" and doc["frames"][0]["x"] == 7.0
    assert doc["notes"][0]["text"] == "remember" and doc["settings"] == {"budget_usd": 1} and doc["name"] == "New"
    s.push(C.RemoveItem("frames", "frame_1"))
    assert not m.frames
    while s.undo():
        pass
    assert not m.frames and not m.notes and m.name == "t" and "settings" not in m.meta


def test_add_item_replaces_ids_the_file_would_refuse() -> None:
    from studio.core.document.model import Frame

    m, s = edit()
    s.push(C.AddItem(Frame("Not A Slug")))
    assert list(m.frames) == ["frame_1"]


def test_undo_stack_clean_state_and_redo_cleared_by_a_new_edit() -> None:
    m, s = chain()
    s.set_clean()
    assert s.is_clean() and s.can_undo() and not s.can_redo()
    s.undo()
    assert not s.is_clean() and s.can_redo()
    s.push(C.AddNode("input"))
    assert not s.can_redo() and not s.is_clean()


def test_slugify() -> None:
    assert slugify("Extract actions!") == "extract_actions"
    assert slugify("9 lives") == "node_9_lives"
    assert slugify("___") == "node"
    assert len(slugify("x" * 100)) == 48


def test_a_model_watch_hears_only_the_model_it_watches_last() -> None:
    first, s1 = chain()
    second, s2 = chain()
    heard: list[tuple[str, str | None]] = []
    watch = ModelWatch()
    watch.watch(first, lambda ev: heard.append(("first", ev.kind)))
    s1.push(C.AddNode("llm", 0, 0))
    watch.watch(second, lambda ev: heard.append(("second", ev.kind)))
    s1.push(C.AddNode("llm", 0, 0))  # no longer watched: not heard
    s2.push(C.AddNode("llm", 0, 0))
    assert heard == [("first", "node_added"), ("second", "node_added")]
    watch.stop()
    watch.stop()  # stopping twice is harmless
    s2.push(C.AddNode("llm", 0, 0))
    assert len(heard) == 2 and not first._listeners and not second._listeners
