"""Prompt templates and expressions in jinja2's sandbox, at a bounded cost.

Templates are what users keep with their nodes (``Summarise {{ transcript }}``); their
undeclared variables become the node's input ports. Expressions (``value.score > 0.8``)
drive Branch and Loop conditions. Both run in ``SandboxedEnvironment``: a shared flow
can read the values it is given but cannot reach Python internals.

A shared flow is untrusted input, and a template is a small program, so reading and
running one is bounded (``_BoundedEnvironment``):

* no compile-time constant folding of arithmetic: jinja2 folds ``{{ 9**(9**9) }}``
  while merely listing a template's variables (port discovery, every repaint), which
  never returns. Every ``**``, ``*``, ``+`` and ``%`` goes through ``call_binop``, which
  refuses integers over ``MAX_INT_BITS`` bits and text or lists over ``MAX_TEXT`` items
  before computing them; ``~`` (concatenation) and the rendered output are capped too;
* ranges stay within jinja2's ``MAX_RANGE``; filters and methods refuse size arguments
  over ``MAX_ARG`` (``center(10**9)``, ``"{:>999999999}".format(x)``);
* a render or an evaluation runs at most ``RENDER_SECONDS`` (a trace function on the
  template's own frames checks the clock, so nested loops stop too) and stops at once
  when ``cancel_renders()`` was called -- the CLI calls it from its SIGINT/SIGTERM
  handler, and the render then raises CancelledError, so Ctrl-C always wins even
  though nodes render synchronously on the event loop. ``render_async`` renders in a
  worker thread for callers that must not hold the loop at all.
"""

from __future__ import annotations

import asyncio
import json
import operator
import re
import sys
import threading
import time
from functools import lru_cache
from typing import Any, Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, meta
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from studio.core.errors import NodeFailure

MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_TEXT = 10_000_000  # characters (or list items) one template operation may produce
MAX_OUTPUT = 50_000_000  # characters of one rendered template
MAX_ARG = 100_000  # a width, count or indent passed to a filter or a text method
RENDER_SECONDS = 2.0


class TemplateLimit(SecurityError):
    """A template asked for more than a template may have (size, time)."""


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else None


def _check_int(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimit(f"a number over {MAX_INT_BITS} bits is too large for a template")


def _bounded_pow(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and not isinstance(right, bool) and right > 0:
        if abs(left) > 1 and right * max(1, abs(left).bit_length() - 1) > MAX_INT_BITS:
            raise TemplateLimit(f"{left}**{right} is too large for a template (over {MAX_INT_BITS} bits)")
    return left ** right


def _bounded_mul(left: Any, right: Any) -> Any:
    for seq, n in ((left, right), (right, left)):
        if _size(seq) is not None and isinstance(n, int):
            if _size(seq) * max(0, n) > MAX_TEXT:
                raise TemplateLimit(f"repeating a value {n} times is too large for a template (over {MAX_TEXT:,} items)")
            return left * right
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise TemplateLimit(f"a product over {MAX_INT_BITS} bits is too large for a template")
    return left * right


def _bounded_add(left: Any, right: Any) -> Any:
    a, b = _size(left), _size(right)
    if a is not None and b is not None and a + b > MAX_TEXT:
        raise TemplateLimit(f"joining values over {MAX_TEXT:,} items is too large for a template")
    return left + right


_WIDTH = re.compile(r"\d{7,}|%[-#0 +]*\*")


def _bounded_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str) and _WIDTH.search(left):
        raise TemplateLimit("a format width over 999,999 is too large for a template")
    return left % right


_BINOPS = {"**": _bounded_pow, "*": _bounded_mul, "+": _bounded_add, "%": _bounded_mod,
           "-": operator.sub, "/": operator.truediv, "//": operator.floordiv}


def _check_args(args: tuple, kwargs: Mapping[str, Any]) -> None:
    for a in (*args, *kwargs.values()):
        if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_ARG:
            raise TemplateLimit(f"the argument {a} is too large for a template (at most {MAX_ARG:,})")


def _bounded_join(parts: Any) -> str:
    out: list[str] = []
    total = 0
    for p in parts:
        p = p if type(p) is str else str(p)
        total += len(p)
        if total > MAX_OUTPUT:
            raise TemplateLimit(f"the rendered text is over {MAX_OUTPUT:,} characters")
        out.append(p)
    return "".join(out)


def _check_join(items: Any, sep: Any = "") -> None:
    if isinstance(items, (list, tuple)):
        total = len(items) * (len(sep) if isinstance(sep, str) else 0)
        total += sum(len(x) if isinstance(x, str) else 32 for x in items)
        if total > MAX_TEXT:
            raise TemplateLimit(f"joining values over {MAX_TEXT:,} characters is too large for a template")


def _check_method(obj: Any, args: tuple) -> None:
    """Methods of text whose result can be far larger than their inputs."""
    # the sandbox hands out str.format wrapped (functools.update_wrapper keeps __wrapped__)
    bound = getattr(obj, "__wrapped__", obj)
    owner = getattr(bound, "__self__", None)
    name = getattr(bound, "__name__", "")
    if isinstance(owner, str):
        if name in ("format", "format_map") and _WIDTH.search(owner):
            raise TemplateLimit("a format width over 999,999 is too large for a template")
        if name == "join" and args:
            _check_join(args[0], owner)
        elif name == "replace" and len(args) >= 2 and isinstance(args[1], str):
            if len(owner) + (len(owner) + 1) * len(args[1]) > MAX_TEXT:
                raise TemplateLimit(f"this replace could make text over {MAX_TEXT:,} characters")
        elif name == "expandtabs" and owner.count("\t") * (args[0] if args and isinstance(args[0], int) else 8) > MAX_TEXT:
            raise TemplateLimit(f"expanding these tabs makes text over {MAX_TEXT:,} characters")


def _check_growth(obj: Any) -> None:
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, (list, dict, set)) and len(owner) > MAX_TEXT:
        owner.clear()  # what a template grew past the limit is of no use; free it now
        raise TemplateLimit(f"a collection over {MAX_TEXT:,} items is too large for a template")


