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

from studio.core.errors import NodeFailure

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
    parts = _simple_parts(source)
    if parts is not None:
        return tuple(dict.fromkeys(parts[1::2]))
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


@lru_cache(maxsize=1024)
def _simple_parts(source: str) -> tuple[str, ...] | None:
    """Text and slot names alternating, for a template of plain ``{{ name }}`` slots only.

    None when anything else jinja2 would interpret is there (tags, comments, filters,
    whitespace control, reserved names): those take jinja2's full path.
    """
    if "\r" in source:
        return None  # jinja2 normalises line endings in the text
    if "{" not in source:
        return (source,)
    parts = _SIMPLE_SLOT.split(source)
    texts = parts[0::2]
    if any(_JINJA_MARK.search(t) for t in texts) or _RESERVED.intersection(parts[1::2]):
        return None
    # a brace right against a slot ("{{{ x }}}") is read differently by jinja2's lexer
    if any(t.endswith("{") for t in texts[:-1]) or any(t.startswith("}") for t in texts[1:]):
        return None
    return tuple(parts)


def render(source: str, values: Mapping[str, Any]) -> str:
    parts = _simple_parts(source)
    if parts is not None:
        # what jinja2 produces for plain slots (str() of each value, autoescape off),
        # without its render machinery: an LLM node in a 500-item fan-out renders once
        # per call. A missing value takes jinja2's path for its StrictUndefined error.
        try:
            out = [parts[0]]
            for i in range(1, len(parts), 2):
                out.append(str(values[parts[i]]))
                out.append(parts[i + 1])
            return "".join(out)
        except KeyError:
            pass
        except Exception:
            pass  # a value whose str() fails: jinja2 reports it the usual way
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
