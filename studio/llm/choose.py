"""A model picks one label from a fixed set (Branch in "model" mode).

Why a module: routing by a model's judgement is a classification call with its own care
-- a strict prompt, temperature 0, a tolerant reading of the answer ("Billing." means
``billing``) and "default" when the reply names no label, so a chatty model can never
route the value down a path that does not exist. In mock mode it takes the configured
mock response when it names a label, else the first label, so mock runs exercise a path.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from studio.core.errors import NodeFailure

from .calls import call_model, model_list
from .mock import pick

_SYSTEM = (
    "You are a router. Read the input and answer with exactly one label from this list, and "
    "nothing else: {labels}. If none fits, answer: default."
)


def read_label(reply: str, labels: Sequence[str]) -> str:
    """The label a reply names: an exact match, else the first label mentioned, else "default"."""
    cleaned = reply.strip().strip("`'\".:;!*- \n\t").lower()
    by_lower = {label.lower(): label for label in labels}
    if cleaned in by_lower:
        return by_lower[cleaned]
    found: list[tuple[int, str]] = []
    for label in labels:
        m = re.search(rf"(?<![A-Za-z0-9_]){re.escape(label.lower())}(?![A-Za-z0-9_])", reply.lower())
        if m:
            found.append((m.start(), label))
    return min(found)[1] if found else "default"


async def choose_label(ctx: Any, value: Any, labels: Sequence[str], instructions: str = "") -> str:
    """The label (or "default") a model picks for ``value``; used by nodes/branch.py."""
    labels = [str(label) for label in labels]
    if not labels:
        return "default"
    params = ctx.params
    models = model_list(params["model"], params["fallback_models"])
    if not models:
        raise NodeFailure("choose a model for the branch's model mode")
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    system = _SYSTEM.format(labels=", ".join(labels))
    if instructions and instructions.strip():
        system += "\n\nHow to choose: " + instructions.strip()
    messages = [{"role": "system", "content": system}, {"role": "user", "content": shown}]
    mock = pick(params["mock_responses"], (ctx.iteration or 1) - 1)
    if ctx.mock and not (isinstance(mock, str) and read_label(mock, labels) != "default"):
        mock = labels[0]
    completion, _ = await call_model(ctx, models, messages, temperature=0, max_tokens=16, timeout=ctx.timeout_s,
                                     mock_response=mock)
    chosen = read_label(completion.text, labels)
    ctx.progress(kind="choice", label=chosen, reply=completion.text[:200])
    return chosen
