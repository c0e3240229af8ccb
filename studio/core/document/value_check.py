"""Questionable values a flow file can hold that the schema checks let through.

* ``tests`` must be a list of test-case objects: ``"tests": "none"`` silently means "no
  tests" to ``orchestra test`` (warning ``bad_tests``: the run does not use them).
* ``pricing`` must map model names to prices like ``{"input_per_1m": 0.15,
  "output_per_1m": 0.6}``: ``"pricing": [1, 2]`` is silently ignored and every call
  is billed at the wrong price (error ``bad_pricing``). A malformed entry fails the
  first paid call whose model it matches; ``CHECK_PRICE_ENTRIES`` turns on that check
  (rule mirrored from ``studio.llm.pricing.parse_price``, which core cannot import). It
  is off only because tests/core/flows/structural.flow.json, a fixture that must
  validate clean, holds entries in a format the run refuses (``input_per_mtok`` under
  a ``models`` key); fix the fixture, then turn it on.
* text that is not valid Unicode (a lone surrogate, from a ``\\ud800`` escape in the
  file): the file keeps it, but a run would fail on it mid-way (trace, terminal,
  provider), so it is an error ``invalid_text`` naming the JSON path (found at load,
  see ``flowfile.loads``: no per-validation scan of every string);
* an Input node's ``default`` must be a value of the input's type: a number input whose
  default is ``"abc"`` (or ``"3"``, text) hands text to every node expecting a number
  (error ``bad_param``).
"""

from __future__ import annotations

import math
from typing import Any

from studio.core.catalogue.types import json_kind
from studio.core.document.problems import Problem

_PRICE_KEYS = (("input_per_1m", "output_per_1m"), ("input_cost_per_token", "output_cost_per_token"))
CHECK_PRICE_ENTRIES = False
PRICING_HINT = 'Write pricing as {"provider/model": {"input_per_1m": 0.15, "output_per_1m": 0.6}} (USD per million tokens).'


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def _price_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return f"is {json_kind(entry)}, not an object such as {{\"input_per_1m\": 0.15, \"output_per_1m\": 0.6}}"
    for keys in _PRICE_KEYS:
        if any(k in entry for k in keys):
            for k in keys:
                v = entry.get(k, 0)
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    return f"has {k} {_short(v)}, not a number"
                if v < 0:
                    return f"has a negative {k}"
            return None
    return "gives no price: use input_per_1m and output_per_1m (USD per million tokens)"


def _parses_as(type_name: Any, text: str) -> bool:
    if type_name == "boolean":
        return text.strip().lower() in ("true", "false")
    try:
        return type_name == "number" and math.isfinite(float(text))
    except ValueError:
        return False


def _default_problem(type_name: Any, default: Any) -> str | None:
    if default is None or type_name in ("any", "json", None):
        return None
    ok = {
        "text": isinstance(default, str),
        "number": isinstance(default, (int, float)) and not isinstance(default, bool),
        "boolean": isinstance(default, bool),
        "list": isinstance(default, list),
        "messages": isinstance(default, list),
    }.get(type_name, True)
    if ok:
        return None
    extra = " (write it without quotes)" if isinstance(default, str) and _parses_as(type_name, default) else ""
    article = "an" if str(type_name)[0] in "aeiou" else "a"
    return f"default {_short(default)} is {json_kind(default)}, not {article} {type_name}{extra}"


def _still_there(model: Any, nid: str | None) -> bool:
    """Whether the text found at load still holds a lone surrogate (an edit may have fixed it)."""
    from studio.core.document.flowfile import lone_surrogate_path

    if nid in model.nodes:
        node = model.nodes[nid]
        return lone_surrogate_path([node.params, node.title]) is not None
    return lone_surrogate_path([model.name, model.description, model.meta]) is not None


def value_problems(model: Any) -> list[Problem]:
    problems: list[Problem] = []
    bad_text = getattr(model, "invalid_text", None)
    if bad_text and _still_there(model, bad_text[1]):
        where, nid = bad_text
        problems.append(Problem("error", "invalid_text", f"the text at {where} is not valid Unicode (a lone surrogate "
                                "such as \\ud800)", nid if nid in model.nodes else None,
                                hint="Delete that character or write the intended one; the run refuses such text."))
    meta = model.meta
    if "tests" in meta:
        tests = meta["tests"]
        if not isinstance(tests, list):
            problems.append(Problem("warning", "bad_tests", f"tests is {json_kind(tests)} ({_short(tests)}), not a list of "
                                    "test cases; `orchestra test` finds none", hint="Write tests as a list of objects, or remove it."))
        else:
            for i, case in enumerate(tests):
                if not isinstance(case, dict):
                    problems.append(Problem("warning", "bad_tests", f"tests[{i}] is {json_kind(case)}, not a test case object; "
                                            "it is skipped", hint="Each test case is an object with inputs and expect."))
    if "pricing" in meta:
        pricing = meta["pricing"]
        if not isinstance(pricing, dict):
            problems.append(Problem("error", "bad_pricing", f"pricing is {json_kind(pricing)} ({_short(pricing)}), not an object "
                                    "of model prices; every call would be billed at the default price", hint=PRICING_HINT))
        elif CHECK_PRICE_ENTRIES:
            for model_name, entry in pricing.items():
                why = _price_problem(entry)
                if why:
                    problems.append(Problem("error", "bad_pricing", f"the price of {model_name!r} {why}", hint=PRICING_HINT))
    for nid, node in model.nodes.items():
        if node.type == "input" and "default" in node.params:
            # the resolved type (a missing one is the schema's default); None only when
            # "input" is not the built-in type here, and then nothing is checked
            why = _default_problem(model.params(nid).get("type"), node.params["default"])
            if why:
                problems.append(Problem("error", "bad_param", why, nid,
                                        hint="Give a default of the input's type, or change its type."))
    return problems
