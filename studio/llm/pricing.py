"""What a call cost: litellm's price map, overridden per flow and per user.

Why overrides: local and self-hosted models (``ollama/...``, ``openai/<name>`` on an
api_base) have no price in litellm's map, and teams with negotiated prices want their
own figures. Order, first match wins: the flow's ``pricing`` section (it travels with the
flow), the user's ``pricing.json`` in the config folder, the product's defaults in
``resources/pricing.json``, then litellm's map. Keys are model strings or shell-style
patterns (``ollama/*``); values give either

    {"input_per_1m": 0.15, "output_per_1m": 0.60}                       USD per million tokens
    {"input_cost_per_token": 1.5e-7, "output_cost_per_token": 6e-7}     litellm's own fields

When nothing knows the model the cost is None -- shown as unknown, never as $0, and never
an exception that would fail a run that otherwise worked.
"""

from __future__ import annotations

import fnmatch
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from studio.core.errors import NodeFailure
from studio.core.userdata.paths import config_dir
from studio.packaged import resources_dir

from .runtime import litellm

_RESOURCES = resources_dir() / "pricing.json"


@dataclass(frozen=True)
class Price:
    """USD per token, in and out."""

    input: float
    output: float

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in * self.input + tokens_out * self.output


def parse_price(model: str, entry: Any, where: str = "pricing") -> Price:
    """One override entry as a Price; NodeFailure naming the model when it is malformed."""
    if not isinstance(entry, Mapping):
        raise NodeFailure(f"{where}: the price of {model!r} must be an object such as "
                          '{"input_per_1m": 0.15, "output_per_1m": 0.6}')
    try:
        if "input_per_1m" in entry or "output_per_1m" in entry:
            p_in = float(entry.get("input_per_1m", 0)) / 1e6
            p_out = float(entry.get("output_per_1m", 0)) / 1e6
        elif "input_cost_per_token" in entry or "output_cost_per_token" in entry:
            p_in = float(entry.get("input_cost_per_token", 0))
            p_out = float(entry.get("output_cost_per_token", 0))
        else:
            raise ValueError("give input_per_1m/output_per_1m (USD per million tokens)")
    except (TypeError, ValueError) as exc:
        raise NodeFailure(f"{where}: the price of {model!r} is not usable: {exc}") from None
    if p_in < 0 or p_out < 0 or p_in != p_in or p_out != p_out:
        raise NodeFailure(f"{where}: the price of {model!r} must not be negative")
    return Price(p_in, p_out)


class _JsonFile:
    """A JSON object read from disk, re-read when the file changes.

    The file is looked at (stat) at most once a second: cost is computed for every call of
    a 500-item fan-out, and an edit to pricing.json only has to show up in the next run.
    """

    RECHECK_S = 1.0

    def __init__(self, path_fn, token_fn=lambda: ""):
        self._path_fn = path_fn
        self._token_fn = token_fn  # cheap; when it changes the path may have changed
        self._token: str | None = None
        self._key: tuple[str, float] | None = None
        self._data: dict[str, Any] = _EMPTY
        self._checked: tuple[str, float] = ("", 0.0)
        self._lock = threading.Lock()
        self.version = 0  # changes whenever get() starts answering with other data

    def _set(self, key: tuple[str, float] | None, data: dict[str, Any]) -> None:
        if key != self._key or data is not self._data:
            self.version += 1
        self._key, self._data = key, data

    def get(self) -> dict[str, Any]:
        now = time.monotonic()
        token = self._token_fn()
        if token == self._token and now - self._checked[1] < self.RECHECK_S:
            return self._data  # the hot path: no Path built, no stat
        path = self._path_fn()
        self._token = token
        self._checked = (str(path), now)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            self._set(None, _EMPTY)
            return self._data
        key = (str(path), mtime)
        with self._lock:
            if key != self._key:
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise NodeFailure(f"{path}: cannot read pricing overrides: {exc}") from None
                self._set(key, data if isinstance(data, dict) else _EMPTY)
            return self._data


_EMPTY: dict[str, Any] = {}
_user_file = _JsonFile(lambda: config_dir() / "pricing.json", lambda: os.environ.get("ORCHESTRA_CONFIG_DIR", ""))
_default_file = _JsonFile(lambda: _RESOURCES)


def _match(model: str, table: Mapping[str, Any]) -> tuple[str, Any] | None:
    if model in table:
        return model, table[model]
    for pattern, entry in table.items():
        if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(model, pattern):
            return pattern, entry
    return None


_file_prices: dict[tuple[int, int, str], Price | None] = {}  # (user file version, defaults version, model) -> price


def override_price(model: str, flow_pricing: Mapping[str, Any] | None = None) -> Price | None:
    """The overriding price of ``model``: flow, then user, then product defaults; else None."""
    if flow_pricing:
        hit = _match(model, flow_pricing)
        if hit is not None:
            return parse_price(hit[0], hit[1], "the flow's pricing")
    user, defaults = _user_file.get(), _default_file.get()
    # the two files' answer per model, kept while neither file changes (a fan-out asks
    # once per call; glob matching and parsing each time cost more than the rest of it)
    key = (_user_file.version, _default_file.version, model)
    try:
        return _file_prices[key]
    except KeyError:
        pass
    price = None
    for where, table in (("your pricing.json", user), ("resources/pricing.json", defaults)):
        hit = _match(model, table)
        if hit is not None:
            price = parse_price(hit[0], hit[1], where)
            break
    if len(_file_prices) > 4096:
        _file_prices.clear()
    _file_prices[key] = price
    return price


_unknown: set[str] = set()  # models litellm has no price for (asking again costs CPU)


def litellm_price_known(model: str) -> bool:
    return model not in _unknown


def cost_of(model: str, tokens_in: int, tokens_out: int, flow_pricing: Mapping[str, Any] | None = None,
            usage: Any = None, reported: Any = None) -> float | None:
    """USD for one call of ``model``, or None when no price is known for it.

    ``reported`` is the cost litellm already worked out for this very response (from
    its price map, with the usage's cached and reasoning tokens). It is used when no
    override applies, so the price map is not consulted twice per call: that lookup
    costs about 0.2 ms of CPU here, a fifth of the product's whole budget per call.
    """
    price = override_price(model, flow_pricing)
    if price is not None:
        return price.cost(tokens_in, tokens_out)
    if isinstance(reported, (int, float)) and not isinstance(reported, bool) and 0 <= reported < float("inf"):
        return float(reported)
    if model in _unknown:
        return None
    try:
        p_in, p_out = litellm().cost_per_token(
            model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out, usage_object=usage
        )
    except Exception:  # litellm raises for models missing from its map
        _unknown.add(model)
        return None
    return float(p_in) + float(p_out)


def price_of(model: str, flow_pricing: Mapping[str, Any] | None = None) -> Price | None:
    """The per-token price the product would use for ``model`` (for the inspector), or None."""
    price = override_price(model, flow_pricing)
    if price is not None:
        return price
    try:
        info = litellm().get_model_info(model)
    except Exception:
        return None
    p_in, p_out = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if p_in is None and p_out is None:
        return None
    return Price(float(p_in or 0), float(p_out or 0))
