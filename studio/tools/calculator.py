"""calculator: arithmetic from a string, evaluated over the AST -- never ``eval``.

Why an evaluator of our own: a model writes the expression, so it is untrusted input.
Only numbers, + - * / // % **, unary signs, parentheses, comparisons and a fixed table of
math functions and constants are allowed; anything else (names, attributes, calls to
other functions, strings, lambdas) is refused. Exponents and results are bounded so
``9**9**9`` cannot pin a core.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any

from studio.core.errors import NodeFailure

from .base import Tool, ToolContext

MAX_EXPONENT = 10_000
MAX_DIGITS = 10_000
MAX_LENGTH = 2_000

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_FUNCTIONS = {
    "abs": abs, "round": round, "min": min, "max": max, "sqrt": math.sqrt, "exp": math.exp,
    "log": math.log, "log10": math.log10, "log2": math.log2, "sin": math.sin, "cos": math.cos,
    "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan, "atan2": math.atan2,
    "floor": math.floor, "ceil": math.ceil, "factorial": math.factorial, "hypot": math.hypot,
    "radians": math.radians, "degrees": math.degrees, "gcd": math.gcd,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}


class CalculatorError(NodeFailure):
    pass


def evaluate(expression: str) -> int | float | bool:
    """The value of an arithmetic expression; CalculatorError for anything else."""
    if not isinstance(expression, str) or not expression.strip():
        raise CalculatorError("the expression is empty")
    if len(expression) > MAX_LENGTH:
        raise CalculatorError(f"the expression is longer than {MAX_LENGTH} characters")
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"cannot read {expression!r}: {exc.msg}") from None
    try:
        return _eval(tree.body)
    except CalculatorError:
        raise
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except (ValueError, OverflowError, TypeError) as exc:
        raise CalculatorError(f"cannot compute {expression!r}: {exc}") from None


def _number(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > MAX_DIGITS * 3.33:
        raise CalculatorError("the result is too large")
    return value


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        raise CalculatorError(f"only numbers are allowed, not {node.value!r}")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise CalculatorError(f"exponents above {MAX_EXPONENT} are not allowed")
            if isinstance(left, int) and isinstance(right, int) and right > 0 and \
                    abs(left).bit_length() * right > MAX_DIGITS * 3.33:
                raise CalculatorError("the result is too large")
        return _number(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left = _eval(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = _eval(comparator)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise CalculatorError(f"unknown name {node.id!r} (constants: {', '.join(_CONSTANTS)})")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fn = _FUNCTIONS.get(node.func.id)
        if fn is None:
            raise CalculatorError(f"unknown function {node.func.id!r} (functions: {', '.join(sorted(_FUNCTIONS))})")
        args = [_eval(a) for a in node.args]
        if fn is math.factorial and args and isinstance(args[0], (int, float)) and args[0] > 1000:
            raise CalculatorError("factorial is limited to 1000")
        return _number(fn(*args))
    raise CalculatorError(f"{type(node).__name__} is not allowed in a calculation")


def _run(args: dict[str, Any], ctx: ToolContext) -> Any:
    return evaluate(args["expression"])


TOOL = Tool(
    name="calculator",
    description="Evaluate an arithmetic expression exactly, e.g. '(17.5 * 3) / 4' or 'sqrt(2) ** 2'. "
                "Supports + - * / // % **, comparisons, pi, e and math functions (sqrt, log, sin, round, min, max...).",
    parameters={
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "The expression to evaluate."}},
        "required": ["expression"],
        "additionalProperties": False,
    },
    func=_run,
)
