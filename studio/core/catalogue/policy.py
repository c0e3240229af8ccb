"""Per-node step policy parameters shared by every node type that does real work.

Timeouts and retries belong on every step (a best practice the product enforces), so
node types append POLICY_PARAMS to their own schema instead of re-declaring them.
"""

from __future__ import annotations

from studio.core.catalogue.nodetype import Param

POLICY_PARAMS: tuple[Param, ...] = (
    Param("timeout_s", "number", 60.0, "Give up on one attempt after this many seconds (0: no limit).",
          minimum=0, maximum=86400, advanced=True),
    Param("retries", "integer", 2, "Retry this many times on timeouts, rate limits (429), 5xx and dropped connections.",
          minimum=0, maximum=10, advanced=True),
    Param("retry_backoff_s", "number", 1.0, "First retry delay; doubles each retry, with jitter. Retry-After wins when sent.",
          minimum=0, maximum=600, advanced=True),
)
