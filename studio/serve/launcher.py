"""Starting a served run: every check a request must pass, then the executor.

The order is the cheapest refusal first: unknown flow (404), bad inputs (422), server
draining (503), the day's budget spent (429 until midnight UTC), every run slot taken
(429 with Retry-After). Only then is a ``Run`` made, with the run's budget (the smaller
of the per-request budget and what is left today), the server's mock mode, an approval
handler that waits for ``POST /runs/{id}/approvals/{node}``, the memory session (when
given) and the secrets to keep out of its trace.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Sequence

from studio.core.document.interface import FLOW_SETTING, SESSION_SETTING, flow_key
from studio.core.running.executor import RunOptions, start_run
from studio.core.running.trace import new_trace_path
from studio.serve.catalogue import FlowCatalogue, ServedFlow
from studio.serve.limits import DailyBudget, RunSlots
from studio.serve.registry import RunRegistry, ServedRun
from studio.serve.schema import InputError, check_inputs

log = logging.getLogger("orchestra.serve")

SESSION_RE = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,200}$")


class Refused(Exception):
    """A request the server will not run: its HTTP status, a code, a message, headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers or {}, extra
        super().__init__(message)


@dataclass
class ServeSettings:
    mock: bool = False
    budget_per_request: float | None = None
    budget_per_day: float | None = None
    concurrency: int = 16  # runs at once (0: no limit)
    node_concurrency: int = 16  # nodes at once within one run (the executor's limit)
    api_base: str | None = None
    secrets: Sequence[str] = ()
    trace: bool = True
    # a line per succeeded run (with --access-log); runs that fail, are cancelled or run
    # out of budget are always logged. Off by default like uvicorn's access log: on a busy
    # server the line (record, redaction, write) was ~50 us of every request's cost
    log_runs: bool = False


@dataclass
class Launcher:
    catalogue: FlowCatalogue
    settings: ServeSettings
    budget: DailyBudget
    registry: RunRegistry = field(default_factory=RunRegistry)
    draining: bool = False
    drain_started: float | None = None  # time.monotonic() of the SIGTERM that started draining

    def begin_draining(self) -> None:
        if not self.draining:
            import time

            self.draining = True
            self.drain_started = time.monotonic()

    def __post_init__(self) -> None:
        self.slots = RunSlots(self.settings.concurrency)
        self._run_settings: dict[str, Any] = {}
        if self.settings.api_base:
            self._run_settings["api_base"] = self.settings.api_base

    def flow(self, name: str) -> ServedFlow:
        flow = self.catalogue.get(name)
        if flow is None:
            raise Refused(404, "flow_not_found", f"no served flow is called {name!r}", param="name")
        return flow

    def launch(self, flow: ServedFlow, inputs: Any, session: str | None = None) -> ServedRun:
        """Check everything, then make the run and register it (the caller starts it)."""
        try:
            values = check_inputs(flow.validator, inputs)
        except InputError as exc:
            raise Refused(422, "invalid_input", str(exc), field=exc.field, reason=exc.reason, param=exc.field) from None
        if session is not None and not SESSION_RE.match(session):
            raise Refused(422, "invalid_input", "session: at most 200 characters, no control characters or slashes",
                          field="session", reason="at most 200 characters, no control characters or slashes")
        if self.draining:
            raise Refused(503, "shutting_down", "the server is shutting down and takes no new runs",
                          headers={"Retry-After": "5", "Connection": "close"})
        if self.budget.exhausted():
            raise Refused(429, "daily_budget_spent",
                          f"today's budget of ${self.budget.limit_usd:g} is spent; it resets at midnight UTC",
                          headers={"Retry-After": str(self.budget.seconds_to_midnight())})
        if not self.slots.try_take():
            raise Refused(429, "too_many_runs", f"all {self.slots.limit} run slots are taken; try again shortly",
                          headers={"Retry-After": str(self.slots.retry_after_s())})
        try:
            settings = dict(self._run_settings)
            memory = flow.chat.has_memory if flow.chat is not None else False
            if session is not None or memory:
                key = flow.chat.flow_key if flow.chat is not None else flow_key(flow.model.name)
                settings[SESSION_SETTING] = session or "default"
                settings[FLOW_SETTING] = key
            run_id = uuid.uuid4().hex[:12]
            options = RunOptions(
                run_id=run_id, inputs=values, concurrency=self.settings.node_concurrency,
                budget_usd=self.budget.run_budget(self.settings.budget_per_request), mock=self.settings.mock,
                settings=settings, secrets=list(self.settings.secrets),
                # True: the flow file's own folder of runs, so served runs show in its History
                trace=new_trace_path(flow.trace_dir, run_id) if self.settings.trace is True else self.settings.trace,
            )
            run = start_run(flow.plan, options)
            served = ServedRun(flow.name, run)
            options.approval_handler = served.ask
        except BaseException:
            self.slots.give_back(0.0)
            raise
        self.registry.add(served)
        return served

    def start(self, served: ServedRun):
        """Start the run in a task of its own (a stream, a detached run)."""
        return served.start(self._ended)

    async def run_here(self, served: ServedRun) -> None:
        """Run it in the calling task (a request that waits for the run's end)."""
        await served.run_here(self._ended)

    def _ended(self, served: ServedRun) -> None:
        self.slots.give_back(served.elapsed_s())
        result = served.result
        if result is not None:
            self.budget.add(result.totals.get("cost_usd"))
            if result.status != "succeeded" or self.settings.log_runs:
                log.info("run %s of %s: %s in %.3f s", served.id, served.flow, result.status,
                         result.totals.get("wall_s", 0.0))
