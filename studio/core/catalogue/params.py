"""Parameters resolved once: the one place that turns a node's stored params into the
values everything else reads.

A flow file may omit any parameter, and must then behave exactly as if it spelled out
the declared default. So nothing after loading reads raw params with a default of its
own: the plan, the executor, every node's ``run``, its port methods, the inspector and
``orchestra nodes`` read the result of :func:`resolve_params`, where

* every declared parameter is present (the stored value when it is valid, else the
  declared default, else the kind's empty value);
* values are coerced to their kind (a whole-number float for an integer becomes int);
* problems (wrong type, out of range, a required value missing) are collected with
  the node type's own cross-field checks, for validation to report.

Unknown parameters are kept as they are (validation warns about them), so a file from
a newer version loses nothing on a round trip through an older one.

The step policy (timeout, retries, backoff) is read from resolved values here too and
reaches node code through the run context, never by re-reading params.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from studio.core.catalogue.nodetype import MISSING, Param

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.catalogue.nodetype import NodeType


_ATOMS = frozenset({str, int, float, bool, type(None)})  # immutable: a copy may share them


class ResolvedParams(dict):
    """A node's parameter values after resolution: every declared name present.

    A distinct type so that code handed either raw or resolved values (a node type's
    port methods are called by the canvas, plugins and tests) can tell them apart and
    resolve only once (see ``NodeType.__init_subclass__``).
    """

    __slots__ = ()

    def detached(self) -> "ResolvedParams":
        """A deep copy for a run (a node may change its params without touching the
        document). Text, numbers, booleans and None are shared, not copied: a flow's
        params are nearly all of them, and ``copy.deepcopy`` of this dict subclass
        costs ~4 us even empty (it goes through ``__reduce_ex__``)."""
        return ResolvedParams({k: v if type(v) in _ATOMS else copy.deepcopy(v) for k, v in self.items()})


@dataclass(frozen=True)
class Resolution:
    """The resolved values of one node's parameters and what was wrong with the stored ones."""

    values: ResolvedParams
    problems: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class StepPolicy:
    """How one node's work is attempted: the timeout of one attempt and how often to retry."""

    timeout_s: float | None = None  # None: no limit
    retries: int = 0
    backoff_s: float = 1.0


NO_POLICY = StepPolicy()

# kinds whose invalid text is still the best reading (a broken template keeps its text,
# so the canvas does not swap its ports for the default's while someone types)
_TEXT_KINDS = frozenset({"string", "text", "prompt", "code", "expression", "path", "model"})


class _TypeParams:
    """What resolution needs of one node type, computed once per type."""

    __slots__ = ("fill", "mutable", "params", "cross_checks")

    def __init__(self, nt: type["NodeType"]):
        self.params: tuple[Param, ...] = tuple(nt.params)
        # immutable defaults are shared; list/dict defaults are copied for every node
        self.fill = {p.name: _fallback(p) for p in self.params if not isinstance(_fallback(p), (list, dict))}
        self.mutable = tuple(p for p in self.params if isinstance(_fallback(p), (list, dict)))
        from studio.core.catalogue.nodetype import NodeType

        self.cross_checks = getattr(nt.check_params, "__func__", None) is not NodeType.check_params.__func__


_per_type: dict[type, _TypeParams] = {}


def _info(nt: type["NodeType"]) -> _TypeParams:
    info = _per_type.get(nt)
    if info is None:
        info = _per_type[nt] = _TypeParams(nt)
    return info


def _fallback(p: Param) -> Any:
    """The value a parameter takes when the stored one is missing or unusable."""
    return p.initial_value()


def coerce_value(p: Param, value: Any) -> Any:
    """``value`` (already checked against ``p``) in the type its kind promises."""
    if p.kind == "integer" and isinstance(value, float):
        return int(value)
    if p.kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return value  # ints are numbers; keep them exact
    return value


def resolve_params(nt: type["NodeType"], raw: Mapping[str, Any]) -> Resolution:
    """Every declared parameter of ``nt`` resolved from ``raw`` (see the module docstring)."""
    info = _info(nt)
    values = ResolvedParams(info.fill)
    for p in info.mutable:
        values[p.name] = _copy(_fallback(p))
    problems: list[tuple[str, str]] = []
    for p in info.params:
        name = p.name
        if name not in raw:
            if p.required and not p.is_valid_default(p.default):
                # the same words as for a file that spells the (unusable) default out
                problems.append((name, "is required" if p.default is MISSING else p._full_check(p.default) or "is required"))
            continue
        value = raw[name]
        if p.is_valid_default(value):
            values[name] = value if not isinstance(value, (list, dict)) else _copy(value)
            continue
        why = p._full_check(value)
        if why:
            problems.append((name, why))
            if isinstance(value, str) and p.kind in _TEXT_KINDS:
                values[name] = value  # e.g. a template being typed: its ports stay what it says
            continue
        values[name] = coerce_value(p, value) if not isinstance(value, (list, dict)) else _copy(value)
    for name, value in raw.items():
        if name not in values:
            values[name] = value  # undeclared: kept for the round trip, warned about by validation
    if info.cross_checks:
        try:
            problems.extend(nt.check_params(values))
        except Exception as exc:  # a plugin's bug must not take validation down
            problems.append(("", f"the {nt.type_id} node type failed on these parameters: {type(exc).__name__}: {exc}"))
    return Resolution(values, tuple(problems))


def resolved_values(nt: type["NodeType"], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Just the values (for readers that do not report problems)."""
    return resolve_params(nt, raw).values


def step_policy(values: Mapping[str, Any]) -> StepPolicy:
    """The step policy of a node from its resolved values (types without policy params: none)."""
    if "timeout_s" not in values and "retries" not in values:
        return NO_POLICY
    timeout = values.get("timeout_s")
    return StepPolicy(
        timeout_s=float(timeout) if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0 else None,
        retries=int(values.get("retries") or 0),
        backoff_s=float(values.get("retry_backoff_s") or 0.0),
    )


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
