"""Prompt templates and expressions in jinja2's sandbox.

Templates are what users keep with their nodes (``Summarise {{ transcript }}``); their
undeclared variables become the node's input ports. Expressions (``value.score > 0.8``)
drive Branch and Loop conditions. Both run in ``SandboxedEnvironment``: a shared flow
can read the values it is given but cannot reach Python internals.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from .errors import NodeFailure

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_env.filters["tojson"] = lambda v, indent=None: json.dumps(v, ensure_ascii=False, indent=indent)
_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# The common case, text with plain {{ name }} slots, is read with one regex instead of
# jinja2's parser (about 100x faster; validation asks for the ports of every node).
_SIMPLE_SLOT = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_JINJA_MARK = re.compile(r"\{[{%#]")
# names jinja2 does not treat as outside variables in a slot: constants, "not" (an
# operator), "self" and the environment's globals (range, dict, lipsum, ...)
_RESERVED = frozenset({"true", "false", "none", "True", "False", "None", "not", "self", *_env.globals})


class TemplateProblem(NodeFailure):
    pass


@lru_cache(maxsize=16384)
def template_variables(source: str) -> tuple[str, ...]:
    """The variables a template reads from outside, in order of first appearance.

    Raises TemplateProblem on a syntax error (the validator turns that into a problem).
    """
    if "{" not in source:
        return ()
    names = _SIMPLE_SLOT.findall(source)
    if not _JINJA_MARK.search(_SIMPLE_SLOT.sub("", source)) and not _RESERVED.intersection(names):
        return tuple(dict.fromkeys(names))
    return _parsed_variables(source)


@lru_cache(maxsize=4096)
def _parsed_variables(source: str) -> tuple[str, ...]:
    try:
        ast = _env.parse(source)
        names = meta.find_undeclared_variables(ast)
        # order of first appearance: the first name token of each, in source order
        order: dict[str, None] = {}
        for _, token_type, value in _env.lex(source):
            if token_type == "name" and value in names:
                order.setdefault(value, None)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template error on line {exc.lineno}: {exc.message}") from None
    except RecursionError:
        raise TemplateProblem("template is nested too deeply") from None
    except Exception as exc:  # jinja2 must never take validation down with it
        raise TemplateProblem(f"template cannot be read: {type(exc).__name__}: {exc}") from None
    ordered = [n for n in order if _VAR_RE.match(n)]
    ordered += sorted(n for n in names if n not in order and _VAR_RE.match(n))
    return tuple(ordered)


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
    except RecursionError:
        raise TemplateProblem("template is nested too deeply") from None
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
    except RecursionError:
        return "expression is nested too deeply"
    except Exception as exc:  # a compiler crash on odd input is still just a bad expression
        return f"expression cannot be read: {type(exc).__name__}: {exc}"
    return None


def evaluate(source: str, values: Mapping[str, Any]) -> Any:
    """Evaluate a sandboxed expression such as ``value.score > 0.8`` or ``'error' in value``."""
    why = expression_problem(source)
    if why:
        raise TemplateProblem(f"{why} (in {source!r})")
    fn = _compiled_expression(source)
    try:
        result = fn(**values)
        if isinstance(result, Undefined):
            str(result)  # an unsafe attribute or a missing name: raise its error here, not later
        return result
    except UndefinedError as exc:
        raise TemplateProblem(f"expression {source!r} uses an undefined value: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateProblem(f"expression {source!r} tried something the sandbox forbids: {exc}") from None
    except Exception as exc:
        raise TemplateProblem(f"expression {source!r} failed: {type(exc).__name__}: {exc}") from None
