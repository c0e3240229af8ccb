"""Input and Output nodes: where a flow's values come in and go out."""

from __future__ import annotations

from typing import Any

from studio.core.catalogue.types import SKIP
from studio.core.running.engine.kinds import StepKind
from studio.core.running.plan import interface_name


class InputKind(StepKind):
    """An Input node's value is the run's input of its name, else its default."""

    def take_inputs(self, frame, spec, inputs: dict[str, Any]) -> None:
        name = interface_name(spec)
        if name in frame.inputs:
            inputs["value"] = frame.inputs[name]


class OutputKind(StepKind):
    """An Output node's value becomes the flow's output of its name (unless SKIP)."""

    def finished(self, frame, spec, inputs: dict[str, Any]) -> None:
        value = inputs.get("value")
        if value is not SKIP:
            frame.outputs[interface_name(spec)] = value
