"""The errors the core raises on purpose, each carrying what a user needs to act."""

from __future__ import annotations


class OrchestraError(Exception):
    """Base of every error the product raises deliberately."""


class FlowFileError(OrchestraError):
    """A flow file that cannot be read: names the file, the JSON path and the problem."""

    def __init__(self, problem: str, json_path: str = "$", file: str | None = None):
        self.problem = problem
        self.json_path = json_path
        self.file = file
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{json_path}: {problem}")


class CommandError(OrchestraError):
    """An edit that cannot be applied to the model (unknown node, taken id, ...)."""


class NodeFailure(OrchestraError):
    """A node's run failed in a way the user should read (not a bug in our code)."""


class RetryableError(OrchestraError):
    """A failure worth retrying (timeout, 429, 5xx, dropped connection).

    ``retry_after`` (seconds) is honoured by the executor's backoff when given.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExceeded(OrchestraError):
    """The run's USD budget is spent; no new paid call may start."""

    def __init__(self, spent: float, budget: float):
        self.spent = spent
        self.budget = budget
        super().__init__(f"budget of ${budget:.4f} spent (${spent:.4f} so far); no further paid call was started")


class CredentialsMissing(OrchestraError):
    """No API key for a provider, with both ways to provide one."""
