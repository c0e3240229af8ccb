"""The structural kinds a node type can declare (``NodeType.kind``).

The kind tells the validator and the engine what role a node plays: most are
``plain`` steps; the others have rules of their own (docs/execution.md), implemented
once each in ``running.engine.kinds``.
"""

from __future__ import annotations

from enum import Enum


class Kind(str, Enum):
    PLAIN = "plain"
    INPUT = "input"
    OUTPUT = "output"
    BRANCH = "branch"
    MERGE = "merge"
    LOOP = "loop"
    FANOUT = "fanout"
    COLLECT = "collect"
    APPROVAL = "approval"
    SUBFLOW = "subflow"
    PLACEHOLDER = "placeholder"

    def __str__(self) -> str:
        return self.value


KINDS: tuple[str, ...] = tuple(k.value for k in Kind)
