"""Random edit sequences through the UndoStack: every undo restores the file bytes of
the state before that step, undoing everything restores the start exactly, and redo
replays the same states. Refused edits change nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.document import commands as C
from studio.core.document import flowfile
from studio.core.errors import CommandError
from studio.core.document.model import DELETE, FlowModel

from corehelp import FLOWS

STARTS = ["empty", "structural", "nested", "placeholders", "dangling"]
TYPES = ["input", "output", "template", "branch", "merge", "loop", "fanout", "collect", "approval", "acme.unknown"]
SLUGS = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
COORD = st.floats(min_value=-5000, max_value=5000, allow_nan=False) | st.sampled_from([float("nan"), 1e12, "x"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=8)
ODD = st.sampled_from([float("nan"), (1, 2), {1: "int key"}, object(), b"bytes"])


def start_model(name: str) -> FlowModel:
    if name == "empty":
        return FlowModel("empty")
    return flowfile.load_flow(FLOWS / f"{name}.flow.json")


def snapshot(model: FlowModel) -> tuple:
    """The file bytes plus what the file sorts away: the model's own order of nodes,
    edges (the order of wires into a multi-valued input), frames and notes."""
    return (flowfile.dumps(model), list(model.nodes), model.edges, list(model.frames), list(model.notes))


def check_index(model: FlowModel) -> None:
    """The per-node edge index agrees with the edge list."""
    expected: dict[str, list] = {}
    for e in model.edges:
        expected.setdefault(e.src, []).append(e)
        if e.dst != e.src:
            expected.setdefault(e.dst, []).append(e)
    actual = {k: sorted(v) for k, v in model._edges_at.items() if v}
    assert actual == {k: sorted(v) for k, v in expected.items()}


def pick(data, options, label):
    return data.draw(st.sampled_from(options), label=label) if options else None


def some_ids(data, model: FlowModel) -> list[str]:
    ids = list(model.nodes)
    chosen = data.draw(st.lists(st.sampled_from(ids), max_size=4), label="ids") if ids else []
    if data.draw(st.integers(0, 9), label="odd?") == 0:
        chosen.append("no_such_node")
    return chosen


def command(data, model: FlowModel, depth: int = 0) -> C.Command:
    kinds = ["add", "remove", "connect", "disconnect", "move", "param", "fields", "rename", "paste",
             "frame", "note", "item_edit", "item_remove", "flow"] + (["macro"] if depth == 0 else [])
    kind = data.draw(st.sampled_from(kinds), label="command")
    ids = list(model.nodes)
    nid = pick(data, ids, "node") or "nothing"
    if kind == "add":
        type_id = data.draw(st.sampled_from(TYPES), label="type")
        node_id = data.draw(st.none() | SLUGS | st.sampled_from(ids or ["x"]) | st.just("Bad Id"), label="node_id")
        params = data.draw(st.none() | st.dictionaries(st.sampled_from(["template", "name", "max_iterations", "zz"]), JSON, max_size=2)
                           | st.just({"bad": float("nan")}), label="params")
        return C.AddNode(type_id, data.draw(COORD), data.draw(COORD), params, node_id)
    if kind == "remove":
        return C.RemoveNodes(some_ids(data, model))
    if kind == "connect":
        if ids and data.draw(st.booleans(), label="valid ports?"):
            src, dst = pick(data, ids, "src"), pick(data, ids, "dst")
            sp = pick(data, list(model.output_ports(src)) or ["value"], "src_port")
            dp = pick(data, list(model.input_ports(dst)) or ["value"], "dst_port")
        else:
            src, dst, sp, dp = nid, pick(data, ids, "dst") or "b", data.draw(SLUGS), data.draw(SLUGS)
        return C.Connect(src, sp, dst, dp, check=data.draw(st.booleans(), label="check"))
    if kind == "disconnect":
        edges = model.edges
        e = pick(data, edges, "edge") if edges and data.draw(st.booleans()) else None
        return C.Disconnect(*(e or ("a", "x", "b", "y")))
    if kind == "move":
        nodes = {i: (data.draw(COORD), data.draw(COORD)) for i in some_ids(data, model)}
        frames = {f: (data.draw(COORD), 0.0) for f in data.draw(st.lists(st.sampled_from(list(model.frames) or ["frame_x"]), max_size=2))}
        notes = {n: (0.0, data.draw(COORD)) for n in data.draw(st.lists(st.sampled_from(list(model.notes) or ["note_x"]), max_size=1))}
        return C.MoveNodes(nodes, frames, notes, mergeable=data.draw(st.booleans(), label="mergeable"))
    if kind == "param":
        declared = [p.name for p in model.node_type(nid).params] if nid in model.nodes else []
        name = pick(data, declared + ["extra", ""], "param")
        value = data.draw(JSON | st.just(DELETE) | ODD, label="value")
        return C.SetParam(nid, name, value, mergeable=data.draw(st.booleans(), label="mergeable"))
    if kind == "fields":
        fields = data.draw(st.fixed_dictionaries({}, optional={
            "title": st.text(max_size=8) | st.just(5), "width": st.none() | COORD, "height": st.none() | COORD,
            "collapsed": st.booleans() | st.just("yes")}), label="fields")
        return C.SetNodeFields(nid, **fields)
    if kind == "rename":
        return C.RenameNode(nid, data.draw(SLUGS | st.sampled_from(ids or ["x"]) | st.just("Not A Slug"), label="new id"))
    if kind == "paste":
        chosen = data.draw(st.lists(st.sampled_from(ids), max_size=5), label="copy") if ids else []
        fragment = flowfile.fragment_document(model, chosen)
        if data.draw(st.integers(0, 9), label="broken?") == 0:
            fragment = {"nodes": [{"id": "BAD"}]}
        return C.PasteFragment(fragment, (data.draw(COORD), 40.0))
    if kind == "frame":
        return C.AddFrame(data.draw(st.text(max_size=6)), data.draw(COORD), 0, 300, 200,
                          data.draw(st.sampled_from(["#123456", "#abc", "red"])))
    if kind == "note":
        return C.AddNote(data.draw(st.text(max_size=20)), 0, data.draw(COORD))
    if kind == "item_edit":
        table = data.draw(st.sampled_from(["frames", "notes"]))
        item = pick(data, list(getattr(model, table)), "item") or "none_1"
        field = "title" if table == "frames" else "text"
        return C.UpdateItem(table, item, **{field: data.draw(st.text(max_size=6))},
                            color=data.draw(st.sampled_from(["#000000", "#ffffff", "blue"])), x=data.draw(COORD))
    if kind == "item_remove":
        table = data.draw(st.sampled_from(["frames", "notes"]))
        return C.RemoveItem(table, pick(data, list(getattr(model, table)), "item") or "none_1")
    if kind == "flow":
        return data.draw(st.sampled_from([
            C.SetFlowInfo(name=data.draw(st.text(max_size=10))),
            C.SetFlowInfo(description=data.draw(st.text(max_size=10)), settings=data.draw(JSON)),
            C.SetFlowInfo(tests=DELETE),
            C.SetFlowInfo(nodes=[]),  # reserved: refused
            C.SetFlowInfo(pricing=float("inf")),  # not JSON: refused
        ]), label="flow edit")
    # macro: a few edits as one step (a refused part rolls the earlier parts back)
    return C.Macro("Several", [command(data, model, depth + 1) for _ in range(data.draw(st.integers(1, 3), label="n"))])


@settings(max_examples=150, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_edit_sequences_undo_and_redo_exactly(data) -> None:
    model = start_model(data.draw(st.sampled_from(STARTS), label="start"))
    events: list[str] = []
    model.subscribe(lambda ev: events.append(ev.kind))
    stack = C.UndoStack(model)
    states = [snapshot(model)]  # states[i]: the model after i steps
    for _ in range(data.draw(st.integers(1, 25), label="length")):
        cmd = command(data, model)
        before, depth = snapshot(model), stack.undo_count
        try:
            stack.push(cmd)
        except CommandError:
            assert snapshot(model) == before, f"refused {type(cmd).__name__} changed the model"
            assert stack.undo_count == depth
            continue
        after = snapshot(model)
        flowfile.loads(after[0])  # whatever commands make, the file format accepts
        check_index(model)
        if stack.undo_count == depth:  # merged into the previous step
            states[-1] = after
        else:
            assert stack.undo_count == depth + 1
            states.append(after)
    for i in range(len(states) - 1, 0, -1):
        assert snapshot(model) == states[i]
        assert stack.undo()
        assert snapshot(model) == states[i - 1], "an undo did not restore the state before its step"
        check_index(model)
    assert flowfile.dumps(model) == states[0][0]
    assert not stack.undo()
    for i in range(1, len(states)):
        assert stack.redo()
        assert snapshot(model) == states[i], "redo did not replay the same state"
    assert not stack.redo()
    assert events or len({s[0] for s in states}) == 1  # listeners saw every change


def test_the_property_test_sees_every_kind_of_command() -> None:
    """Guard against a generator that silently stops producing some command kinds."""
    seen: set[str] = set()

    @settings(max_examples=150, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def collect(data):
        model = start_model("structural")
        stack = C.UndoStack(model)
        for _ in range(5):
            cmd = command(data, model)
            seen.add(type(cmd).__name__)
            try:
                stack.push(cmd)
                seen.add("ok:" + type(cmd).__name__)
            except CommandError:
                pass

    collect()
    for name in ("AddNode", "RemoveNodes", "Connect", "Disconnect", "MoveNodes", "SetParam", "SetNodeFields",
                 "RenameNode", "PasteFragment", "Macro", "AddItem", "UpdateItem", "RemoveItem", "SetFlowInfo"):
        assert name in seen and f"ok:{name}" in seen, name
