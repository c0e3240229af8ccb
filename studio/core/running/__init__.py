"""Running a flow: the plan compiled from a document, the engine that executes it,
its events and the redacted JSON-lines trace."""

from studio.core.running.events import Event, read_trace
from studio.core.running.executor import NodeResult, Run, RunOptions, RunResult, run_flow, start_run
from studio.core.running.plan import FlowInvalid, Plan, compile_plan

__all__ = ["Event", "FlowInvalid", "NodeResult", "Plan", "Run", "RunOptions", "RunResult", "compile_plan", "read_trace",
           "run_flow", "start_run"]
