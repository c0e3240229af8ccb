"""README, "The file format": a broken file names the JSON path and the problem; the fast
path and the careful path of the loader accept and refuse exactly the same documents.

The loader reads plain ``dict`` items on a fast path of exact type tests and everything
else (a dict subclass, as ``json.load(object_pairs_hook=OrderedDict)`` makes, or any
item the fast path does not like) on a careful path that also writes the error. The
property test feeds the same edges both ways and demands the same verdict.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core.document.flowfile import model_from_document
from studio.core.document.model import Frame, Note
from studio.core.errors import FlowFileError
from tests.guarantees.kinds import registry

NODES = [{"id": "a", "type": "template"}, {"id": "b", "type": "template"}]


def _doc(edges, nodes=None):
    return {"format": "orchestra-flow", "version": 1, "name": "f", "nodes": nodes if nodes is not None else NODES,
            "edges": edges}


def _verdict(doc):
    try:
        m = model_from_document(doc, registry=registry())
    except FlowFileError as exc:
        return ("error", exc.json_path, exc.problem)
    return ("ok", [(e.src, e.src_port, e.dst, e.dst_port) for e in m.edges],
            [(n.id, n.type, n.params, n.title, n.x, n.y, n.width, n.height, n.collapsed) for n in m.nodes.values()])


class Careful(OrderedDict):
    """A mapping the fast path does not take (its exact-type test fails)."""


def _both_ways(edges):
    plain = _verdict(_doc(edges))
    careful = _verdict(_doc([Careful(e) if isinstance(e, dict) else e for e in edges]))
    return plain, careful


def test_a_valid_edge_reads_the_same_on_both_paths():
    plain, careful = _both_ways([{"from": "a.text", "to": "b.text_2"}])
    assert plain == careful == ("ok", [("a", "text", "b", "text_2")], plain[2])


def test_a_valid_node_reads_the_same_on_both_paths():
    node = {"id": "a", "type": "template", "title": "T", "params": {"template": "x"},
            "layout": {"x": 1.5, "y": -2.0, "w": 100.0, "h": 50.0, "collapsed": True}}
    plain = _verdict(_doc([], [node]))
    careful = _verdict(_doc([], [Careful(node)]))
    assert plain == careful
    assert plain[2] == [("a", "template", {"template": "x"}, "T", 1.5, -2.0, 100.0, 50.0, True)]


endpoint = st.text(alphabet="ab_Z09.-\n é", max_size=8)


@settings(max_examples=300, deadline=None)
@given(src=endpoint, dst=endpoint)
def test_fast_and_careful_paths_give_the_same_verdict_for_any_endpoints(src, dst):
    plain, careful = _both_ways([{"from": src, "to": dst}])
    assert plain == careful


@pytest.mark.parametrize("edge, path, problem", [
    ("a.x", "$.edges[0]", "an edge is an object, not text"),
    ({"from": "a.text", "to": "b.text", "via": 1}, "$.edges[0]", "unknown key"),
    ({"from": "a.text"}, "$.edges[0].to", "'to' must be \"node.port\", got None"),
    ({"from": "a", "to": "b.text"}, "$.edges[0].from", "'from' must be \"node.port\", got 'a'"),
    ({"from": "a.b.c", "to": "b.text"}, "$.edges[0].from", "'from' must be \"node.port\""),
    ({"from": "A.text", "to": "b.text"}, "$.edges[0].from", "with a node id and a port name, got 'A.text'"),
    ({"from": "a.text", "to": "b.9x"}, "$.edges[0].to", "with a node id and a port name, got 'b.9x'"),
    ({"from": 3, "to": "b.text"}, "$.edges[0].from", "got 3"),
])
def test_a_bad_edge_names_its_json_path_and_the_problem(edge, path, problem):
    for item in (edge, Careful(edge) if isinstance(edge, dict) else edge):
        with pytest.raises(FlowFileError) as info:
            model_from_document(_doc([item]), registry=registry())
        assert info.value.json_path == path
        assert problem in info.value.problem, info.value.problem


def test_the_second_bad_edge_is_named_by_its_index():
    with pytest.raises(FlowFileError) as info:
        model_from_document(_doc([{"from": "a.text", "to": "b.text"}, {"from": "a.text", "to": "b"}]), registry=registry())
    assert info.value.json_path == "$.edges[1].to"
    assert str(info.value) == f"$.edges[1].to: {info.value.problem}"


def test_a_wire_that_appears_twice_is_refused_on_either_path():
    e = {"from": "a.text", "to": "b.text"}
    for second in (dict(e), Careful(e)):
        with pytest.raises(FlowFileError) as info:
            model_from_document(_doc([e, second]), registry=registry())
        assert info.value.json_path == "$.edges[1]" and "appears twice" in info.value.problem


# -- parse_document: every refusal names its place and its problem exactly -------------------

from studio.core.document import flowfile  # noqa: E402


def _refusal(raw):
    with pytest.raises(FlowFileError) as info:
        flowfile.parse_document(raw)
    return info.value.json_path, info.value.problem


@pytest.mark.parametrize("raw, path, problem", [
    (b"[1, 2]", "$", "a flow file holds a JSON object, not a list"),
    ('"text"', "$", "a flow file holds a JSON object, not text"),
    (b"[" * 100000 + b"]" * 100000, "$", "JSON is nested too deeply"),
    ('{"format": "orchestra-flow", "version": 1.0}', "$.version", "version must be a whole number"),
    ('{"format": "orchestra-flow", "version": -2}', "$.version", "unknown file version -2"),
    ('{"format": "other", "version": 1}', "$.format", "not an Orchestra flow (format is 'other', expected 'orchestra-flow')"),
])
def test_each_refusal_names_its_json_path_and_problem(raw, path, problem):
    assert _refusal(raw) == (path, problem)


def test_the_size_limit_refuses_only_what_is_over_it(monkeypatch):
    monkeypatch.setattr(flowfile, "MAX_FILE_BYTES", 60)
    at_limit = b'{"format": "orchestra-flow", "version": 1, "name": "x"}'.ljust(60)
    assert len(at_limit) == 60
    assert flowfile.parse_document(at_limit)["name"] == "x"
    assert _refusal(at_limit + b" ") == ("$", "file is too large")


def test_a_byte_order_mark_is_accepted():
    assert flowfile.parse_document(b'\xef\xbb\xbf{"format": "orchestra-flow", "version": 1}')["version"] == 1


def test_migrations_run_one_version_at_a_time_in_order(monkeypatch):
    steps = []

    def one_to_two(doc):
        steps.append((1, doc["version"]))
        return {**doc, "two": True}

    def two_to_three(doc):
        steps.append((2, doc["version"]))
        return {**doc, "three": doc["two"]}

    monkeypatch.setattr(flowfile, "VERSION", 3)
    monkeypatch.setitem(flowfile.MIGRATIONS, 1, one_to_two)
    monkeypatch.setitem(flowfile.MIGRATIONS, 2, two_to_three)
    doc = flowfile.parse_document('{"format": "orchestra-flow", "version": 1}')
    assert steps == [(1, 1), (2, 2)]  # each step sees the version it migrates from
    assert doc == {"format": "orchestra-flow", "version": 3, "two": True, "three": True}


def test_a_missing_or_broken_migration_is_named(monkeypatch):
    monkeypatch.setattr(flowfile, "VERSION", 3)
    monkeypatch.setitem(flowfile.MIGRATIONS, 1, lambda doc: {**doc})
    assert _refusal('{"format": "orchestra-flow", "version": 1}') == ("$.version", "no migration from file version 2")
    monkeypatch.setitem(flowfile.MIGRATIONS, 2, lambda doc: doc["missing"])
    assert _refusal('{"format": "orchestra-flow", "version": 2}') == ("$", "could not migrate from version 2: 'missing'")
    monkeypatch.setitem(flowfile.MIGRATIONS, 2, lambda doc: [doc])
    assert _refusal('{"format": "orchestra-flow", "version": 2}') == (
        "$", "the migration from version 2 returned a list, not a document")


def test_a_wire_to_or_from_a_missing_node_is_named_from_the_end_that_exists():
    from studio.core.document.validation import validate

    model = model_from_document(_doc([{"from": "a.text", "to": "ghost.x"}, {"from": "ghost.y", "to": "b.text"},
                                      {"from": "nowhere.y", "to": "ghost.x"}]), registry=registry())
    missing = [(p.severity, p.message, p.node, p.hint) for p in validate(model) if p.code == "missing_node"]
    hint = "Delete the wire or restore the node."
    assert missing == [
        ("error", "the wire a.text -> ghost.x comes to a node that does not exist", "a", hint),
        ("error", "the wire ghost.y -> b.text comes from a node that does not exist", "b", hint),
        ("error", "the wire nowhere.y -> ghost.x comes from a node that does not exist", None, hint),
        ("error", "the wire nowhere.y -> ghost.x comes to a node that does not exist", None, hint),
    ]


def _problems(model, codes):
    from studio.core.document.validation import validate

    return [(p.severity, p.code, p.message, p.node, p.port, p.hint) for p in validate(model) if p.code in codes]


def test_validate_names_node_port_and_a_hint_for_every_wiring_problem():
    """README: `orchestra validate` prints every problem with the node id, the port and a hint."""
    from tests.guarantees.kinds import flow

    first = flow({"inp": ("input", {"name": "x", "type": "number"}), "t": ("template", {"template": "{{ a }}{{ c }}"}),
                  "w": ("g_wait", {}), "lst": ("input", {"name": "l", "type": "list"}),
                  "route": ("branch", {"cases": [{"name": "yes", "when": "value"}, {"name": "no", "when": "true"}]}),
                  "ghost": ("not_installed_type", {}), "o": ("output", {"name": "r"}), "y": ("output", {"name": "y"}),
                  "broken": ("branch", {"cases": "not a list"}),
                  "late": ("branch", {"cases": [{"name": "only", "when": "true"}]})},
                 ["inp.value -> t.b", "inp.value -> broken.value", "inp.value -> late.value", "w.nope -> t.a", "inp.value -> w.x", "lst.value -> w.x", "ghost.any -> o.value",
                  "inp.value -> ghost.whatever", "lst.value -> route.value", "route.yes -> y.value"])
    assert _problems(first, {"missing_port", "multiple_edges", "branch_case_unused"}) == [
        ("error", "missing_port", "t has no input 'b'", "t", "b",
         "Its inputs are: a, c. Inputs of a template come from its {{ variables }}."),
        ("error", "missing_port", "w has no output 'nope'", "w", "nope", "Its outputs are: y, error."),
        ("error", "multiple_edges", "w.x takes one value but has several wires", "w", "x",
         "Keep one wire, or join the values with a Merge or Text node first."),
        ("warning", "branch_case_unused", "case 'no' leads nowhere; values routed there are dropped", "route", "no",
         "Wire the case to the step that should handle it."),
        ("warning", "branch_case_unused", "case 'only' leads nowhere; values routed there are dropped", "late", "only",
         "Wire the case to the step that should handle it."),
    ]  # a Branch with broken cases does not stop the check of the next; the placeholder 'ghost' (type not installed) has no port problems: its ports are unknown
    second = flow({"inp": ("input", {"name": "x", "type": "text"}), "ask": ("llm", {"model": "gpt-4o-mini", "prompt": "{{ q }}"}),
                   "calc": ("tool", {"tool": "calculator"}), "m": ("t_math", {}), "o": ("output", {"name": "r"}),
                   "o2": ("output", {"name": "r2"}), "src": ("input", {"name": "y", "type": "text"})},
                  ["inp.value -> ask.q", "ask.messages -> calc.expression", "calc.result -> o.value", "m.x -> o2.value",
                   "src.value -> inp.foo", "o.value -> o2.value"])
    assert _problems(second, {"missing_port", "type_mismatch", "required_input"}) == [
        ("error", "type_mismatch", "ask.messages -> calc.expression: a messages output cannot feed a text input "
         "(it can feed: any, messages)", "calc", "expression", "Convert the value with a Text node or a JSON step in between."),
        ("error", "missing_port", "inp has no input 'foo'", "inp", "foo", "Its inputs are: none."),
        ("error", "missing_port", "o has no output 'value'", "o", "value", "Its outputs are: none."),
        ("error", "required_input", "input 'x' has no wire and no default", "m", "x", "Wire a value into 'x'."),
    ]


# -- nodes on the careful path: every refusal names the node's JSON path and its problem, and
# -- what it accepts reads exactly as the fast path reads it (defaults included) ---------------

LAYOUT_KEYS = "collapsed, h, w, x, y"
NODE_KEYS = "id, layout, params, title, type"


def _deep(levels):
    value: dict = {}
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize("node, path, problem", [
    (5, "$.nodes[1]", "a node is an object, not a number"),
    ({"id": "b", "type": "template", "colour": 1}, "$.nodes[1]", f"unknown key 'colour' (allowed: {NODE_KEYS})"),
    ({"id": "B", "type": "template"}, "$.nodes[1].id",
     "node id must be a lowercase slug (a-z, 0-9, _; at most 64), got 'B'"),
    ({"type": "template"}, "$.nodes[1].id", "node id must be a lowercase slug (a-z, 0-9, _; at most 64), got None"),
    ({"id": "b", "type": ""}, "$.nodes[1].type", "node type must be a non-empty name, got ''"),
    ({"id": "b", "type": 7}, "$.nodes[1].type", "node type must be a non-empty name, got 7"),
    ({"id": "b", "type": "t" * 201}, "$.nodes[1].type", f"node type must be a non-empty name, got {repr('t' * 201)[:57]}..."),
    ({"id": "b", "type": "template", "title": 5}, "$.nodes[1].title", "title must be text, not a number"),
    ({"id": "b", "type": "template", "params": []}, "$.nodes[1].params", "params must be an object, not a list"),
    ({"id": "b", "type": "template", "params": _deep(70)}, "$.nodes[1].params", "nested more than 64 levels deep"),
    ({"id": "b", "type": "template", "layout": []}, "$.nodes[1].layout", "layout must be an object, not a list"),
    ({"id": "b", "type": "template", "layout": {"z": 1}}, "$.nodes[1].layout", f"unknown key 'z' (allowed: {LAYOUT_KEYS})"),
    ({"id": "b", "type": "template", "layout": {"x": "1"}}, "$.nodes[1].layout.x", "x must be a number, not text"),
    ({"id": "b", "type": "template", "layout": {"y": True}}, "$.nodes[1].layout.y", "y must be a number, not a boolean"),
    ({"id": "b", "type": "template", "layout": {"w": "1"}}, "$.nodes[1].layout.w", "w must be a number, not text"),
    ({"id": "b", "type": "template", "layout": {"h": [1]}}, "$.nodes[1].layout.h", "h must be a number, not a list"),
    ({"id": "b", "type": "template", "layout": {"x": 2e9}}, "$.nodes[1].layout.x", "x is out of range (2000000000.0)"),
    ({"id": "b", "type": "template", "layout": {"collapsed": 1}}, "$.nodes[1].layout.collapsed",
     "collapsed must be true or false"),
])
def test_a_bad_node_names_its_json_path_and_the_problem_exactly(node, path, problem):
    for item in (node, Careful(node) if isinstance(node, dict) else node):
        with pytest.raises(FlowFileError) as info:
            model_from_document(_doc([], [NODES[0], item]), registry=registry())
        assert (info.value.json_path, info.value.problem) == (path, problem)


@pytest.mark.parametrize("node, expected", [
    # nothing but id and type: every default
    ({"id": "a", "type": "template"}, ("a", "template", {}, "", 0.0, 0.0, None, None, False)),
    # whole numbers in the layout (the fast path takes floats only): read as floats
    ({"id": "a", "type": "template", "layout": {"x": 3, "y": -2, "w": 10, "h": 20}},
     ("a", "template", {}, "", 3.0, -2.0, 10.0, 20.0, False)),
    ({"id": "a", "type": "t" * 200, "title": "T", "params": {"k": [1]}, "layout": {"collapsed": True}},
     ("a", "t" * 200, {"k": [1]}, "T", 0.0, 0.0, None, None, True)),
])
def test_a_good_node_reads_the_same_on_both_paths_with_its_defaults(node, expected):
    plain = _verdict(_doc([], [node]))
    careful = _verdict(_doc([], [Careful(node)]))
    assert plain == careful == ("ok", [], [expected])
    assert all(type(v) is float for v in careful[2][0][4:8] if v is not None)


# -- frames and notes: ids, colours, numbers -----------------------------------------------

COLOR = 'color must be like "#3a4a6b", got '


@pytest.mark.parametrize("section, item, path, problem", [
    ("frames", 5, "$.frames[0]", "a frame is an object, not a number"),
    ("notes", "x", "$.notes[0]", "a note is an object, not text"),
    ("frames", {"id": "Bad"}, "$.frames[0].id", "id must be a lowercase slug, got 'Bad'"),
    ("notes", {}, "$.notes[0].id", "id must be a lowercase slug, got None"),
    # a value is quoted whole up to 60 characters of repr, then cut to 57 and "..."
    ("notes", {"id": "A" * 58}, "$.notes[0].id", f"id must be a lowercase slug, got '{'A' * 58}'"),
    ("notes", {"id": "A" * 59}, "$.notes[0].id", f"id must be a lowercase slug, got '{'A' * 56}..."),
    ("frames", {"id": "f", "color": "1234567"}, "$.frames[0].color", COLOR + "'1234567'"),
    ("frames", {"id": "f", "color": "#3a4a"}, "$.frames[0].color", COLOR + "'#3a4a'"),
    ("frames", {"id": "f", "color": "#3a4a6b1"}, "$.frames[0].color", COLOR + "'#3a4a6b1'"),
    ("frames", {"id": "f", "color": "#3a4a6b12a"}, "$.frames[0].color", COLOR + "'#3a4a6b12a'"),
    ("notes", {"id": "n", "color": "#g34"}, "$.notes[0].color", COLOR + "'#g34'"),
    ("notes", {"id": "n", "color": 7}, "$.notes[0].color", COLOR + "7"),
    ("notes", {"id": "n", "x": float("inf")}, "$.notes[0].x", "x must be a number, not a number"),
    ("notes", {"id": "n", "y": float("-inf")}, "$.notes[0].y", "y must be a number, not a number"),
    ("notes", {"id": "n", "w": float("nan")}, "$.notes[0].w", "w must be a number, not a number"),
    ("notes", {"id": "n", "h": "2"}, "$.notes[0].h", "h must be a number, not text"),
    ("frames", {"id": "f", "x": "1"}, "$.frames[0].x", "x must be a number, not text"),
    ("frames", {"id": "f", "y": True}, "$.frames[0].y", "y must be a number, not a boolean"),
    ("frames", {"id": "f", "w": None}, "$.frames[0].w", "w must be a number, not null"),
    ("frames", {"id": "f", "h": []}, "$.frames[0].h", "h must be a number, not a list"),
    ("frames", {"id": "f", "title": 5}, "$.frames[0].title", "title must be text, not a number"),
    ("notes", {"id": "n", "text": []}, "$.notes[0].text", "text must be text, not a list"),
    ("frames", {"id": "f", "z": 1}, "$.frames[0]", "unknown key 'z' (allowed: color, h, id, title, w, x, y)"),
    ("notes", {"id": "n", "z": 1}, "$.notes[0]", "unknown key 'z' (allowed: color, h, id, text, w, x, y)"),
])
def test_a_bad_frame_or_note_names_its_json_path_and_the_problem_exactly(section, item, path, problem):
    with pytest.raises(FlowFileError) as info:
        model_from_document({"format": "orchestra-flow", "version": 1, section: [item]}, registry=registry())
    assert (info.value.json_path, info.value.problem) == (path, problem)


@pytest.mark.parametrize("section", ["nodes", "edges", "frames", "notes"])
def test_a_section_that_is_not_a_list_is_named(section):
    with pytest.raises(FlowFileError) as info:
        model_from_document({"format": "orchestra-flow", "version": 1, section: 5}, registry=registry())
    assert (info.value.json_path, info.value.problem) == (f"$.{section}", f"{section} must be a list, not a number")


@pytest.mark.parametrize("section, kind", [("frames", "frame"), ("notes", "note")])
def test_two_frames_or_notes_with_one_id_are_refused(section, kind):
    with pytest.raises(FlowFileError) as info:
        model_from_document({"format": "orchestra-flow", "version": 1, section: [{"id": "a"}, {"id": "a"}]},
                            registry=registry())
    assert (info.value.json_path, info.value.problem) == (f"$.{section}", f"duplicate {kind} ids")


def test_a_frame_or_note_written_with_only_its_id_gets_the_models_defaults():
    """Hand-written files name only an id; the rest is what a new frame or note has."""
    m = model_from_document({"format": "orchestra-flow", "version": 1, "frames": [{"id": "f"}],
                             "notes": [{"id": "n"}]}, registry=registry())
    assert list(m.frames.values()) == [Frame("f")] and list(m.notes.values()) == [Note("n")]
    assert (Frame("f").title, Frame("f").color, Frame("f").width, Frame("f").height) == ("", "#3a4a6b", 400.0, 300.0)
    assert (Note("n").text, Note("n").color, Note("n").width, Note("n").height) == ("", "#6b5e2e", 220.0, 120.0)


def test_every_field_a_frame_or_note_names_is_kept():
    frame = {"id": "f", "title": "T", "color": "#123456", "x": 1.5, "y": -2.5, "w": 10.0, "h": 20.0}
    note = {"id": "n", "text": "N", "color": "#abcdef", "x": 3.5, "y": -4.5, "w": 30.0, "h": 40.0}
    m = model_from_document({"format": "orchestra-flow", "version": 1, "frames": [frame], "notes": [note]},
                            registry=registry())
    assert list(m.frames.values()) == [Frame("f", "T", "#123456", 1.5, -2.5, 10.0, 20.0)]
    assert list(m.notes.values()) == [Note("n", "N", "#abcdef", 3.5, -4.5, 30.0, 40.0)]


@pytest.mark.parametrize("color", ["#abc", "#A1B2C3", "#0a0B0c0D", "#ABCDEF"])
def test_colours_of_three_six_or_eight_hex_digits_either_case_are_kept(color):
    m = model_from_document({"format": "orchestra-flow", "version": 1, "frames": [{"id": "f", "color": color}],
                             "notes": [{"id": "n", "color": color}]}, registry=registry())
    assert [f.color for f in m.frames.values()] == [n.color for n in m.notes.values()] == [color]


def test_params_nest_up_to_64_levels_and_no_deeper():
    for levels, ok in ((64, True), (65, False)):
        node = {"id": "b", "type": "template", "params": {"deep": _deep(levels - 1)}}
        for item in (node, Careful(node)):
            verdict = _verdict(_doc([], [NODES[0], item]))
            assert (verdict[0] == "ok") is ok, (levels, verdict[:3])


@pytest.mark.parametrize("layout, path, problem", [
    ({k: v}, f"$.nodes[0].layout.{k}", f"{k} is out of range ({v})")
    for k in "xywh" for v in (1e9 + 0.5, -1e9 - 0.5)
])
def test_a_layout_number_just_past_a_billion_is_refused(layout, path, problem):
    for item in ({"id": "a", "type": "template", "layout": layout},
                 Careful({"id": "a", "type": "template", "layout": layout})):
        assert _verdict(_doc([], [item]))[:3] == ("error", path, problem)
    edge = {"id": "a", "type": "template", "layout": {"x": 1e9, "y": -1e9}}
    assert _verdict(_doc([], [Careful(edge)]))[2] == [("a", "template", {}, "", 1e9, -1e9, None, None, False)]


def test_a_colour_of_letters_that_are_not_hex_digits_is_refused():
    with pytest.raises(FlowFileError) as info:
        model_from_document({"format": "orchestra-flow", "version": 1, "notes": [{"id": "n", "color": "#XXX"}]},
                            registry=registry())
    assert info.value.json_path == "$.notes[0].color"


def test_notes_and_frames_are_saved_in_id_order():
    from studio.core.document.flowfile import to_document

    m = model_from_document({"format": "orchestra-flow", "version": 1,
                             "notes": [{"id": "b"}, {"id": "a"}, {"id": "c"}],
                             "frames": [{"id": "z"}, {"id": "y"}]}, registry=registry())
    doc = to_document(m)
    assert [n["id"] for n in doc["notes"]] == ["a", "b", "c"] and [f["id"] for f in doc["frames"]] == ["y", "z"]


def test_a_duplicate_node_id_names_both_places_on_either_path():
    for second in ({"id": "a", "type": "template"}, Careful({"id": "a", "type": "template"})):
        verdict = _verdict(_doc([], [{"id": "a", "type": "template"}, {"id": "b", "type": "template"}, second]))
        assert verdict == ("error", "$.nodes[2].id", "duplicate node id 'a' (also at nodes[0])")


def test_a_node_without_params_gets_its_own_empty_params():
    m = model_from_document(_doc([], [{"id": "a", "type": "template"}, {"id": "b", "type": "template"}]),
                            registry=registry())
    a, b = m.nodes["a"].params, m.nodes["b"].params
    a["k"] = 1
    assert b == {} and a is not b
