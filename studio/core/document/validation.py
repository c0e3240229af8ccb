"""Validation: every structural and schema rule a flow must meet before it runs.

Returns structured Problems (severity, code, node, port, message, hint) so the CLI,
the Problems panel and the canvas badges show the same thing. Errors stop a run;
warnings do not. The rules, by code:

error    unknown_type          a node type that is not installed (names the package)
error    bad_param             a parameter that fails its schema
warning  unknown_param         a parameter the node type does not declare
error    loop_unbounded        a Loop without a bounded whole-number max_iterations
error    missing_node          an edge to or from a node that does not exist
error    missing_port          an edge to or from a port the node does not have
error    type_mismatch         an edge between incompatible port types (declared, or carried
                               through a pass-through ``any`` port: document.typeflow)
error    multiple_edges        two edges into one single-valued input
error    required_input        a required input with no edge and no default
error    template_variable_unbound  a {{ variable }} of a template with no source
error    cycle                 a cycle not closed through a Loop's feedback port
error    loop_feedback_outside feedback that does not come from the loop's body
warning  loop_without_feedback a Loop whose feedback is not wired
error    loop_edge_leaves_body a value leaving a loop body other than through 'done'
error    fanout_without_collect     a FanOut no Collect closes
error    collect_without_fanout     a Collect that closes no FanOut
error    region_multiple_collects   a FanOut whose values reach several Collects
error    region_edge_leaves    a value leaving a fan-out region other than through its Collect
error    regions_overlap       loop bodies / regions that overlap instead of nesting
warning  branch_case_unused    a Branch case with nothing downstream
warning  unreachable_output    a node that reaches no Output
warning  no_input / no_output  a flow without Input or without Output nodes
error    duplicate_name        two Input (or two Output) nodes with the same name
error    subflow_missing       a Subflow whose file cannot be read (or is not a flow)

Duplicate node ids cannot reach the model: the file loader refuses them with a
FlowFileError naming both places.

Cost: validation runs after every edit in the studio and must handle 10,000 nodes
in well under 200 ms, so everything that depends only on a node type (its static
ports, its declared parameters) is looked up once per type, ports that node types
compute from parameters are indexed once per distinct tuple, and each pass is one
sweep over nodes or edges.
"""

from __future__ import annotations

from collections import deque

from studio.core import gctune
from studio.core.document.graph import Structure, analyze
from studio.core.document.interface import interface_name
from studio.core.document.model import Edge, FlowModel
from studio.core.catalogue.nodetype import NodeType, Port
from studio.core.catalogue.portindex import Carrying, IndexedPorts, PortIndex
from studio.core.document.problems import Problem
from studio.core.catalogue.templates import safe_variables
from studio.core.catalogue.types import PortType, can_connect, incompatibility
from studio.core.document.typeflow import carried_types

# a node type that raised on its parameters (in its ports or its cross-field check,
# which catalogue.params reports under the parameter name ""): a plugin's bug
PLUGIN_BUG_HINT = "Report this to the node type's author."
LOOP_HINT = "Every loop needs a hard stop: set max_iterations to a whole number from 1 to 1000."


class _TypeInfo:
    """What validation needs of one node type, looked up once per type, not per node."""

    def __init__(self, nt: type[NodeType]):
        self.nt = nt
        self.kind = nt.kind
        self.declared = frozenset(p.name for p in nt.params)
        self.prompts = tuple(p.name for p in nt.params if p.kind == "prompt")
        self.static_in = _static_ports(nt, "input_ports")
        self.static_out = _static_ports(nt, "output_ports")
        self.bounded_loop = nt.kind == "loop" and nt.param("max_iterations") is not None


def _static_ports(nt: type[NodeType], method: str) -> IndexedPorts | None:
    """The ports, indexed, when the type does not compute them from parameters."""
    if getattr(getattr(nt, method), "__func__", None) is not getattr(NodeType, method).__func__:
        return None
    return IndexedPorts(getattr(nt, method)({}, None))


class _Pass:
    """The state one validation shares between its passes."""

    def __init__(self, model: FlowModel):
        self.model = model
        self.problems: list[Problem] = []
        self.kinds: dict[str, str] = {}
        self.in_ports: dict[str, dict[str, Port]] = {}
        self.out_ports: dict[str, dict[str, Port]] = {}
        self.template_vars: dict[str, set[str]] = {}
        self.wired_in: dict[tuple[str, str], int] = {}
        # what _check_nodes finds of each node's ports, so later passes look only where it matters
        self.needing: dict[str, tuple[str, ...]] = {}  # nodes with inputs that need a wire
        self.carrying: dict[str, Carrying] = {}  # nodes with carrying outputs (typeflow)
        self.index = PortIndex()
        self.carried_wires: list[tuple[Edge, Port]] = []  # wires out of carrying outputs into typed inputs

    def add(self, severity: str, code: str, message: str, node: str | None = None, port: str | None = None,
            hint: str = "") -> None:
        self.problems.append(Problem(severity, code, message, node, port, hint))


