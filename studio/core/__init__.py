"""The headless core, in rooms by job (docs/architecture.md):

- ``catalogue``: what a node type is (ports, params resolved once, kinds, context);
- ``document``: the flow model, commands, file format, analysis, validation;
- ``running``: the plan, the engine, events and traces;
- ``sharing``: export, needs, Mermaid, flow tests, PII;
- ``userdata``: folders, keys and redaction.

Nothing here imports Qt, ``nodes`` or ``studio.llm``; the studio is a view of it and
the CLI uses it unchanged. This module exports the node-authoring API plugins use.
"""

from studio.core.catalogue import (
    ERROR_PORT,
    MISSING,
    POLICY_PARAMS,
    SKIP,
    ApprovalDecision,
    CostReport,
    Kind,
    NodeContext,
    NodeType,
    Param,
    Port,
    PortType,
)
from studio.core.errors import BudgetExceeded, FlowFileError, NodeFailure, OrchestraError, RetryableError

__all__ = ["ApprovalDecision", "BudgetExceeded", "CostReport", "ERROR_PORT", "FlowFileError", "Kind", "MISSING",
           "NodeContext", "NodeFailure", "NodeType", "OrchestraError", "POLICY_PARAMS", "Param", "Port", "PortType",
           "RetryableError", "SKIP"]
