"""The Tool node: ports from the tool's schema, runs built-ins, and a flow's own tools only once trusted."""

from __future__ import annotations

import pytest

from nodes.tool import ToolNode
from studio.core.errors import NodeFailure
from studio.core.catalogue.types import PortType
from studio.tools import FolderNotTrusted, is_trusted, trust, untrust
from support.context import make_ctx

LOCAL_TOOL = '''"""Count the words in a text.

More detail that is not part of the short description.
"""
import pathlib
pathlib.Path(__file__).with_name("IMPORTED").write_text("module code ran")

PARAMETERS = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "min_length": {"type": "integer", "default": 1}},
    "required": ["text"],
}


def run(text, min_length=1):
    return len([w for w in text.split() if len(w) >= min_length])
'''


@pytest.fixture
def flow_dir(tmp_path, user_config):
    folder = tmp_path / "flow"
    (folder / "tools").mkdir(parents=True)
    (folder / "tools" / "word_count.py").write_text(LOCAL_TOOL)
    return folder


def test_ports_come_from_the_schema():
    ports = {p.name: p for p in ToolNode.input_ports({"tool": "http_request"})}
    assert list(ports) == ["url", "method", "headers", "body", "timeout_s", "follow_redirects"]
    assert ports["url"].type == PortType.TEXT and ports["url"].needs_source
    assert ports["headers"].type == PortType.JSON and not ports["headers"].needs_source
    assert ports["timeout_s"].type == PortType.NUMBER
    fixed = {p.name: p for p in ToolNode.input_ports({"tool": "http_request", "arguments": {"url": "https://x.org"}})}
    assert not fixed["url"].needs_source
    assert ToolNode.input_ports({"tool": "no-such-tool"}) == ()


async def test_runs_a_builtin_with_inputs_over_fixed_arguments():
    ctx, rec = make_ctx(ToolNode, {"tool": "calculator", "arguments": {"expression": "1+1"}}, {"expression": "2**10"})
    assert (await ToolNode().run(ctx)) == {"result": 1024}
    assert rec.kinds("tool_call")[0]["tool"] == "calculator"


async def test_bad_arguments_fail_clearly():
    ctx, _ = make_ctx(ToolNode, {"tool": "calculator"}, {"expression": 42})
    with pytest.raises(NodeFailure, match="calculator: bad argument expression"):
        await ToolNode().run(ctx)


async def test_unknown_tool_lists_the_available_ones():
    ctx, _ = make_ctx(ToolNode, {"tool": "teleport"}, {})
    with pytest.raises(NodeFailure, match="no tool called 'teleport'.*calculator"):
        await ToolNode().run(ctx)


def test_flow_tool_ports_are_read_without_running_its_code(flow_dir):
    ports = ToolNode.input_ports({"tool": "word_count"}, flow_dir)
    assert [(p.name, p.type, p.needs_source) for p in ports] == [
        ("text", PortType.TEXT, True), ("min_length", PortType.NUMBER, False)]
    assert not (flow_dir / "tools" / "IMPORTED").exists()


async def test_flow_tool_needs_a_trusted_folder(flow_dir):
    ctx, _ = make_ctx(ToolNode, {"tool": "word_count"}, {"text": "one two three"}, flow_dir=flow_dir)
    with pytest.raises(FolderNotTrusted, match="not trusted"):
        await ToolNode().run(ctx)
    assert not (flow_dir / "tools" / "IMPORTED").exists()

    trust(flow_dir)
    assert is_trusted(flow_dir) and not is_trusted(flow_dir / "tools")  # trust is per folder, by content
    assert (await ToolNode().run(ctx)) == {"result": 3}
    assert (flow_dir / "tools" / "IMPORTED").exists()

    assert untrust(flow_dir) is True
    with pytest.raises(FolderNotTrusted):
        await ToolNode().run(ctx)


def test_trust_lives_in_the_user_config_not_the_flow(flow_dir, user_config):
    trust(flow_dir)
    assert (user_config / "trusted_folders.json").is_file()
    assert str(flow_dir.resolve()) in (user_config / "trusted_folders.json").read_text()
    assert not is_trusted(flow_dir.parent)  # trusting a folder does not trust its parent


def test_builtins_cannot_be_shadowed_by_flow_tools(flow_dir):
    (flow_dir / "tools" / "calculator.py").write_text('PARAMETERS = {"type": "object", "properties": {"x": {}}}\n')
    ports = ToolNode.input_ports({"tool": "calculator"}, flow_dir)
    assert [p.name for p in ports] == ["expression"]