def validate(model: FlowModel, structure: Structure | None = None) -> list[Problem]:
    """Every problem of the flow, errors and warnings, in a stable order. Never raises
    for anything a flow file can contain."""
    with gctune.busy():
        v = _Pass(model)
        _check_nodes(v)
        _check_edges(v)
        _check_required_inputs(v)
        st = structure or analyze(model, v.kinds)
        v.problems.extend(st.problems)
        _check_carried_types(v, st)
        _check_branches(v)
        _check_reachability(v, st)
        v.problems.extend(extra_problems(model))
        return v.problems


def extra_problems(model: FlowModel) -> list[Problem]:
    """Recursive subflows (subflow_recursive) and questionable values (bad_tests,
    bad_pricing, an Input default of the wrong type): see those modules (issue 13)."""
    from studio.core.document.subflow_check import recursion_problems
    from studio.core.document.value_check import value_problems

    return recursion_problems(model) + value_problems(model)


def _check_nodes(v: _Pass) -> None:
    model, add = v.model, v.add
    infos: dict[str, _TypeInfo] = {}
    names: dict[str, dict[str, list[str]]] = {"input": {}, "output": {}}
    base_dir = model.base_dir
    for nid, node in model.nodes.items():
        info = infos.get(node.type)
        if info is None:
            info = infos[node.type] = _TypeInfo(model.node_type(nid))
        nt, kind, raw = info.nt, info.kind, node.params
        v.kinds[nid] = kind
        try:
            resolution = model.resolution(nid)
            params = resolution.values
            ins = info.static_in or v.index(nt.input_ports(params, base_dir))
            outs = info.static_out or v.index(nt.output_ports(params, base_dir))
            v.in_ports[nid], v.out_ports[nid] = ins.by_name, outs.by_name
            if ins.needing_source:
                v.needing[nid] = ins.needing_source
            if outs.carrying:
                v.carrying[nid] = outs.carrying
            param_problems = resolution.problems if kind != "placeholder" else ()
        except Exception as exc:  # a plugin's bug must not take validation down
            v.in_ports[nid] = v.out_ports[nid] = {}
            add("error", "bad_param", f"the {nt.type_id} node type failed on these parameters: {type(exc).__name__}: {exc}",
                nid, hint=PLUGIN_BUG_HINT)
            continue
        if kind == "placeholder":
            add("error", "unknown_type", nt.message(), nid,  # type: ignore[attr-defined]
                hint="Install the package that provides it (see 'requires' in the file), or replace the node.")
            continue
        if not raw.keys() <= info.declared:
            for pname in sorted(raw.keys() - info.declared):
                add("warning", "unknown_param", f"{nt.type_id} has no parameter {pname!r}; it is ignored", nid,
                    hint="Remove it, or check the spelling.")
        for pname, why in param_problems:
            if info.bounded_loop and pname == "max_iterations":
                add("error", "loop_unbounded", f"max_iterations {why}", nid, hint=LOOP_HINT)
            elif not pname:
                add("error", "bad_param", why, nid, hint=PLUGIN_BUG_HINT)
            else:
                add("error", "bad_param", f"{pname} {why}", nid, hint=_param_hint(nt, pname))
        for pname in info.prompts:
            source = params[pname]
            if isinstance(source, str):
                found = safe_variables(source)
                if found:
                    v.template_vars.setdefault(nid, set()).update(found)
        if kind in names:
            names[kind].setdefault(interface_name(params, nid), []).append(nid)
        elif kind == "subflow":
            why = getattr(nt, "file_problem", lambda params, base_dir: None)(params, base_dir)
            if why:
                add("error", "subflow_missing", why, nid,
                    hint="Check the path (relative to this flow's folder) and that the file is a valid flow.")
    for label, table in names.items():
        for name, ids in table.items():
            if len(ids) > 1:
                for nid in ids:
                    add("error", "duplicate_name", f"{len(ids)} {label} nodes are named {name!r}: {', '.join(ids)}", nid,
                        hint=f"Give each {label} a distinct name.")


