"""The model layer: the only package that imports litellm, and only when a call needs it.

Importing ``studio.llm`` is cheap: no module here imports litellm at import time (it loads on the first call, or on ``warm_up()``
from a background thread at studio start-up)). No Qt here.

Public API (what the executor, the nodes and the UI use):

- ``warm_up() -> Future`` / ``is_loaded()`` -- import litellm off the GUI thread.
- ``complete(model, messages, *, temperature, max_tokens, response_format, tools, tool_choice,
  stream, on_token, api_base, api_key, timeout, pricing, provider_limits) -> Completion``
- ``call_model(ctx, models, messages, ...) -> (Completion, accepted)`` -- budget check, fallbacks,
  token progress, one CostReport per billed call, mock mode.
- ``mock_complete(...)`` -- a priced answer without a provider.
- ``cost_of(model, tokens_in, tokens_out, flow_pricing)`` / ``price_of(model, flow_pricing)``.
- ``count_tokens(model, messages=..., text=...)``.
- ``provider_of(model)``; ``choose_label(ctx, value, labels, instructions)``.
"""

from __future__ import annotations

from .calls import call_model, json_format, model_list, parse_json_reply
from .choose import choose_label
from .client import complete, count_tokens, resolve_key
from .errors import map_error
from .mock import mock_complete, placeholder_text
from .pricing import Price, cost_of, price_of
from .providers import provider_of
from .runtime import is_loaded, warm_up
from .types import Completion, ToolCall

__all__ = [
    "Completion", "Price", "ToolCall", "call_model", "choose_label", "complete", "cost_of", "count_tokens",
    "is_loaded", "json_format", "map_error", "mock_complete", "model_list", "parse_json_reply",
    "placeholder_text", "price_of", "provider_of", "resolve_key", "warm_up",
]
