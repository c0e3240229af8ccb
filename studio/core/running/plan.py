"""A run plan: an immutable snapshot of a flow compiled for the executor.

The executor never reads the live model: the plan copies parameters, resolves ports,
precomputes every node's incoming wires (with their coercions) and, per scope (the
root, each loop body, each fan-out region), the units that run there and which units
each one waits for. A loop or fan-out is one unit in its parent scope (its Collect
belongs to it); the values an inner scope reads from outside become dependencies of
that unit, so an instance starts only with everything it reads already resolved.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from studio.core.errors import OrchestraError
from studio.core.document.graph import Structure, analyze
from studio.core.document.interface import interface_name as document_interface_name
from studio.core.document.typeflow import carried_types
from studio.core.document.model import FlowModel
from studio.core.catalogue.kinds import Kind
from studio.core.catalogue.portindex import Carrying, PortIndex
from studio.core.catalogue.nodetype import NodeType, Port
from studio.core.catalogue.params import StepPolicy, step_policy
from studio.core.document.problems import Problem
from studio.core.catalogue.types import PortType, can_connect
from studio.core.running.events import stable_json
from studio.core.document.validation import validate


class FlowInvalid(OrchestraError):
    """The flow has validation errors; nothing ran."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errs = [p for p in problems if p.is_error]
        first = errs[0] if errs else None
        super().__init__(f"the flow has {len(errs)} error(s)" + (f"; first: {first.node or 'flow'}: {first.message}" if first else ""))


@dataclass
class InEdge:
    port: str
    src: str
    src_port: str
    coerce_from: PortType | None  # set when a lossless coercion applies
    coerce_to: PortType | None = None


@dataclass
class NodeSpec:
    id: str
    type_id: str
    kind: Kind
    impl: NodeType
    params: dict[str, Any]
    title: str
    in_edges: list[InEdge]
    in_ports: dict[str, Port]  # this and the dicts below: shared by nodes with equal ports, never changed
    out_ports: dict[str, Port]
    error_wired: bool
    paid: bool
    policy: StepPolicy
    defaults: dict[str, Any] = field(default_factory=dict)  # unconnected inputs with defaults
    out_template: dict[str, Any] = field(default_factory=dict)  # port -> value before run() fills it

    key_seed: Any = None  # filled by cache_key_seed() when the plan is compiled: see there


def cache_key_seed(spec: NodeSpec) -> "hashlib._Hash":
    """A hash fed with the node's type and parameters, the constant part of every cache
    key of the node (engine/step.cache_key). Made when the plan is compiled -- a plan
    is made once and may run many times (a server, a batch) -- and kept on the spec, so
    a key costs a copy of it and the inputs. (The bytes are those of hashing the
    parameters' own digest followed by the inputs, as keys were always made.)

    The studio compiles a plan for every run, so seeds are also kept by content across
    plans: one encoding of the parameters and a lookup instead of two hashes."""
    seed = spec.key_seed
    if seed is None:
        blob = stable_json([spec.type_id, spec.params])
        seed = _seeds.get(blob)
        if seed is None:
            digest = hashlib.blake2b(blob, digest_size=16).digest()
            seed = hashlib.blake2b(digest, digest_size=16)
            _keep_seed(blob, seed)
        spec.key_seed = seed
    return seed


_seeds: dict[bytes, Any] = {}  # encoded (type, params) -> seed; read-only once stored
_SEEDS_MAX_BYTES = 4 << 20  # long prompts make long keys: forget them all past this
_seeds_bytes = 0


def _keep_seed(blob: bytes, seed: Any) -> None:
    global _seeds_bytes
    if _seeds_bytes + len(blob) > _SEEDS_MAX_BYTES:
        _seeds.clear()
        _seeds_bytes = 0
    _seeds[blob] = seed
    _seeds_bytes += len(blob)


@dataclass
class ScopePlan:
    id: str | None  # None: the root
    kind: str  # "root" | "loop" | "fanout"
    units: list[str]
    deps: dict[str, int]  # unit -> number of units it waits for
    dependents: dict[str, list[str]]
    feedback: list[InEdge] = field(default_factory=list)  # loop: wires into 'feedback'
    result: InEdge | None = None  # fan-out: the wire into its Collect's 'item'
    tail: str | None = None


@dataclass
class Plan:
    name: str
    base_dir: Path | None
    nodes: dict[str, NodeSpec]
    scopes: dict[str | None, ScopePlan]
    structure: Structure
    problems: list[Problem]
    outputs: dict[str, str]  # output name -> Output node id
    inputs: dict[str, str]  # input name -> Input node id
    pricing: dict[str, Any]

    @property
    def scope_count(self) -> int:
        return len(self.scopes)


def interface_name(spec: NodeSpec) -> str:
    """The name an Input or Output node gives its value in the flow's interface."""
    return document_interface_name(spec.params, spec.id)


def missing_inputs(plan: "Plan", given: Mapping[str, Any]) -> list[str]:
    """The flow's inputs that ``given`` leaves out and that have no default of their own."""
    return [name for name, nid in plan.inputs.items() if name not in given and plan.nodes[nid].params["default"] is None]


