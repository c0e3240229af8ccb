"""Per-row evaluation: ``expected.<output>`` columns checked with the flow-test forms.

The checking itself is :func:`studio.core.sharing.flowtests.check` -- the same equals,
contains, regex and JSON-path forms a flow's own test cases use -- so a batch and a
flow test can never disagree about what "passes" means. This module only turns columns
into those expectation dicts:

* ``expected.reply``            the cell is the value to equal; or, when the cell is a
                                JSON object with ``equals``/``contains``/``regex``/``json_path``
                                (or a list of such), those expectations as written;
* ``expected.reply.contains``   the cell must occur in the output (also ``.regex``, ``.equals``);
* ``expected.report$.items[0].title``  the value at that JSON path must equal the cell.

An empty cell (or null) means "nothing expected for this row". CSV cells are text: when
the output is not text, an ``equals`` cell is read as JSON first, so ``3`` equals 3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from studio.core.sharing.flowtests import CheckResult, check

PREFIX = "expected."
FORMS = ("equals", "contains", "regex")
_EXPECT_KEYS = {"equals", "contains", "regex", "json_path"}


@dataclass(frozen=True)
class ExpectColumn:
    column: str
    output: str
    form: str  # "auto", "equals", "contains", "regex", "json_path"
    path: str | None = None

    def expectations(self, cell: Any) -> list[dict[str, Any]]:
        """The flow-test expectation dicts this column asks of one row ([] when the cell is empty)."""
        if cell is None or cell == "":
            return []
        if self.form == "json_path":
            return [{"output": self.output, "json_path": self.path, "equals": cell, "_text": isinstance(cell, str)}]
        if self.form != "auto":
            return [{"output": self.output, self.form: cell, "_text": isinstance(cell, str)}]
        value = cell
        if isinstance(cell, str) and cell.lstrip()[:1] in ("{", "["):
            try:
                value = json.loads(cell)
            except ValueError:
                value = cell
        items = value if isinstance(value, list) and value and all(_is_form(v) for v in value) else [value]
        if all(_is_form(v) for v in items):
            return [{**v, "output": self.output} for v in items]
        return [{"output": self.output, "equals": cell, "_text": isinstance(cell, str)}]


def _is_form(value: Any) -> bool:
    return isinstance(value, dict) and bool(_EXPECT_KEYS & set(value)) and set(value) <= _EXPECT_KEYS | {"output"}


def parse_column(column: str) -> ExpectColumn | None:
    """The expectation a column name declares, or None for an ordinary column."""
    if not column.startswith(PREFIX):
        return None
    rest = column[len(PREFIX):]
    if "$" in rest:
        output, path = rest.split("$", 1)
        return ExpectColumn(column, output, "json_path", "$" + path)
    for form in FORMS:
        if rest.endswith("." + form):
            return ExpectColumn(column, rest[: -len(form) - 1], form)
    return ExpectColumn(column, rest, "auto")


def evaluate(columns: list[ExpectColumn], row: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[CheckResult]:
    """Every check the row's expected cells ask for, done by the flow-test checker."""
    results = []
    for col in columns:
        for exp in col.expectations(row.get(col.column)):
            text_cell = exp.pop("_text", False)
            if text_cell and "equals" in exp:
                exp = _typed_equals(exp, outputs)
            results.append(check(exp, outputs))
    return results


def _typed_equals(exp: dict[str, Any], outputs: Mapping[str, Any]) -> dict[str, Any]:
    """A text cell compared with a non-text value is read as JSON (CSV's ``3`` equals 3)."""
    value = outputs.get(exp["output"])
    if "json_path" in exp:
        from studio.core.sharing.flowtests import json_path

        try:
            value = json_path(value, str(exp["json_path"]))
        except ValueError:
            return exp
    if isinstance(value, str):
        return exp
    try:
        return {**exp, "equals": json.loads(exp["equals"])}
    except ValueError:
        return exp
