"""The node catalogue: what a node type is (ports, parameters, kinds, run context),
the registry that finds installed types, and the sandboxed templates they use."""

from studio.core.catalogue.context import ApprovalDecision, ApprovalRequest, CostReport, NodeContext
from studio.core.catalogue.kinds import Kind
from studio.core.catalogue.nodetype import ERROR_PORT, MISSING, NodeType, Param, Port
from studio.core.catalogue.params import Resolution, ResolvedParams, StepPolicy, resolve_params, step_policy
from studio.core.catalogue.policy import POLICY_PARAMS
from studio.core.catalogue.registry import Registry, default_registry
from studio.core.catalogue.types import SKIP, PortType

__all__ = ["ApprovalDecision", "ApprovalRequest", "CostReport", "ERROR_PORT", "Kind", "MISSING", "NodeContext",
           "NodeType", "POLICY_PARAMS", "Param", "Port", "PortType", "Registry", "Resolution", "ResolvedParams", "SKIP",
           "StepPolicy", "default_registry", "resolve_params", "step_policy"]