def compile_plan(model: FlowModel, check: bool = True) -> Plan:
    """Validate and compile; raises FlowInvalid when the flow has errors."""
    st = analyze(model)
    problems = validate(model, st)
    if check and any(p.is_error for p in problems):
        raise FlowInvalid(problems)

    nodes: dict[str, NodeSpec] = {}
    in_map: dict[str, list[InEdge]] = {nid: [] for nid in model.nodes}
    wired_out: set[tuple[str, str]] = set()
    for e in model.edges:
        wired_out.add((e.src, e.src_port))
    index, kinds, base_dir = PortIndex(), {}, model.base_dir
    carrying: dict[str, Carrying] = {}
    for nid, node in model.nodes.items():
        nt = model.node_type(nid)
        kind = kinds.get(nt)
        if kind is None:
            kind = kinds[nt] = Kind(nt.kind)
        params = model.params(nid).detached()  # resolved: every param present, defaults filled
        ins = index(nt.input_ports(params, base_dir))
        outs = index(nt.output_ports(params, base_dir))
        nodes[nid] = NodeSpec(
            id=nid, type_id=nt.type_id, kind=kind, impl=nt(), params=params, title=node.title or nid,
            in_edges=in_map[nid], in_ports=ins.by_name, out_ports=outs.by_name,  # shared between nodes, read-only
            error_wired=(nid, "error") in wired_out,
            paid=nt.paid,
            policy=step_policy(params),
            defaults=ins.defaults,
            out_template=outs.out_template,
        )
        cache_key_seed(nodes[nid])
        if outs.carrying:
            carrying[nid] = outs.carrying
    carried = carried_types(st.order, model.edges_into, {n: s.out_ports for n, s in nodes.items()}, carrying)
    for e in model.edges:
        if e.src not in nodes or e.dst not in nodes:
            continue
        sp = nodes[e.src].out_ports.get(e.src_port)
        dp = nodes[e.dst].in_ports.get(e.dst_port)
        coerce_from = None
        src_type = carried.get((e.src, e.src_port)) or (sp.type if sp is not None else None)
        if src_type is not None and dp is not None and src_type != dp.type and dp.type != PortType.ANY and can_connect(src_type, dp.type):
            coerce_from = src_type
        in_map[e.dst].append(InEdge(e.dst_port, e.src, e.src_port, coerce_from, dp.type if coerce_from else None))

    # -- scopes -----------------------------------------------------------------
    tails = {s.tail: s.id for s in st.scopes.values() if s.tail}

    def exec_chain(nid: str) -> list[str]:
        if nid in tails:
            head = tails[nid]
            return [*st.chain(head), head]
        return st.chain(nid)

    chains = {nid: exec_chain(nid) for nid in nodes}
    scopes: dict[str | None, ScopePlan] = {}
    for sid in [None, *st.scopes]:
        kind = "root" if sid is None else st.scopes[sid].kind
        scopes[sid] = ScopePlan(sid, kind, [], {}, {})
    for nid in st.order:
        ch = chains[nid]
        owner = ch[-1] if ch else None
        if nid in tails and tails[nid] == owner:
            continue  # a Collect runs as part of its fan-out unit
        scopes[owner].units.append(nid)
    for sp in scopes.values():
        sp.deps = {u: 0 for u in sp.units}
        sp.dependents = {u: [] for u in sp.units}
    seen_dep: set[tuple[str | None, str, str]] = set()
    for nid in st.order:
        for ie in in_map[nid]:
            if nodes[nid].kind == "loop" and ie.port == "feedback":
                continue
            cu, cv = chains[ie.src], chains[nid]
            k = 0
            while k < len(cu) and k < len(cv) and cu[k] == cv[k]:
                k += 1
            scope_id = cv[k - 1] if k else None
            if scope_id is not None and tails.get(nid) == scope_id:
                continue  # the region's result wire, read when an instance ends
            u = cu[k] if len(cu) > k else ie.src
            v = cv[k] if len(cv) > k else nid
            if u == v:
                continue
            key = (scope_id, u, v)
            if key in seen_dep:
                continue
            seen_dep.add(key)
            sp = scopes[scope_id]
            sp.deps[v] += 1
            sp.dependents[u].append(v)
    for sid, info in st.scopes.items():
        sp = scopes[sid]
        if info.kind == "loop":
            sp.feedback = [ie for ie in in_map[sid] if ie.port == "feedback"]
        else:
            sp.tail = info.tail
            item_edges = [ie for ie in in_map[info.tail] if ie.port == "item"]
            sp.result = item_edges[0] if item_edges else None

    outputs = {interface_name(n): n.id for n in nodes.values() if n.kind == "output"}
    inputs = {interface_name(n): n.id for n in nodes.values() if n.kind == "input"}
    pricing = copy.deepcopy(model.meta.get("pricing")) if isinstance(model.meta.get("pricing"), dict) else {}
    return Plan(model.name, model.base_dir, nodes, scopes, st, problems, outputs, inputs, pricing)
