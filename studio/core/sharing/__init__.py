"""Sharing a flow: exports, what a receiver needs installed, Mermaid diagrams, the
flow's own test cases, and the PII detector the guardrails use."""

from studio.core.sharing.export import ExportError, export_document, export_text
from studio.core.sharing.flowtests import cases_of, check
from studio.core.sharing.mermaid import to_mermaid
from studio.core.sharing.needs import MissingType, missing_types

__all__ = ["ExportError", "MissingType", "cases_of", "check", "export_document", "export_text", "missing_types",
           "to_mermaid"]
