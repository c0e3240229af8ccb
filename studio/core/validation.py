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
error    type_mismatch         an edge between incompatible port types
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
"""

from __future__ import annotations

from collections import deque

from .graph import Structure, analyze
from .model import FlowModel
from .nodetype import NodeType, Port
from .problems import Problem
from .templates import safe_variables
from .types import incompatibility


class _TypeInfo:
    """What validation needs of one node type, looked up once per type, not per node.

    Ports of types that do not compute them from parameters are built once; the
    prompt parameters are listed once. This is what keeps 10,000 nodes fast.
    """

    def __init__(self, nt: type[NodeType]):
        self.nt = nt
        self.declared = frozenset(p.name for p in nt.params)
        self.prompts = tuple(p.name for p in nt.params if p.kind == "prompt")
        self.static_in = _static_ports(nt, "input_ports")
        self.static_out = _static_ports(nt, "output_ports")


def _static_ports(nt: type[NodeType], method: str) -> dict[str, Port] | None:
    if getattr(getattr(nt, method), "__func__", None) is not getattr(NodeType, method).__func__:
        return None  # dynamic: depends on the node's parameters
    return {p.name: p for p in getattr(nt, method)({}, None)}


def validate(model: FlowModel, structure: Structure | None = None) -> list[Problem]:
    """Every problem of the flow, errors and warnings, in a stable order. Never raises
    for anything a flow file can contain."""
    problems: list[Problem] = []
    add = problems.append
    in_ports: dict[str, dict] = {}
    out_ports: dict[str, dict] = {}
    kinds: dict[str, str] = {}
    template_vars: dict[str, set[str]] = {}
    infos: dict[str, _TypeInfo] = {}

    inputs_by_name: dict[str, list[str]] = {}
    outputs_by_name: dict[str, list[str]] = {}
    for nid, node in model.nodes.items():
        info = infos.get(node.type)
        if info is None:
            info = infos[node.type] = _TypeInfo(model.node_type(nid))
        nt = info.nt
        kinds[nid] = nt.kind
        in_ports[nid] = info.static_in if info.static_in is not None else \
            {p.name: p for p in nt.input_ports(node.params, model.base_dir)}
        out_ports[nid] = info.static_out if info.static_out is not None else \
            {p.name: p for p in nt.output_ports(node.params, model.base_dir)}
        if nt.kind == "placeholder":
            add(Problem("error", "unknown_type", nt.message(), node=nid,  # type: ignore[attr-defined]
                        hint="Install the package that provides it (see 'requires' in the file), or replace the node."))
            continue
        for pname in sorted(node.params.keys() - info.declared):
            add(Problem("warning", "unknown_param", f"{nt.type_id} has no parameter {pname!r}; it is ignored",
                        node=nid, hint="Remove it, or check the spelling."))
        for pname, why in nt.check_params(node.params):
            if nt.kind == "loop" and pname == "max_iterations":
                add(Problem("error", "loop_unbounded", f"max_iterations {why}", node=nid,
                            hint="Every loop needs a hard stop: set max_iterations to a whole number from 1 to 1000."))
            else:
                add(Problem("error", "bad_param", f"{pname} {why}", node=nid, hint=_param_hint(nt, pname)))
        if nt.kind == "loop" and "max_iterations" not in node.params and nt.param("max_iterations") is not None:
            add(Problem("error", "loop_unbounded", "max_iterations is not set", node=nid,
                        hint="Every loop needs a hard stop: set max_iterations to a whole number from 1 to 1000."))
        tv: set[str] = set()
        for pname in info.prompts:
            if isinstance(node.params.get(pname), str):
                tv.update(safe_variables(node.params[pname]))
        if tv:
            template_vars[nid] = tv
        if nt.kind == "input":
            inputs_by_name.setdefault(str(node.params.get("name", nid)), []).append(nid)
        elif nt.kind == "output":
            outputs_by_name.setdefault(str(node.params.get("name", nid)), []).append(nid)
        elif nt.kind == "subflow":
            why = getattr(nt, "file_problem", lambda params, base_dir: None)(node.params, model.base_dir)
            if why:
                add(Problem("error", "subflow_missing", why, node=nid,
                            hint="Check the path (relative to this flow's folder) and that the file is a valid flow."))

    for label, table in (("input", inputs_by_name), ("output", outputs_by_name)):
        for name, ids in table.items():
            if len(ids) > 1:
                for nid in ids:
                    add(Problem("error", "duplicate_name", f"{len(ids)} {label} nodes are named {name!r}: {', '.join(ids)}",
                                node=nid, hint=f"Give each {label} a distinct name."))

    # edges
    wired_in: dict[tuple[str, str], int] = {}
    for e in model.edges:
        bad_end = False
        for end, nid in (("from", e.src), ("to", e.dst)):
            if nid not in model.nodes:
                add(Problem("error", "missing_node", f"the wire {e} comes {end} a node that does not exist",
                            node=e.dst if end == "from" and e.dst in model.nodes else (e.src if e.src in model.nodes else None),
                            hint="Delete the wire or restore the node."))
                bad_end = True
        if bad_end:
            continue
        sp = out_ports[e.src].get(e.src_port)
        dp = in_ports[e.dst].get(e.dst_port)
        if sp is None and kinds[e.src] != "placeholder":
            add(Problem("error", "missing_port", f"{e.src} has no output {e.src_port!r}", node=e.src, port=e.src_port,
                        hint=f"Its outputs are: {', '.join(out_ports[e.src]) or 'none'}."))
            continue
        if dp is None and kinds[e.dst] != "placeholder":
            hint = f"Its inputs are: {', '.join(in_ports[e.dst]) or 'none'}."
            if e.dst in template_vars:
                hint += " Inputs of a template come from its {{ variables }}."
            add(Problem("error", "missing_port", f"{e.dst} has no input {e.dst_port!r}", node=e.dst, port=e.dst_port, hint=hint))
            continue
        if sp is not None and dp is not None:
            why = incompatibility(sp.type, dp.type)
            if why:
                add(Problem("error", "type_mismatch", f"{e}: {why}", node=e.dst, port=e.dst_port,
                            hint="Convert the value with a Text node or a JSON step in between."))
        key = (e.dst, e.dst_port)
        wired_in[key] = wired_in.get(key, 0) + 1
        if wired_in[key] == 2 and dp is not None and not dp.multi:
            add(Problem("error", "multiple_edges", f"{e.dst}.{e.dst_port} takes one value but has several wires",
                        node=e.dst, port=e.dst_port, hint="Keep one wire, or join the values with a Merge or Text node first."))

    for nid, ports in in_ports.items():
        for pname, port in ports.items():
            if port.needs_source and (nid, pname) not in wired_in:
                if pname in template_vars.get(nid, ()):
                    add(Problem("error", "template_variable_unbound",
                                f"the template uses {{{{ {pname} }}}} but nothing is wired into {pname!r}",
                                node=nid, port=pname, hint=f"Wire a value into {pname!r}, or remove {{{{ {pname} }}}} from the template."))
                else:
                    add(Problem("error", "required_input", f"input {pname!r} has no wire and no default",
                                node=nid, port=pname, hint=f"Wire a value into {pname!r}."))

    st = structure or analyze(model)
    problems.extend(st.problems)

    # branch cases with nothing downstream
    for nid, kind in kinds.items():
        if kind != "branch":
            continue
        cases = model.nodes[nid].params.get("cases")
        if not isinstance(cases, list):
            continue
        used = {e.src_port for e in model.edges_from(nid)}
        for case in cases:
            if isinstance(case, dict) and isinstance(case.get("name"), str) and case["name"] not in used:
                add(Problem("warning", "branch_case_unused", f"case {case['name']!r} leads nowhere; values routed there are dropped",
                            node=nid, port=case["name"], hint="Wire the case to the step that should handle it."))

    # reachability of outputs (with feedback edges: a loop body reaches what 'done' reaches)
    outputs = [n for n, k in kinds.items() if k == "output"]
    if not any(k == "input" for k in kinds.values()) and model.nodes:
        add(Problem("warning", "no_input", "the flow has no Input node", hint="Add an Input node so the flow can be run with values."))
    if not outputs and model.nodes:
        add(Problem("warning", "no_output", "the flow has no Output node", hint="Add an Output node to return a result."))
    else:
        preds: dict[str, list[str]] = {}
        for e in model.edges:
            if e.src in kinds and e.dst in kinds:
                preds.setdefault(e.dst, []).append(e.src)
        seen = set(outputs)
        todo = deque(outputs)
        while todo:
            n = todo.popleft()
            for p in preds.get(n, ()):
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        for nid, kind in kinds.items():
            if nid not in seen and kind not in ("output", "placeholder"):
                add(Problem("warning", "unreachable_output", "this node's result reaches no Output",
                            node=nid, hint="Wire it towards an Output, or delete it if it is not needed."))
    return problems


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