def _check_edges(v: _Pass) -> None:
    nodes, kinds, add = v.model.nodes, v.kinds, v.add
    in_ports, out_ports, wired_in = v.in_ports, v.out_ports, v.wired_in
    carried_wires, any_type = v.carried_wires, PortType.ANY
    for e in v.model.edges:
        src, src_port, dst, dst_port = e
        if src not in nodes or dst not in nodes:
            for end, nid in (("from", src), ("to", dst)):
                if nid not in nodes:
                    other = dst if end == "from" else src
                    add("error", "missing_node", f"the wire {e} comes {end} a node that does not exist",
                        other if other in nodes else None, hint="Delete the wire or restore the node.")
            continue
        sp = out_ports[src].get(src_port)
        dp = in_ports[dst].get(dst_port)
        if sp is None and kinds[src] != "placeholder":
            add("error", "missing_port", f"{src} has no output {src_port!r}", src, src_port,
                hint=f"Its outputs are: {', '.join(out_ports[src]) or 'none'}.")
            continue
        if dp is None and kinds[dst] != "placeholder":
            hint = f"Its inputs are: {', '.join(in_ports[dst]) or 'none'}."
            if dst in v.template_vars:
                hint += " Inputs of a template come from its {{ variables }}."
            add("error", "missing_port", f"{dst} has no input {dst_port!r}", dst, dst_port, hint=hint)
            continue
        if sp is not None and dp is not None and sp.type is not dp.type:
            if sp.type is not any_type:
                why = incompatibility(sp.type, dp.type)
                if why:
                    add("error", "type_mismatch", f"{e}: {why}", dst, dst_port,
                        hint="Convert the value with a Text node or a JSON step in between.")
            elif sp.carries is not None:
                carried_wires.append((e, dp))  # its type is known once carried types are (_check_carried_types)
        key = (dst, dst_port)
        count = wired_in[key] = wired_in.get(key, 0) + 1
        if count == 2 and dp is not None and not dp.multi:
            add("error", "multiple_edges", f"{dst}.{dst_port} takes one value but has several wires", dst, dst_port,
                hint="Keep one wire, or join the values with a Merge or Text node first.")


def _check_carried_types(v: _Pass, st: Structure) -> None:
    """A wire from a pass-through ``any`` output whose carried type cannot feed its input
    (a Loop's text ``done`` into a Fan-out's ``items``): the run would refuse it.
    ``_check_edges`` set those wires aside (only they can fail here)."""
    if not st.order or not v.carried_wires:
        return
    carried = carried_types(st.order, v.model.edges_into, v.out_ports, v.carrying)
    for e, dp in v.carried_wires:
        t = carried.get((e.src, e.src_port))
        if t is None or can_connect(t, dp.type):
            continue
        carries = v.out_ports[e.src][e.src_port].carries
        source = "its inputs" if carries == "*" else f"its {carries!r} input"
        v.add("error", "type_mismatch",
              f"{e}: {e.src}.{e.src_port} carries a {t} value (from {source}); {incompatibility(t, dp.type)}",
              e.dst, e.dst_port, hint=f"Feed {e.dst}.{e.dst_port} a {dp.type} value, or convert it in between.")


def _check_required_inputs(v: _Pass) -> None:
    wired_in, add = v.wired_in, v.add
    for nid, needing in v.needing.items():
        for pname in needing:
            if (nid, pname) in wired_in:
                continue
            if pname in v.template_vars.get(nid, ()):
                add("error", "template_variable_unbound", f"the template uses {{{{ {pname} }}}} but nothing is wired into {pname!r}",
                    nid, pname, hint=f"Wire a value into {pname!r}, or remove {{{{ {pname} }}}} from the template.")
            else:
                add("error", "required_input", f"input {pname!r} has no wire and no default", nid, pname,
                    hint=f"Wire a value into {pname!r}.")


def _check_branches(v: _Pass) -> None:
    """A Branch case with nothing wired to it drops whatever is routed there."""
    for nid, kind in v.kinds.items():
        if kind != "branch":
            continue
        resolution = v.model.resolution(nid)
        if any(name == "cases" for name, _ in resolution.problems):
            continue  # the stored cases are broken (reported); the default ones were never written
        cases = resolution.values["cases"]
        used = {e.src_port for e in v.model.edges_from(nid)}
        for case in cases:
            if isinstance(case, dict) and isinstance(case.get("name"), str) and case["name"] not in used:
                v.add("warning", "branch_case_unused", f"case {case['name']!r} leads nowhere; values routed there are dropped",
                      nid, case["name"], hint="Wire the case to the step that should handle it.")


def _check_reachability(v: _Pass, st: Structure) -> None:
    """Every node should reach an Output (through feedback edges too: a loop body
    reaches what the loop's 'done' reaches)."""
    kinds, add = v.kinds, v.add
    if not kinds:
        return
    outputs = [n for n, k in kinds.items() if k == "output"]
    if "input" not in kinds.values():
        add("warning", "no_input", "the flow has no Input node", hint="Add an Input node so the flow can be run with values.")
    if not outputs:
        add("warning", "no_output", "the flow has no Output node", hint="Add an Output node to return a result.")
        return
    pred = st.pred
    fb_pred: dict[str, list[str]] = {}
    for e in st.feedback_edges:
        fb_pred.setdefault(e.dst, []).append(e.src)
    seen = set(outputs)
    todo = deque(outputs)
    while todo:
        n = todo.popleft()
        for p in pred.get(n, ()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
        for p in fb_pred.get(n, ()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    if len(seen) == len(kinds):
        return
    for nid, kind in kinds.items():
        if nid not in seen and kind not in ("output", "placeholder"):
            add("warning", "unreachable_output", "this node's result reaches no Output", nid,
                hint="Wire it towards an Output, or delete it if it is not needed.")


def _param_hint(nt, pname: str) -> str:
    p = nt.param(pname)
    if p is None:
        return ""
    parts = []
    if p.description:
        parts.append(p.description)
    if p.choices:
        parts.append(f"Choices: {', '.join(p.choices)}.")
    return " ".join(parts)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]
