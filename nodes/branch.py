"""Branch: routes its value to exactly one case port; every other case port gets SKIP.

Cases are checked in order and the first that matches wins; when none does, the value
goes to ``default``. Modes: a sandboxed expression over ``value`` (``value.score > 0.8``),
keywords (comma-separated, case-insensitive), a regular expression, or a model that picks
one of the case names.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from studio.core.errors import NodeFailure
from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.templates import evaluate, expression_problem
from studio.core.catalogue.types import SKIP, PortType


def choose_case(value: Any, mode: str, cases: list[dict[str, Any]]) -> str:
    """The name of the first case whose condition holds for ``value``, else "default"."""
    text = value if isinstance(value, str) else str(value)
    for case in cases:
        when = case.get("when", "") or ""
        if mode == "expression":
            if when.strip() and evaluate(when, {"value": value}):
                return case["name"]
        elif mode == "keyword":
            words = [w.strip().lower() for w in when.split(",") if w.strip()]
            if any(w in text.lower() for w in words):
                return case["name"]
        elif mode == "regex":
            try:
                if when and re.search(when, text):
                    return case["name"]
            except re.error as exc:
                raise NodeFailure(f"case {case['name']!r}: bad regular expression: {exc}") from None
    return "default"


class BranchNode(NodeType):
    type_id = "branch"
    title = "Branch"
    category = "Control"
    kind = "branch"
    description = "Send the value down exactly one path: the first case that matches, else default."
    inputs = (Port("value", PortType.ANY, "The value to route."),)
    params = (
        Param("mode", "enum", "expression", "How cases are matched.", choices=("expression", "keyword", "regex", "model")),
        Param("cases", "cases", [{"name": "yes", "when": "value"}], "Cases in order: a port name and its condition."),
        Param("model", "model", "gpt-4o-mini", "For mode 'model': the model that picks a case name."),
        Param("fallback_models", "list", [], "For mode 'model': models to try in order when the model fails.",
              advanced=True),
        Param("instructions", "text", "", "For mode 'model': what the model should base its choice on."),
        # read by studio.llm.choose; without it a mock run always takes the first case
        Param("mock_responses", "list", [], "For mode 'model' in mock mode: the case the model picks, one entry "
              "per loop iteration (the last repeats); empty: the first case.", advanced=True),
    )

    @classmethod
    def output_ports(cls, params: Mapping[str, Any], base_dir=None):
        cases = params["cases"]
        names = []
        if isinstance(cases, list):
            for c in cases:
                if isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"] not in names:
                    names.append(c["name"])
        return (
            *(Port(n, PortType.ANY, f"The value, when case {n!r} matches.", required=False, carries="value") for n in names),
            Port("default", PortType.ANY, "The value, when no case matches.", required=False, carries="value"),
            Port("route", PortType.TEXT, "The name of the case taken.", required=False),
            Port("error", PortType.JSON, "When wired, a failure becomes a value here.", required=False),
        )

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().check_params(params)
        cases = params["cases"]
        if not problems and isinstance(cases, list):
            mode = params["mode"]
            for case in cases:
                when = case.get("when", "") or ""
                if mode == "expression" and when.strip():
                    why = expression_problem(when)
                    if why:
                        problems.append(("cases", f"case {case['name']!r}: {why}"))
                elif mode == "regex" and when:
                    try:
                        re.compile(when)
                    except re.error as exc:
                        problems.append(("cases", f"case {case['name']!r}: bad regular expression: {exc}"))
        if params["mode"] == "model":
            if not params["model"].strip():
                problems.append(("model", "is required when the mode is 'model'"))
            names = {c.get("name") for c in cases if isinstance(c, dict)} | {"default"}
            for mock in params["mock_responses"]:
                if not isinstance(mock, str) or mock.strip() not in names:
                    problems.append(("mock_responses", f"{mock!r} is not a case name (mock mode would route it to default)"))
                    break
        return problems

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        cases = params["cases"] if isinstance(params["cases"], list) else []
        return f"{params['mode']}: " + ", ".join(str(c.get("name")) for c in cases if isinstance(c, dict))

    async def run(self, ctx) -> dict[str, Any]:
        value = ctx.inputs.get("value")
        mode = ctx.params["mode"]
        cases = list(ctx.params["cases"] or [])
        if mode == "model":
            from studio.llm.choose import choose_label  # the LLM layer, imported lazily

            chosen = await choose_label(ctx, value, [c["name"] for c in cases], ctx.params["instructions"])
        else:
            chosen = choose_case(value, mode, cases)
        out: dict[str, Any] = {c["name"]: SKIP for c in cases}
        out["default"] = SKIP
        out[chosen] = value
        out["route"] = chosen
        return out


NODE_TYPE = BranchNode
