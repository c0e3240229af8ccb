"""Prompt templates and expressions in jinja2's sandbox.

Templates are what users keep with their nodes (``Summarise {{ transcript }}``); their
undeclared variables become the node's input ports. Expressions (``value.score > 0.8``)
drive Branch and Loop conditions. Both run in ``SandboxedEnvironment``: a shared flow
can read the values it is given but cannot reach Python internals.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from .errors import NodeFailure

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_env.filters["tojson"] = lambda v, indent=None: __import__("json").dumps(v, ensure_ascii=False, indent=indent)
_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TemplateProblem(NodeFailure):
    pass


@lru_cache(maxsize=4096)
def template_variables(source: str) -> tuple[str, ...]:
    """The variables a template reads from outside, in order of first use.

    Raises TemplateProblem on a syntax error (the validator turns that into a problem).
    """
    try:
        ast = _env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template error on line {exc.lineno}: {exc.message}") from None
    names = meta.find_undeclared_variables(ast)
    # order of first appearance in the source, so ports keep a stable, readable order
    order = {n: source.find(n) for n in names}
    return tuple(sorted((n for n in names if _VAR_RE.match(n)), key=lambda n: (order[n], n)))


def safe_variables(source: str) -> tuple[str, ...]:
    """template_variables, but () for a broken template (ports must always be listable)."""
    try:
        return template_variables(source)
    except TemplateProblem:
        return ()


@lru_cache(maxsize=1024)
def _compiled(source: str):
    return _env.from_string(source)


def render(source: str, values: Mapping[str, Any]) -> str:
    try:
        return _compiled(source).render(**values)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template error on line {exc.lineno}: {exc.message}") from None
    except UndefinedError as exc:
        raise TemplateProblem(f"template uses an undefined value: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateProblem(f"template tried something the sandbox forbids: {exc}") from None
    except Exception as exc:
        raise TemplateProblem(f"template failed: {type(exc).__name__}: {exc}") from None


@lru_cache(maxsize=1024)
def _compiled_expression(source: str):
    return _env.compile_expression(source, undefined_to_none=False)


def expression_problem(source: str) -> str | None:
    """Why ``source`` is not a valid expression, or None."""
    try:
        _compiled_expression(source)
    except TemplateSyntaxError as exc:
        return f"expression error: {exc.message}"
    return None


def evaluate(source: str, values: Mapping[str, Any]) -> Any:
    """Evaluate a sandboxed expression such as ``value.score > 0.8`` or ``'error' in value``."""
    try:
        fn = _compiled_expression(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"expression error in {source!r}: {exc.message}") from None
    try:
        return fn(**values)
    except UndefinedError as exc:
        raise TemplateProblem(f"expression {source!r} uses an undefined value: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateProblem(f"expression {source!r} tried something the sandbox forbids: {exc}") from None
    except Exception as exc:
        raise TemplateProblem(f"expression {source!r} failed: {type(exc).__name__}: {exc}") from None
