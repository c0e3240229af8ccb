"""Fuzzing the loader and the validator with malformed files.

Whatever the bytes, ``flowfile.loads`` either returns a model or raises FlowFileError
(nothing else escapes), ``validate`` returns problems without raising, and whatever
loads also saves and reloads to the same bytes. About 2,500 examples in all, with a
fixed derandomized seed and no example database, so CI runs the same cases each time.
"""

from __future__ import annotations

import copy
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.document import flowfile
from studio.core.errors import FlowFileError
from studio.core.document.problems import Problem
from studio.core.document.validation import validate

from corehelp import FLOWS

FUZZ = dict(derandomize=True, database=None, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
FIXTURE_DOCS = [json.loads(p.read_text("utf-8")) for p in sorted(FLOWS.glob("*.flow.json"))]
FIXTURE_BYTES = [p.read_bytes() for p in sorted(FLOWS.glob("*.flow.json"))]
TYPES = ["input", "output", "template", "branch", "merge", "loop", "fanout", "collect", "approval", "subflow",
         "acme.unknown", "", "Input", "placeholder"]

SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
           | st.sampled_from(["{{ x }}", "{{", "{% for %}", "value >", "a.b", "#fff", "node.port", "a.value", "\x00", "\ud800"]))
JSON = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
                    max_leaves=20)


def outcome(raw: bytes | str) -> None:
    """The property every fuzz test checks."""
    try:
        model = flowfile.loads(raw)
    except FlowFileError as exc:
        assert str(exc) and exc.json_path.startswith("$")
        return
    problems = validate(model)
    assert isinstance(problems, list) and all(isinstance(p, Problem) for p in problems)
    text = flowfile.dumps(model)
    assert flowfile.dumps(flowfile.loads(text)) == text


@st.composite
def huge_string(draw) -> str:
    return draw(st.sampled_from("ax{ .")) * draw(st.integers(1000, 100_000))


@st.composite
def deep(draw) -> str:
    """A marker that ``as_json`` expands into lists or objects nested up to 3,000 deep
    (built as text: neither json.dumps nor hypothesis' printer could recurse that far)."""
    return f"@@deep:{draw(st.integers(1, 3000))}:{draw(st.sampled_from(['list', 'object']))}@@"


_DEEP = re.compile(r'"@@deep:(\d+):(list|object)@@"')


def as_json(value) -> str:
    def expand(m: re.Match) -> str:
        n = int(m.group(1))
        return "[" * n + "1" + "]" * n if m.group(2) == "list" else '{"k": ' * n + "1" + "}" * n
    return _DEEP.sub(expand, json.dumps(value))


IDS = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True) | st.sampled_from(["Bad", "a-b", "a\n", "", "x" * 65]) | JSON
ENDPOINTS = (st.builds(lambda a, b: f"{a}.{b}", st.sampled_from(["a", "b", "c", "ghost", "A"]),
                       st.sampled_from(["value", "text", "item", "items", "feedback", "current", "x y", ""]))
             | JSON)


@st.composite
def node_entry(draw) -> object:
    entry = {"id": draw(IDS), "type": draw(st.sampled_from(TYPES) | JSON)}
    for key, strat in (("title", st.text(max_size=10) | JSON), ("params", st.dictionaries(
            st.sampled_from(["template", "name", "type", "cases", "max_iterations", "mode", "inputs", "path", "fanout",
                             "default", "condition", "x"]), JSON | deep() | huge_string(), max_size=4) | JSON),
                       ("layout", st.fixed_dictionaries({}, optional={"x": JSON, "y": JSON, "w": JSON, "collapsed": JSON}) | JSON),
                       ("extra", JSON)):
        if draw(st.integers(0, 3)):
            entry[key] = draw(strat) if key != "extra" or draw(st.integers(0, 9)) == 0 else entry.pop("id", None)
    return entry if draw(st.integers(0, 15)) else draw(JSON)


@st.composite
def malformed_document(draw) -> dict:
    ids = draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3))
    nodes = [{"id": i, "type": draw(st.sampled_from(TYPES[:10]))} for i in ids]  # some duplicate ids
    nodes += draw(st.lists(node_entry(), max_size=5))
    doc: dict = {"format": flowfile.FORMAT, "version": draw(st.sampled_from([1, 1, 1, 0, 2, "1", None])), "nodes": nodes,
                 "edges": draw(st.lists(st.fixed_dictionaries({"from": ENDPOINTS, "to": ENDPOINTS}) | JSON, max_size=6))}
    for key in ("name", "description", "requires", "frames", "notes", "pricing", "settings", "tests", "interface", "zzz"):
        if draw(st.integers(0, 3)) == 0:
            doc[key] = draw(JSON | st.lists(st.fixed_dictionaries({"id": IDS}, optional={"color": JSON, "x": JSON}), max_size=3)
                            | deep() | huge_string())
    for key in ("format", "nodes", "edges"):
        if draw(st.integers(0, 12)) == 0:
            del doc[key]
    return doc


@settings(max_examples=400, **FUZZ)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    outcome(raw)


@settings(max_examples=300, **FUZZ)
@given(st.integers(0, len(FIXTURE_BYTES) - 1), st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=4)), min_size=1, max_size=4))
def test_byte_level_corruption_of_valid_files(which: int, edits) -> None:
    raw = bytearray(FIXTURE_BYTES[which])
    for pos, data in edits:
        pos %= len(raw) + 1
        raw[pos:pos + len(data)] = data  # overwrite, insert at the end, or truncate
    outcome(bytes(raw))


@settings(max_examples=300, **FUZZ)
@given(JSON)
def test_any_json_value(value) -> None:
    outcome(json.dumps(value))
    outcome(json.dumps({"format": flowfile.FORMAT, "version": 1, "nodes": value}))


@settings(max_examples=800, **FUZZ)
@given(malformed_document())
def test_malformed_documents(doc: dict) -> None:
    outcome(as_json(doc))


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_document(draw) -> dict:
    doc = copy.deepcopy(draw(st.sampled_from(FIXTURE_DOCS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "duplicate", "deep", "huge", "retype"]))
        last = path[-1]
        if action == "delete":
            del parent[last]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(last, copy.deepcopy(parent[last]))
        elif action == "deep":
            parent[last] = draw(deep())
        elif action == "huge":
            parent[last] = draw(huge_string())
        elif action == "retype":
            parent[last] = draw(st.sampled_from([None, 0, -1.5, "", [], {}, True, "acme.x", "ghost.value"]))
        else:
            parent[last] = draw(JSON)
    return doc


@settings(max_examples=700, **FUZZ)
@given(mutated_document())
def test_mutations_of_valid_documents(doc: dict) -> None:
    outcome(as_json(doc))


def test_fuzz_budget_is_at_least_2000_examples() -> None:
    tests = [test_arbitrary_bytes, test_byte_level_corruption_of_valid_files, test_any_json_value,
             test_malformed_documents, test_mutations_of_valid_documents]
    assert sum(t._hypothesis_internal_use_settings.max_examples for t in tests) >= 2000
