"""Subflow: another flow file used as one node; its Input and Output nodes are the ports.

The file is read (never executed) to learn the ports; it is resolved relative to this
flow's folder and cached by modification time. An exported flow carries an embedded
copy of each subflow in the ``flow`` parameter, so it is self-contained: the embedded
copy wins over the path when present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.types import PortType
from studio.core.document.subflows import embedded_ports, read_subflow_problem, resolve_subflow, subflow_ports


class SubflowNode(NodeType):
    type_id = "subflow"
    title = "Subflow"
    category = "Flow"
    kind = "subflow"
    description = "Use another flow file as a single step."
    params = (
        Param("path", "path", "", "The flow file, relative to this flow's folder.", required=True),
        Param("flow", "json", None, "An embedded copy of the subflow (exports carry one, so they are self-contained).",
              nullable=True, advanced=True),
    )

    @classmethod
    def file_problem(cls, params: Mapping[str, Any], base_dir: Path | None) -> str | None:
        """Why the subflow cannot be used, or None (an empty path is a bad_param)."""
        embedded = params["flow"]
        if isinstance(embedded, dict):
            from studio.core.errors import FlowFileError
            from studio.core.document.flowfile import model_from_document

            try:
                model_from_document(embedded)
            except FlowFileError as exc:
                return f"the embedded subflow is not a usable flow: {exc}"
            return None
        path = resolve_subflow(params, base_dir)
        return None if path is None else read_subflow_problem(path)

    @classmethod
    def input_ports(cls, params: Mapping[str, Any], base_dir=None):
        return cls._ports(params, base_dir)[0]

    @classmethod
    def output_ports(cls, params: Mapping[str, Any], base_dir=None):
        outs = cls._ports(params, base_dir)[1]
        return (*outs, Port("error", PortType.JSON, "When wired, a failure becomes a value here.", required=False))

    @classmethod
    def _ports(cls, params: Mapping[str, Any], base_dir):
        embedded = params["flow"]
        if isinstance(embedded, dict):
            return embedded_ports(embedded)
        return subflow_ports(resolve_subflow(params, base_dir))


NODE_TYPE = SubflowNode
