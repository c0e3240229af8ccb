"""A validation problem: structured so the CLI, the Problems panel and badges share it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" | "warning"
    code: str  # stable machine name, e.g. "cycle", "type_mismatch"
    message: str
    node: str | None = None
    port: str | None = None
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = self.node or "flow"
        if self.port:
            where += f".{self.port}"
        text = f"{self.severity}: {where}: {self.message} [{self.code}]"
        return f"{text}\n  hint: {self.hint}" if self.hint else text