def _bounded_filter(fn: Any) -> Any:
    skip = 2 if getattr(fn, "jinja_pass_arg", None) is not None else 1

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # the value is the first argument (after an environment or context, if passed):
        # only the filter's own arguments are sizes
        _check_args(args[skip:], kwargs)
        if name == "join" and len(args) >= skip:
            _check_join(args[skip - 1] if isinstance(args[skip - 1], (list, tuple)) else None,
                        args[skip] if len(args) > skip else kwargs.get("d", ""))
        return fn(*args, **kwargs)

    name = getattr(fn, "__name__", "filter").removeprefix("do_")
    if hasattr(fn, "jinja_pass_arg"):
        wrapper.jinja_pass_arg = fn.jinja_pass_arg  # type: ignore[attr-defined]
    wrapper.__name__ = getattr(fn, "__name__", "filter")
    return wrapper


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: Any, frame: Any) -> None:
        # ``a ~ b`` joins through the environment, so its length is checked
        self.write("environment.concat_bounded((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _BoundedEnvironment(SandboxedEnvironment):
    # intercepted: never constant-folded at compile time, checked before computing
    intercepted_binops = frozenset(_BINOPS)
    code_generator_class = _BoundedCodeGenerator
    concat = staticmethod(_bounded_join)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return _BINOPS[operator](left, right)

    @staticmethod
    def concat_bounded(parts: Any) -> str:
        return _bounded_join(parts)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_args(args, kwargs)
        _check_method(__obj, args)
        result = SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
        _check_int(result)
        _check_growth(__obj)
        return result


_env = _BoundedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_env.filters["tojson"] = lambda v, indent=None: json.dumps(v, ensure_ascii=False, indent=indent)
for _name, _fn in list(_env.filters.items()):
    _env.filters[_name] = _bounded_filter(_fn)
_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# The common case, text with plain {{ name }} slots, is read with one regex instead of
# jinja2's parser (about 100x faster; validation asks for the ports of every node).
_SIMPLE_SLOT = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_JINJA_MARK = re.compile(r"\{[{%#]")
# names jinja2 does not treat as outside variables in a slot: constants, "not" (an
# operator), "self" and the environment's globals (range, dict, lipsum, ...)
_RESERVED = frozenset({"true", "false", "none", "True", "False", "None", "not", "self", *_env.globals})

# -- time limit and cancellation ------------------------------------------------------

_cancelled = threading.Event()


def cancel_renders() -> None:
    """Stop every render and evaluation now and from now on (they raise CancelledError).

    Called from a signal handler when the process is about to end (Ctrl-C, SIGTERM).
    """
    _cancelled.set()


def allow_renders() -> None:
    """Undo ``cancel_renders`` (tests, or a host that keeps running)."""
    _cancelled.clear()


_TEMPLATE_FILE = "<template>"


def _guarded(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn`` with a deadline checked on every line of template code and every call
    made from it; raises TemplateLimit after RENDER_SECONDS, CancelledError when cancelled."""
    if _cancelled.is_set():
        raise asyncio.CancelledError("cancelled")
    until = time.perf_counter() + RENDER_SECONDS
    clock, cancelled = time.perf_counter, _cancelled.is_set

    def check() -> None:
        if cancelled():
            raise asyncio.CancelledError("cancelled")
        if clock() > until:
            raise TemplateLimit(f"the template ran longer than {RENDER_SECONDS:g} s")

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            check()
        return local

    def calls(frame: Any, event: str, arg: Any) -> Any:
        check()
        return local if frame.f_code.co_filename == _TEMPLATE_FILE else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        return fn(*args, **kwargs)
    finally:
        sys.settrace(previous)
        # ``local`` refers to itself through its cell: unbinding it frees the closures by
        # reference counting instead of leaving a cycle per render for the collector (a
        # served run's renders outlive its generation-0 pass: see gctune)
        local = calls = None  # type: ignore[assignment]  # noqa: F841


async def render_async(source: str, values: Mapping[str, Any]) -> str:
    """``render`` in a worker thread: the event loop keeps serving while it runs."""
    if _simple_parts(source) is not None:
        return render(source, values)
    return await asyncio.to_thread(render, source, values)


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
        return _guarded(_compiled(source).render, **values)
    except TemplateLimit as exc:
        raise TemplateProblem(f"template refused: {exc}") from None
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
        result = _guarded(fn, **values)
        if isinstance(result, Undefined):
            str(result)  # an unsafe attribute or a missing name: raise its error here, not later
        return result
    except TemplateLimit as exc:
        raise TemplateProblem(f"expression {source!r} refused: {exc}") from None
    except UndefinedError as exc:
        raise TemplateProblem(f"expression {source!r} uses an undefined value: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateProblem(f"expression {source!r} tried something the sandbox forbids: {exc}") from None
    except Exception as exc:
        raise TemplateProblem(f"expression {source!r} failed: {type(exc).__name__}: {exc}") from None
