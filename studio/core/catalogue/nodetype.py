"""How a node type is declared: typed ports addressed by name, a parameter schema, run().

A node type is one class in one file under ``nodes/``. The declaration is data the
whole product reads: the palette (title, category), the inspector (the parameter
schema), the file format (parameters by name), the validator (ports and their types)
and the executor (``run``). Ports may depend on parameters -- a template's
``{{ variables }}`` become input ports -- so ports are asked for with the node's
parameters in hand.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

from studio.core.catalogue.templates import TemplateProblem, expression_problem, template_variables
from studio.core.catalogue.types import PortType, json_kind

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.catalogue.context import NodeContext
    from studio.core.catalogue.params import Resolution


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
"""Marks a port or parameter without a default (distinct from a default of None)."""


@dataclass(frozen=True)
class Port:
    """A named, typed input or output.

    ``required`` inputs need an edge or a default; a SKIP arriving on one skips the node.
    ``multi`` inputs accept several edges and receive a list (in edge order).
    ``carries`` (outputs of type any): the input whose value passes through, or "*" for
    the inputs' common type; validation and the plan give the port that type
    (see document.typeflow).
    """

    name: str
    type: PortType = PortType.ANY
    description: str = ""
    default: Any = MISSING
    required: bool = True
    multi: bool = False
    carries: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING

    @property
    def needs_source(self) -> bool:
        return self.required and not self.has_default


PARAM_KINDS = (
    "string",  # one line of text
    "text",  # several lines of plain text
    "prompt",  # a jinja2 template; its variables become input ports
    "code",  # source code shown in a code editor (never run by loading)
    "expression",  # a sandboxed jinja2 expression
    "number",
    "integer",
    "boolean",
    "enum",
    "model",  # a litellm model string
    "json",  # any JSON value
    "list",  # a list of strings
    "path",  # a path relative to the flow's folder
    "cases",  # Branch cases: a list of {"name": port name, "when": condition}
    "secret",  # a stored secret named as {{ secrets.NAME }}; never the value (credentials.resolve_refs)
)


@dataclass(frozen=True)
class Param:
    """One entry of a node type's parameter schema.

    The schema drives the inspector form (kind, range, choices, description), the file
    format (parameters are stored by name; values equal to the default are kept too so
    a file says what it means) and validation (``check``).
    """

    name: str
    kind: str = "string"
    default: Any = MISSING
    description: str = ""
    label: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    nullable: bool = False
    advanced: bool = False

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r} for {self.name!r}")
        if self.kind == "enum" and not self.choices:
            raise ValueError(f"enum parameter {self.name!r} needs choices")
        # Most stored values are the default; check_params skips those when the default
        # itself passes (validation runs after every edit, over every node).
        object.__setattr__(self, "_default_valid", self.default is not MISSING and self._full_check(self.default) is None)

    def is_valid_default(self, value: Any) -> bool:
        """True when ``value`` is this parameter's default and the default is valid."""
        d = self.default
        return self._default_valid and (value is d or type(value) is type(d) and value == d)  # type: ignore[attr-defined]

    def _full_check(self, value: Any) -> str | None:
        why = self.check(value)
        if why is None and isinstance(value, str) and value:
            if self.kind == "prompt":
                try:
                    template_variables(value)
                except TemplateProblem as exc:
                    return str(exc)
            elif self.kind == "expression":
                return expression_problem(value)
        return why

    @property
    def display_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def initial_value(self) -> Any:
        """The value a freshly added node starts with."""
        if self.default is not MISSING:
            return _copy_json(self.default)
        return {
            "number": 0,
            "integer": 0,
            "boolean": False,
            "enum": self.choices[0] if self.choices else "",
            "json": None,
            "list": [],
            "cases": [],
        }.get(self.kind, "")

    def check(self, value: Any) -> str | None:
        """Why ``value`` does not fit this parameter, or None when it does."""
        if value is None:
            if self.nullable or not self.required and self.default is None:
                return None
            return "must not be empty" if self.required else "must not be null"
        kind = self.kind
        if kind == "secret":
            from studio.core.userdata.credentials import SECRET_REF

            if not isinstance(value, str) or (value.strip() and not SECRET_REF.fullmatch(value.strip())):
                return "must name a stored secret as {{ secrets.NAME }}, never hold the value itself"
            return "must not be empty" if self.required and not value.strip() else None
        if kind in ("string", "text", "prompt", "code", "expression", "model", "path"):
            if not isinstance(value, str):
                return f"must be text, not {json_kind(value)}"
            if self.required and not value.strip():
                return "must not be empty"
            return None
        if kind in ("number", "integer"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"must be a number, not {json_kind(value)}"
            if isinstance(value, float) and not math.isfinite(value):
                return "must be a finite number"
            if kind == "integer" and isinstance(value, float) and not value.is_integer():
                return "must be a whole number"  # (float() of a huge int would overflow)
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {_fmt(self.minimum)}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {_fmt(self.maximum)}"
            return None
        if kind == "boolean":
            return None if isinstance(value, bool) else f"must be true or false, not {json_kind(value)}"
        if kind == "enum":
            if value in self.choices:
                return None
            return f"must be one of {', '.join(self.choices)}"
        if kind == "list":
            if not isinstance(value, list):
                return f"must be a list, not {json_kind(value)}"
            return None
        if kind == "cases":
            return _check_cases(value)
        return None  # json: anything JSON can hold

    def json_schema(self) -> dict[str, Any]:
        """This parameter as JSON Schema, for ``orchestra nodes --json`` and plugins."""
        base: dict[str, Any]
        if self.kind in ("number",):
            base = {"type": "number"}
        elif self.kind == "integer":
            base = {"type": "integer"}
        elif self.kind == "boolean":
            base = {"type": "boolean"}
        elif self.kind == "enum":
            base = {"enum": list(self.choices)}
        elif self.kind == "list":
            base = {"type": "array"}
        elif self.kind == "cases":
            base = {"type": "array", "items": {"type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "when": {"type": "string"}}}}
        elif self.kind == "json":
            base = {}
        else:
            base = {"type": "string", "format": self.kind}
        if self.minimum is not None:
            base["minimum"] = self.minimum
        if self.maximum is not None:
            base["maximum"] = self.maximum
        if self.description:
            base["description"] = self.description
        if self.default is not MISSING:
            base["default"] = self.default
        if self.nullable and base.get("type"):
            base["type"] = [base["type"], "null"]
        elif self.nullable and "enum" in base:
            base["enum"] = [*base["enum"], None]
        return base


_PORT_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


def _check_cases(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"must be a list of cases, not {json_kind(value)}"
    seen: set[str] = set()
    for i, case in enumerate(value):
        if not isinstance(case, dict) or not isinstance(case.get("name"), str) or not isinstance(case.get("when", ""), str):
            return f"case {i + 1} must be an object with a name and a 'when' condition"
        name = case["name"]
        if not _PORT_NAME_RE.match(name):
            return f"case {i + 1}: {name!r} is not a valid port name (letters, digits, _)"
        if name in seen or name in ("default", "route", "error"):
            return f"case {i + 1}: the name {name!r} is taken"
        seen.add(name)
    return None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


ERROR_PORT = Port(
    "error",
    PortType.JSON,
    "When wired, a failure of this node becomes a value here instead of failing the run.",
    required=False,
)

# What structural role a node plays for the executor and the validator.
from studio.core.catalogue.kinds import KINDS  # noqa: E402

_ID_RE = re.compile(r"^[a-z][a-z0-9_.\-]*\Z")


def _sees_resolved(fn):
    from studio.core.catalogue.params import ResolvedParams

    @functools.wraps(fn)
    def wrapper(cls, params, *args, **kwargs):
        if not isinstance(params, ResolvedParams):
            params = cls.resolve(params if isinstance(params, Mapping) else {}).values
        return fn(cls, params, *args, **kwargs)

    wrapper._sees_resolved = True  # type: ignore[attr-defined]
    return wrapper


class NodeType:
    """Base class of every node type.

    Subclasses set the class attributes and override ``run``; those with dynamic ports
    override ``input_ports`` / ``output_ports``. Node types are stateless: the
    executor calls ``run`` with a context that carries the node's parameters, inputs
    and services, so one instance serves every node of the type.
    """

    type_id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    category: ClassVar[str] = "General"
    description: ClassVar[str] = ""
    kind: ClassVar[str] = "plain"
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    has_error_port: ClassVar[bool] = True
    paid: ClassVar[bool] = False  # True when running it may cost money (LLM calls)
    package: ClassVar[str] = "orchestra-studio"  # the distribution that provides it

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Port methods and ``summary`` of every node type see RESOLVED parameters.

        They are called with stored params by the canvas, plugins and tests; wrapping
        them here resolves those once (see catalogue.params), so a node type reads
        ``params["name"]`` and never carries a default of its own.
        """
        super().__init_subclass__(**kwargs)
        for name in ("input_ports", "output_ports", "summary"):
            fn = cls.__dict__.get(name)
            if isinstance(fn, classmethod) and not getattr(fn.__func__, "_sees_resolved", False):
                setattr(cls, name, classmethod(_sees_resolved(fn.__func__)))

    # -- declaration -------------------------------------------------------------

    @classmethod
    def param(cls, name: str) -> Param | None:
        for p in cls.params:
            if p.name == name:
                return p
        return None

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {p.name: p.initial_value() for p in cls.params}

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir: Path | None = None) -> Sequence[Port]:
        """The input ports of a node of this type with these parameters."""
        return cls.inputs

    @classmethod
    def output_ports(cls, params: Mapping[str, Any], base_dir: Path | None = None) -> Sequence[Port]:
        """The output ports; the optional ``error`` port is added for most types."""
        if cls.has_error_port:
            return (*cls.outputs, ERROR_PORT)
        return cls.outputs

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(parameter, problem) pairs that span several fields; ``params`` are RESOLVED.

        Each value has already been checked against its own schema entry (and replaced
        by its default when it failed) by ``catalogue.params.resolve_params``, which
        calls this; types override it for checks across fields (and call super()).
        """
        return []

    @classmethod
    def resolve(cls, raw: Mapping[str, Any]) -> "Resolution":
        """This type's parameters resolved from stored ``raw`` values (see catalogue.params)."""
        from studio.core.catalogue.params import resolve_params

        return resolve_params(cls, raw)

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        """A short line for the canvas: the most telling parameter, first line only."""
        for p in cls.params:
            if p.kind in ("model", "prompt", "expression", "string", "path") and params[p.name]:
                return str(params[p.name]).strip().splitlines()[0][:60] if str(params[p.name]).strip() else ""
        return ""

    @classmethod
    def validate_declaration(cls) -> None:
        """Raise ValueError when the class itself is declared wrongly (for plugin authors)."""
        if not cls.type_id or not _ID_RE.match(cls.type_id):
            raise ValueError(f"{cls.__name__}: type_id {cls.type_id!r} must be a lowercase slug")
        if cls.kind not in KINDS:
            raise ValueError(f"{cls.__name__}: unknown kind {cls.kind!r}")
        for group in (cls.inputs, cls.outputs, cls.params):
            names = [x.name for x in group]
            if len(names) != len(set(names)):
                raise ValueError(f"{cls.__name__}: duplicate port or parameter names {names}")

    # -- behaviour ---------------------------------------------------------------

    async def run(self, ctx: "NodeContext") -> dict[str, Any]:
        """Compute this node's outputs (by port name) from ``ctx.inputs``/``ctx.params``."""
        raise NotImplementedError(f"{self.type_id} has no run()")

    def __repr__(self) -> str:
        return f"<node type {self.type_id}>"
