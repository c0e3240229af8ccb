"""Which column feeds which flow input, and which columns hold expectations.

Columns map to inputs by name unless ``--map column=input`` says otherwise. Every
problem is found before the first row runs and named in one error: a mapped column the
file lacks, an input the flow lacks, a required input no column feeds, an
``expected.<output>`` column for an output the flow does not have. Columns that feed
nothing are reported as ignored (not an error: datasets carry ids and notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from studio.core.running.plan import Plan, missing_inputs

from .evaluate import ExpectColumn, parse_column

_MISSING = object()


class MappingError(ValueError):
    """The columns and the flow's inputs/outputs do not fit; ``problems`` lists each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class RowDataError(ValueError):
    """One row lacks a value a required input needs (the row fails, the batch goes on)."""


@dataclass
class RowMapping:
    inputs: dict[str, str]  # flow input -> column
    required: frozenset[str]  # inputs with no default
    expected: list[ExpectColumn] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def inputs_of(self, row: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, column in self.inputs.items():
            value = row.get(column, _MISSING)
            if value is _MISSING or value is None:
                if name in self.required:
                    raise RowDataError(f"no value in column {column!r} for the required input {name!r}")
                continue  # the input's default applies
            values[name] = value
        return values

    def to_json(self) -> dict[str, Any]:
        """A plain form that travels to Ray workers."""
        return {"inputs": self.inputs, "required": sorted(self.required),
                "expected": [[e.column, e.output, e.form, e.path] for e in self.expected], "ignored": self.ignored}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "RowMapping":
        return cls(dict(doc["inputs"]), frozenset(doc["required"]),
                   [ExpectColumn(*e) for e in doc["expected"]], list(doc.get("ignored", [])))


def parse_maps(items: Iterable[str]) -> dict[str, str]:
    """``["col=input", ...]`` -> {input: col}; a malformed item is a MappingError."""
    out: dict[str, str] = {}
    problems = []
    for item in items:
        column, sep, name = item.partition("=")
        if not sep or not column.strip() or not name.strip():
            problems.append(f"--map {item!r}: expected COLUMN=INPUT")
            continue
        if name.strip() in out:
            problems.append(f"--map: the input {name.strip()!r} is mapped twice")
        out[name.strip()] = column.strip()
    if problems:
        raise MappingError(problems)
    return out


def required_inputs(plan: Plan) -> frozenset[str]:
    """The flow's inputs a row must give: those without a default (``plan.missing_inputs``)."""
    return frozenset(missing_inputs(plan, {}))


def build_mapping(columns: list[str], plan: Plan, maps: Mapping[str, str | None] | None = None) -> RowMapping:
    """Fit the dataset's columns to the flow; MappingError names every misfit at once.

    ``maps`` is {input: column}; a column of None says "no column for this input" (the
    studio's mapping table), which stops the by-name match for it.
    """
    maps = dict(maps or {})
    unmapped = {name for name, column in maps.items() if column is None}
    maps = {name: column for name, column in maps.items() if column is not None}
    problems: list[str] = []
    have = ", ".join(columns) or "none"
    flow_inputs = ", ".join(plan.inputs) or "none"
    for name, column in maps.items():
        if name not in plan.inputs:
            problems.append(f"--map {column}={name}: the flow has no input {name!r} (its inputs: {flow_inputs})")
        if column not in columns:
            problems.append(f"--map {column}={name}: the data has no column {column!r} (its columns: {have})")
    inputs = {name: col for name, col in maps.items() if name in plan.inputs}
    for name in plan.inputs:
        if name not in inputs and name in columns and name not in unmapped:
            inputs[name] = name
    required = required_inputs(plan)
    for name in plan.inputs:
        if name in required and name not in inputs and name not in maps:  # a bad --map is reported above
            problems.append(f"the flow's required input {name!r} has no column: add a column named {name!r} "
                            f"or pass --map COLUMN={name} (the data's columns: {have})")
    expected = []
    for column in columns:
        exp = parse_column(column)
        if exp is None:
            continue
        if exp.output not in plan.outputs:
            problems.append(f"column {column!r} expects the output {exp.output!r}, which the flow does not have "
                            f"(its outputs: {', '.join(plan.outputs) or 'none'})")
        else:
            expected.append(exp)
    if problems:
        raise MappingError(problems)
    used = set(inputs.values()) | {e.column for e in expected}
    return RowMapping(inputs, required, expected, [c for c in columns if c not in used])
