"""The flow document: the graph model and its undoable commands, the file format,
graph analysis, type flow, validation and its problems, subflow files."""

from studio.core.document.flowfile import dumps, load_flow, loads, model_from_document, save_flow, to_document
from studio.core.document.graph import Structure, analyze
from studio.core.document.model import Edge, FlowModel, ModelWatch, Node
from studio.core.document.problems import Problem
from studio.core.document.validation import validate

__all__ = ["Edge", "FlowModel", "ModelWatch", "Node", "Problem", "Structure", "analyze", "dumps", "load_flow", "loads",
           "model_from_document", "save_flow", "to_document", "validate"]
