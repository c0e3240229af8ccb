"""Flow files: byte-identical round trips, deterministic output, atomic saves,
migrations, placeholders and `requires`, and errors that name the JSON path."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core.document import commands as C
from studio.core.document import flowfile
from studio.core.errors import FlowFileError
from studio.core.document.model import FlowModel
from studio.core.catalogue.registry import PlaceholderNode
from studio.core.document.validation import validate

from corehelp import FLOWS, flow

FIXTURES = sorted(FLOWS.glob("*.flow.json"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_load_save_load_is_byte_identical(path: Path, tmp_path: Path) -> None:
    raw = path.read_bytes()
    model = flowfile.load_flow(path)
    out = tmp_path / path.name
    flowfile.save_flow(model, out)
    assert out.read_bytes() == raw, f"{path.name} changed on load -> save (regenerate with tests/core/make_flows.py?)"
    again = flowfile.load_flow(out)
    assert flowfile.dumps(again).encode() == raw
    assert flowfile.to_document(again) == flowfile.to_document(model)


def test_every_fixture_is_covered() -> None:
    names = {p.name for p in FIXTURES}
    assert {"structural.flow.json", "placeholders.flow.json", "nested.flow.json", "sub.flow.json",
            "text_edge_cases.flow.json", "dangling.flow.json", "surrogate.flow.json"} <= names


def test_structural_fixture_has_every_structural_type_and_section() -> None:
    model = flowfile.load_flow(FLOWS / "structural.flow.json")
    kinds = {model.node_type(n).kind for n in model.nodes}
    assert kinds >= {"input", "output", "branch", "merge", "loop", "fanout", "collect", "approval", "subflow"}
    assert {n.type for n in model} >= {"template"}
    assert model.frames and model.notes
    assert {"pricing", "settings", "tests"} <= set(model.meta)
    assert validate(model) == []  # the fixture is a valid flow (its subflow resolves)
    assert model.input_ports("polish").keys() == {"text"}


def test_output_is_sorted_indented_and_ends_with_a_newline() -> None:
    text = (FLOWS / "structural.flow.json").read_text("utf-8")
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert [n["id"] for n in doc["nodes"]] == sorted(n["id"] for n in doc["nodes"])
    keys = [(e["to"], e["from"]) for e in doc["edges"]]
    assert keys == sorted(keys)
    assert "\n  \"edges\": [\n    {\n      \"from\"" in text  # two-space indent


def test_two_saves_of_a_flow_edited_in_different_orders_are_identical() -> None:
    def build(order: list[int]) -> FlowModel:
        m = FlowModel("same")
        stack = C.UndoStack(m)
        steps = [C.AddNode("input", 0, 0, node_id="a"), C.AddNode("template", 1, 1, {"template": "{{ v }}"}, node_id="b"),
                 C.AddNode("output", 2, 2, node_id="c")]
        for i in order:
            stack.push(steps[i])
        stack.push(C.Connect("b", "text", "c", "value"))
        stack.push(C.Connect("a", "value", "b", "v"))
        return m

    assert flowfile.dumps(build([0, 1, 2])) == flowfile.dumps(build([2, 0, 1]))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=30)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(JSON)
def test_fast_encoder_writes_exactly_what_json_dumps_writes(value) -> None:
    expected = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    assert flowfile.dumps(value) == expected


@pytest.mark.parametrize("value", [
    {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},  # orjson: 1.5e-7
    {"t": 2.5e-05, "u": 0.0001, "v": 1e16, "w": 1e22, "x": -0.0},  # orjson: 0.000025
    {"default": None, "note": "e-mail 0.00001 costs 1e-7", "n": 2 ** 64},
    {"keys": {"é": 1, "Z": 2, "a": [], "b": {}}, "s": "\x00\x1f\x7f\u2028 \"q\" \\ /"},
])
def test_file_text_equals_json_dumps_on_the_values_orjson_spells_differently(value) -> None:
    expected = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    assert flowfile.dumps(value) == expected


def test_text_that_is_not_unicode_makes_the_file_ascii() -> None:
    value = {"lone": "\ud800 surrogate", "é": 1e-07}
    assert flowfile.dumps(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def test_encoder_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        flowfile.dumps({"x": float("nan"), "y": None})
    with pytest.raises(ValueError):
        flowfile.dumps({"x": [float("inf")]})
    with pytest.raises(ValueError):
        flowfile.dumps({"x": float("nan")})
    with pytest.raises(TypeError):
        flowfile.dumps({"x": object()})


# --------------------------------------------------------------------------- atomic save

def _saved(tmp_path: Path) -> tuple[Path, FlowModel, bytes]:
    path = tmp_path / "keep.flow.json"
    model = flowfile.load_flow(FLOWS / "sub.flow.json")
    flowfile.save_flow(model, path)
    C.UndoStack(model).push(C.SetFlowInfo(name="changed"))
    return path, model, path.read_bytes()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "keep.flow.json")


def test_crash_during_rename_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    path, model, before = _saved(tmp_path)

    def crash(*args, **kwargs):
        raise OSError("power cut")

    monkeypatch.setattr(flowfile.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        flowfile.save_flow(model, path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_crash_while_writing_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    path, model, before = _saved(tmp_path)
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise KeyboardInterrupt  # even a BaseException must not leave debris

        def __getattr__(self, name):
            return getattr(self.fh, name)

    monkeypatch.setattr(flowfile.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        flowfile.save_flow(model, path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_crash_during_fsync_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    path, model, before = _saved(tmp_path)
    monkeypatch.setattr(flowfile.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk gone")))
    with pytest.raises(OSError):
        flowfile.save_flow(model, path)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []


def test_a_model_that_cannot_be_serialised_never_touches_the_file(tmp_path: Path) -> None:
    path, model, before = _saved(tmp_path)
    model.meta["settings"] = {"bad": float("inf")}  # bypassing commands on purpose
    with pytest.raises(ValueError):
        flowfile.save_flow(model, path)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []


def test_save_keeps_permissions_and_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    target = real / "f.flow.json"
    model = flowfile.load_flow(FLOWS / "sub.flow.json")
    flowfile.save_flow(model, target)
    target.chmod(0o640)
    link = tmp_path / "link.flow.json"
    link.symlink_to(target)
    C.UndoStack(model).push(C.SetFlowInfo(description="via the link"))
    flowfile.save_flow(model, link)
    assert link.is_symlink()
    assert json.loads(target.read_text())["description"] == "via the link"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in real.iterdir()) == ["f.flow.json"]


# --------------------------------------------------------------------------- versions

def test_migration_hook_upgrades_old_files(monkeypatch) -> None:
    def v0_to_v1(doc):
        # version 0 called the nodes "steps" and wrote edges as [from, to] pairs
        doc["nodes"] = doc.pop("steps")
        doc["edges"] = [{"from": a, "to": b} for a, b in doc.pop("links")]
        return doc

    monkeypatch.setitem(flowfile.MIGRATIONS, 0, v0_to_v1)
    old = {"format": "orchestra-flow", "version": 0, "name": "old",
           "steps": [{"id": "a", "type": "input"}, {"id": "b", "type": "output"}], "links": [["a.value", "b.value"]]}
    model = flowfile.loads(json.dumps(old))
    assert list(model.nodes) == ["a", "b"] and [str(e) for e in model.edges] == ["a.value -> b.value"]
    assert json.loads(flowfile.dumps(model))["version"] == flowfile.VERSION


def test_migration_failures_are_flow_file_errors(monkeypatch) -> None:
    monkeypatch.setitem(flowfile.MIGRATIONS, 0, lambda doc: 1 / 0)
    with pytest.raises(FlowFileError, match="could not migrate from version 0"):
        flowfile.loads('{"format": "orchestra-flow", "version": 0}')
    monkeypatch.setitem(flowfile.MIGRATIONS, 0, lambda doc: None)
    with pytest.raises(FlowFileError, match="returned null"):
        flowfile.loads('{"format": "orchestra-flow", "version": 0}')


@pytest.mark.parametrize("version,message", [
    (flowfile.VERSION + 1, "newer Orchestra Studio"),
    (0, "unknown file version 0"),
    (-3, "unknown file version"),
    ("1", "whole number"),
    (True, "whole number"),
])
def test_unsupported_versions(version, message) -> None:
    with pytest.raises(FlowFileError, match=message) as info:
        flowfile.loads(json.dumps({"format": "orchestra-flow", "version": version}))
    assert info.value.json_path == "$.version"


# --------------------------------------------------------------------------- placeholders

def test_unknown_types_load_as_placeholders_naming_their_package() -> None:
    model = flowfile.load_flow(FLOWS / "placeholders.flow.json")
    nt = model.node_type("mood")
    assert issubclass(nt, PlaceholderNode)
    assert nt.missing_package == "acme-nodes" and "acme-nodes" in nt.message()
    assert model.nodes["mood"].params == {"labels": ["good", "bad"], "model": "acme-large", "threshold": 0.7}
    assert [str(e) for e in model.edges_into("translate")] == ["mood.label -> translate.text"]
    problems = [p for p in validate(model) if p.code == "unknown_type"]
    assert {p.node for p in problems} == {"mood", "translate"}
    assert any("acme-nodes" in p.message for p in problems)


def test_requires_names_types_packages_and_versions() -> None:
    doc = flowfile.to_document(flowfile.load_flow(FLOWS / "placeholders.flow.json"))
    req = doc["requires"]
    assert req["node_types"] == {"acme.sentiment": "acme-nodes", "globex.translate": "globex-nlp",
                                 "input": "orchestra-studio", "output": "orchestra-studio"}
    assert req["packages"]["acme-nodes"] == "2.1.0" and req["packages"]["globex-nlp"] == "0.9"
    assert "orchestra-studio" in req["packages"]


def test_a_placeholder_without_a_package_still_explains_itself() -> None:
    model = flow(("x", "nobody.knows"))
    [p] = [p for p in validate(model) if p.code == "unknown_type"]
    assert "nobody.knows" in p.message and "does not say which package" in p.message


def test_interface_lists_inputs_and_outputs() -> None:
    doc = flowfile.to_document(flowfile.load_flow(FLOWS / "structural.flow.json"))
    assert [i["name"] for i in doc["interface"]["inputs"]] == ["questions", "topic"]
    assert {o["name"] for o in doc["interface"]["outputs"]} == {"article", "answers", "rejected"}


def test_no_secret_field_is_written() -> None:
    text = (FLOWS / "structural.flow.json").read_text()
    for word in ("api_key", "apikey", "secret", "password", "token\""):
        assert word not in text.lower()


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("doc,path,fragment", [
    ([], "$", "JSON object"),
    ({"format": "other", "version": 1}, "$.format", "not an Orchestra flow"),
    ({"format": "orchestra-flow", "version": 1, "nodes": {}}, "$.nodes", "must be a list"),
    ({"format": "orchestra-flow", "version": 1, "nodes": [5]}, "$.nodes[0]", "a node is an object"),
    ({"format": "orchestra-flow", "version": 1, "nodes": [{"id": "Bad Id", "type": "input"}]}, "$.nodes[0].id", "lowercase slug"),
    ({"format": "orchestra-flow", "version": 1, "nodes": [{"id": "a\n", "type": "input"}]}, "$.nodes[0].id", "lowercase slug"),
    ({"format": "orchestra-flow", "version": 1, "nodes": [{"id": "a", "type": "input"}, {"id": "a", "type": "output"}]},
     "$.nodes[1].id", "duplicate node id 'a'"),
    ({"format": "orchestra-flow", "version": 1, "nodes": [{"id": "a", "type": ""}]}, "$.nodes[0].type", "non-empty"),
    ({"format": "orchestra-flow", "version": 1, "nodes": [{"id": "a", "type": "input", "params": []}]}, "$.nodes[0].params", "object"),
    ({"format": "orchestra-flow", "version": 1, "nodes": [{"id": "a", "type": "input", "layout": {"x": "1"}}]},
     "$.nodes[0].layout.x", "number"),
    ({"format": "orchestra-flow", "version": 1, "nodes": [{"id": "a", "type": "input", "layout": {"x": 2e9}}]},
     "$.nodes[0].layout.x", "out of range"),
    ({"format": "orchestra-flow", "version": 1, "nodes": [{"id": "a", "type": "input", "extra": 1}]}, "$.nodes[0]", "unknown key 'extra'"),
    ({"format": "orchestra-flow", "version": 1, "edges": [{"from": "a", "to": "b.x"}]}, "$.edges[0].from", "node.port"),
    ({"format": "orchestra-flow", "version": 1, "edges": [{"from": "a.x", "to": "b.y"}, {"from": "a.x", "to": "b.y"}]},
     "$.edges[1]", "appears twice"),
    ({"format": "orchestra-flow", "version": 1, "frames": [{"id": "f", "color": "red"}]}, "$.frames[0].color", "color"),
    ({"format": "orchestra-flow", "version": 1, "notes": [{"id": "n"}, {"id": "n"}]}, "$.notes", "duplicate note ids"),
    ({"format": "orchestra-flow", "version": 1, "requires": {"node_types": {"x": 1}}}, "$.requires.node_types", "package names"),
    ({"format": "orchestra-flow", "version": 1, "name": 7}, "$.name", "text"),
    ({"format": "orchestra-flow", "version": 1, "settings": {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}},
     "$.settings", "nested more than"),
])
def test_errors_name_the_json_path(doc, path, fragment) -> None:
    with pytest.raises(FlowFileError) as info:
        flowfile.loads(json.dumps(doc))
    assert info.value.json_path == path
    assert fragment in info.value.problem


@pytest.mark.parametrize("raw,fragment", [
    (b"\xff\xfe{}", "not UTF-8"),
    (b"", "not valid JSON"),
    (b'{"format": "orchestra-flow", "version": 1,}', "not valid JSON"),
    (b'{"format": "orchestra-flow", "version": 1, "settings": NaN}', "NaN is not valid JSON"),
    (b'{"format": "orchestra-flow", "version": 1, "settings": {"x": 1e400}}', "out of range"),
    (b'{"format": "orchestra-flow", "version": 1, "settings": ' + b"1" * 5000 + b"}", "not valid JSON"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
])
def test_unreadable_bytes(raw: bytes, fragment: str) -> None:
    with pytest.raises(FlowFileError, match=fragment):
        flowfile.loads(raw)


def test_load_flow_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FlowFileError) as info:
        flowfile.load_flow(tmp_path / "missing.flow.json")
    assert info.value.file and "missing.flow.json" in str(info.value) and "cannot read" in info.value.problem
    with pytest.raises(FlowFileError, match="cannot read"):
        flowfile.load_flow(tmp_path)  # a folder
    bad = tmp_path / "bad.flow.json"
    bad.write_text('{"format": "orchestra-flow", "version": 1, "nodes": [1]}')
    with pytest.raises(FlowFileError) as info:
        flowfile.load_flow(bad)
    assert str(info.value).startswith(f"{bad}: $.nodes[0]: ")


def test_loading_never_executes_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = f"{{{{ ''.__class__.__mro__[1].__subclasses__() }}}}{{% set x = open('{marker}', 'w') %}}"
    model = flow(("t", "template", {"template": payload}), ("c", "branch", {"cases": [{"name": "x", "when": "__import__('os')"}]}))
    validate(model)
    flowfile.loads(flowfile.dumps(model))
    assert not marker.exists()


def test_lone_surrogates_are_saved_as_ascii_escapes() -> None:
    raw = (FLOWS / "surrogate.flow.json").read_bytes()
    assert raw.isascii() and b"\\ud800" in raw
    assert flowfile.loads(raw).name == "lone \ud800 surrogate"


def test_unknown_top_level_sections_survive_but_cannot_shadow_the_model() -> None:
    model = flowfile.loads('{"format": "orchestra-flow", "version": 1, "x_plugin": {"k": [1, 2]}}')
    assert json.loads(flowfile.dumps(model))["x_plugin"] == {"k": [1, 2]}
    model.meta["nodes"] = "oops"  # not reachable through commands; still harmless
    assert json.loads(flowfile.dumps(model))["nodes"] == []


def test_fragments_carry_only_the_chosen_nodes_and_their_wires() -> None:
    model = flowfile.load_flow(FLOWS / "sub.flow.json")
    frag = flowfile.fragment_document(model, ["text", "polish"])
    assert [n["id"] for n in frag["nodes"]] == ["polish", "text"]
    assert frag["edges"] == [{"from": "text.value", "to": "polish.text"}]
    nodes, edges, frames, notes = flowfile.fragment_parts(json.loads(flowfile.dumps(frag)))
    assert len(nodes) == 2 and len(edges) == 1 and frames == notes == []
    with pytest.raises(FlowFileError):
        flowfile.fragment_parts(["not", "a", "fragment"])


# -- clipboard fragments and lone surrogates ----------------------------------------------


def test_a_fragment_is_itself_a_flow_document_with_the_chosen_nodes_and_their_wires() -> None:
    m = flow(("a", "template", {"template": "x"}), ("b", "template"), ("c", "template"),
             wires=["a.text -> b.text", "b.text -> c.text"])
    frag = flowfile.fragment_document(m, ["a", "b", "gone"])
    again = flowfile.loads(json.dumps(frag))  # parse_document checks format and version
    assert sorted(again.nodes) == ["a", "b"]
    assert [(e.src, e.dst) for e in again.edges] == [("a", "b")]
    assert again.nodes["a"].params == {"template": "x"}


def test_fragment_parts_refuses_a_non_object_and_names_paths_from_the_root() -> None:
    with pytest.raises(FlowFileError) as info:
        flowfile.fragment_parts(["not", "a", "fragment"])  # type: ignore[arg-type]
    assert (info.value.json_path, info.value.problem) == ("$", "a fragment is a JSON object")
    with pytest.raises(FlowFileError) as info:
        flowfile.fragment_parts({"nodes": [{"id": "a", "type": "template"}, {"id": "BAD", "type": "template"}]})
    assert info.value.json_path == "$.nodes[1].id"
    nodes, edges, frames, notes = flowfile.fragment_parts({"nodes": [{"id": "a", "type": "template"}]})
    assert [n.id for n in nodes] == ["a"] and edges == frames == notes == []


@pytest.mark.parametrize("value, where", [
    ({"name": "fine", "nodes": [{"title": "ok"}, {"title": "bad \ud800"}]}, "$.nodes[1].title"),
    ({"params": {"bad \udc00 key": 1}}, "$.params"),
    ({"a": [["x"], ["y", "\udbff"]]}, "$.a[1][1]"),
    ("\ud800", "$"),
    ({"a": ["fine", {"b": "fine"}], "c": 3}, None),
])
def test_lone_surrogate_path_names_the_first_text_or_key_holding_one(value, where) -> None:
    assert flowfile.lone_surrogate_path(value) == where
    if where is not None:
        assert flowfile.lone_surrogate_path(value, root="$.x") == "$.x" + where[1:]


def test_loads_notes_the_lone_surrogate_and_its_node() -> None:
    raw = ('{"format": "orchestra-flow", "version": 1, "nodes": [{"id": "a", "type": "template"},'
           ' {"id": "b", "type": "template", "title": "x \\ud800"}]}')
    assert flowfile.loads(raw).invalid_text == ("$.nodes[1].title", "b")
    assert not hasattr(flowfile.loads(raw.replace("\\ud800", "fine")), "invalid_text")
    # the bytes of a file, as load_flow reads them
    assert flowfile.loads(raw.encode("utf-8")).invalid_text == ("$.nodes[1].title", "b")
    assert not hasattr(flowfile.loads(raw.replace("\\ud800", "fine").encode("utf-8")), "invalid_text")


class _Name(str):
    """A str subclass as a key (an enum-like name): not the exact-type fast path."""


@pytest.mark.parametrize("value", [{2: "a", 10: "b"}, {None: 1}, {True: 1, False: [2]}, {2.5: 1, -1.0: {"x": 2}},
                                   {_Name("b"): 1, _Name("a\u00e9\n"): 2}])
def test_fast_encoder_writes_non_text_keys_as_json_dumps_does(value) -> None:
    expected = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    assert flowfile.dumps({"params": value}) == json.dumps({"params": value}, indent=2, sort_keys=True,
                                                           ensure_ascii=False, allow_nan=False) + "\n"
    assert flowfile.dumps(value) == expected


RICH = {"params": {"nested": [{"b": [1, 2.5, [], {}], "a": {"z": None, "y": True}}, "s\u00e9\n\"q\"", [[0]]],
                   "list_of_lists": [[[]], [{}], ["x", {"k": [1]}]], "empty": {}},
        "tiny": 1e-07}  # the float orjson spells differently: the whole text comes from our own encoder


def test_our_encoder_writes_nested_objects_and_arrays_as_json_dumps_does() -> None:
    expected = json.dumps(RICH, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    assert flowfile.dumps(RICH) == expected


@pytest.mark.parametrize("value, error, message", [
    ({"a": [float("nan")], "t": 1e-07}, ValueError, "Out of range float values are not JSON compliant: nan"),
    ({"a": {"b": float("-inf")}, "t": 1e-07}, ValueError, "Out of range float values are not JSON compliant: -inf"),
    ({"a": [{1, 2}], "t": 1e-07}, TypeError, "Object of type set is not JSON serializable"),
])
def test_a_value_json_cannot_hold_is_refused_by_our_encoder_in_json_dumps_words(value, error, message) -> None:
    with pytest.raises(error) as info:
        flowfile.dumps(value)
    assert str(info.value) == message


def test_fast_encoder_refuses_a_key_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None, not tuple"):
        flowfile.dumps({"params": {(1, 2): "x"}})


@pytest.mark.parametrize("size, limit, problem", [
    (10, 5, "the file is 10 bytes; at most 5 bytes is read"),
    (3 * 1024 * 1024, 1024 * 1024, "the file is 3 MiB; at most 1 MiB is read"),
    (3 * 1024 * 1024 // 2 + 1000, 1024 * 1024, "the file is 2 MiB; at most 1 MiB is read"),  # 1.501 MiB rounds up
    (1024 * 1024, 1024 * 1024 - 1, "the file is 1 MiB; at most 1048575 bytes is read"),
])
def test_read_regular_file_names_the_size_and_the_limit(tmp_path: Path, size: int, limit: int, problem: str) -> None:
    path = tmp_path / "big.flow.json"
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: no megabytes written
    with pytest.raises(flowfile.SafeReadError) as info:
        flowfile.read_regular_file(path, limit)
    assert (info.value.errno, info.value.strerror) == (0, problem)  # 0: our refusal, not an OS error
    assert flowfile.read_regular_file(path, size) == b"\0" * size


def _refusal(path, limit: int = 1024) -> tuple[int, str]:
    with pytest.raises(flowfile.SafeReadError) as info:
        flowfile.read_regular_file(path, limit)
    return info.value.errno, info.value.strerror


def test_read_regular_file_names_what_it_found_instead_of_a_regular_file(tmp_path: Path) -> None:
    """The file dialog and `orchestra run` show this text: it says what the path is."""
    import errno
    import socket

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert _refusal(tmp_path) == (0, "a folder, not a regular file")
    assert _refusal(fifo) == (0, "a pipe (FIFO), not a regular file")  # and it did not wait for a writer
    assert _refusal(Path("/dev/null")) == (0, "a device, not a regular file")
    sock_dir = Path(tempfile.mkdtemp(dir="/tmp"))  # a socket path must be short
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(sock_dir / "s"))
            # Linux refuses to open a socket at all: the OS's own error is passed on
            assert _refusal(sock_dir / "s") == (errno.ENXIO, os.strerror(errno.ENXIO))
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)
    assert _refusal(tmp_path / "missing.flow.json") == (errno.ENOENT, os.strerror(errno.ENOENT))
    assert _refusal(str(tmp_path / "a\0b")) == (0, "embedded null byte")


@pytest.mark.parametrize("raised, said", [
    (OSError(5, "Input/output error"), (5, "Input/output error")),  # a failing disk: the OS's words
    (OSError("no errno at all"), (0, "no errno at all")),  # an OSError without errno or strerror
])
def test_read_regular_file_passes_on_an_error_while_reading(tmp_path: Path, monkeypatch, raised, said) -> None:
    path = tmp_path / "f.flow.json"
    path.write_bytes(b"{}")

    def failing_read(fd, n):
        raise raised

    monkeypatch.setattr(flowfile.os, "read", failing_read)
    assert _refusal(path) == said


def test_read_regular_file_refuses_a_file_that_reads_longer_than_its_size_said() -> None:
    """/proc files say size 0 and then read on: the cap on the read itself refuses them."""
    status = Path("/proc/self/status")
    assert _refusal(status, 10) == (0, "the file is larger than 10 bytes")
    assert flowfile.read_regular_file(status, 1 << 20).startswith(b"Name:")


KEYLIKE = "sk" "-proj-" + "a1b2c3d4e5f6a7b8c9d0" * 2


def test_save_refuses_a_key_shaped_string_unless_allowed_and_then_knows_its_folder(tmp_path: Path) -> None:
    from studio.core.userdata.secret_scan import SecretsInFlow

    m = flow(("t", "template", {"template": KEYLIKE}))
    target = tmp_path / "sub" / "f.flow.json"
    target.parent.mkdir()
    with pytest.raises(SecretsInFlow) as info:
        flowfile.save_flow(m, target)
    assert "; not saved. " in str(info.value) and not target.exists()
    flowfile.save_flow(m, target, allow_secrets=True)
    assert flowfile.load_flow(target).nodes["t"].params["template"] == KEYLIKE
    assert m.base_dir == target.parent.resolve()


def test_atomic_write_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError) as info:
        flowfile.atomic_write(tmp_path / "dir", b"x")
    assert (info.value.errno, info.value.strerror) == (0, "a folder is there; nothing was written")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError) as info:
        flowfile.atomic_write(tmp_path / "fifo", b"x")
    assert (info.value.errno, info.value.strerror) == (0, "not a regular file is there; nothing was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "fifo"]


def test_atomic_write_renames_a_hidden_temp_file_from_beside_the_target(tmp_path: Path, monkeypatch) -> None:
    moves = []
    real_replace = os.replace
    monkeypatch.setattr(flowfile.os, "replace", lambda a, b: (moves.append((Path(a), Path(b))), real_replace(a, b)))
    target = tmp_path / "f.flow.json"
    flowfile.atomic_write(target, b"one")
    [(tmp, dest)] = moves
    assert dest == target.resolve() and tmp.parent == target.resolve().parent
    assert tmp.name.startswith(".f.flow.json.") and tmp.name.endswith(".tmp")
    assert target.read_bytes() == b"one" and (target.stat().st_mode & 0o777) == 0o644
    target.chmod(0o600)
    flowfile.atomic_write(target, b"two")
    assert target.read_bytes() == b"two" and (target.stat().st_mode & 0o777) == 0o600


def test_load_flow_uses_the_given_registry_remembers_its_path_and_names_the_file_in_errors(tmp_path: Path) -> None:
    from studio.core.catalogue.registry import Registry

    path = tmp_path / "f.flow.json"
    path.write_text(json.dumps({"format": "orchestra-flow", "version": 1,
                                "nodes": [{"id": "t", "type": "template"}]}), encoding="utf-8")
    m = flowfile.load_flow(path)
    assert m.source_path == path.resolve() and m.base_dir == tmp_path.resolve()
    assert m.registry.is_known("template")
    empty = flowfile.load_flow(path, registry=Registry([]))
    assert empty.registry is not m.registry and not empty.registry.is_known("template")
    path.write_text('{"format": "orchestra-flow", "version": 1, "nodes": 3}', encoding="utf-8")
    with pytest.raises(FlowFileError) as info:
        flowfile.load_flow(path)
    assert (info.value.file, info.value.json_path, info.value.problem) == (str(path), "$.nodes",
                                                                          "nodes must be a list, not a number")


def test_loads_takes_text_holding_a_lone_surrogate_itself() -> None:
    m = flowfile.loads('{"format": "orchestra-flow", "version": 1, "name": "x \ud800 y"}')
    assert m.name == "x \ud800 y"


def test_loads_notes_a_lone_surrogate_given_as_the_character_itself() -> None:
    """A str (the clipboard, an editor's buffer) can hold the lone surrogate itself, not
    its \\u escape: it is just as unwritable, so it is noted just the same."""
    raw = ('{"format": "orchestra-flow", "version": 1, "nodes": [{"id": "a", "type": "template"},'
           ' {"id": "b", "type": "template", "title": "x \ud800"}]}')
    assert flowfile.loads(raw).invalid_text == ("$.nodes[1].title", "b")
    assert not hasattr(flowfile.loads(raw.replace("\ud800", "fine")), "invalid_text")
