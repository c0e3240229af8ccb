"""Branch and Merge: conditional routing and where the routes meet again.

A Branch is an ordinary step: its node type returns the value on exactly one case
port and SKIP on every other (nodes/branch.py), and SKIP propagates through the
engine's rule for required inputs. Merge is the one kind that sees SKIP as a value:
it takes its first non-SKIP input, and is skipped only when every input was.
"""

from __future__ import annotations

from typing import Any

from studio.core.catalogue.types import SKIP
from studio.core.running.engine.kinds import StepKind


class MergeKind(StepKind):
    tolerates_skip = True

    def skip_reason(self, spec, inputs: dict[str, Any]) -> str | None:
        if all(inputs.get(p, SKIP) is SKIP for p in spec.in_ports):
            return "every input was skipped"
        return None
