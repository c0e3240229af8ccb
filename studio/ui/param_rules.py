"""Which parameters of a node matter in its current mode.

A Branch in expression or keyword mode never calls a model, so its Model and
Instructions fields only confuse (and its model made the studio ask for an OpenAI key).
The inspector hides a parameter that does not apply, and the key check skips it.

The rule lives here, as a table, because the node catalogue has no "shown when" field
yet; when ``Param`` gains one, this table is its first content.
"""

from __future__ import annotations

from typing import Any, Mapping

# (node type, parameter) -> (the parameter that decides, the values for which it applies)
APPLIES_WHEN: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    ("branch", "model"): ("mode", frozenset({"model"})),
    ("branch", "instructions"): ("mode", frozenset({"model"})),
    ("branch", "mock_responses"): ("mode", frozenset({"model"})),
}



def applies(type_id: str, name: str, params: Mapping[str, Any]) -> bool:
    """``params``: the node's resolved values (``FlowModel.params``), defaults filled."""
    rule = APPLIES_WHEN.get((type_id, name))
    if rule is None:
        return True
    key, values = rule
    return str(params[key]) in values


def hidden(type_id: str, params: Mapping[str, Any]) -> set[str]:
    """The parameters of a ``type_id`` node with resolved ``params`` that do not apply now."""
    return {name for (t, name) in APPLIES_WHEN if t == type_id and not applies(type_id, name, params)}
