"""The registry: built-in discovery, entry-point plugins, placeholders."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from studio.core.document import flowfile
from studio.core.catalogue.nodetype import NodeType, Param, Port
from studio.core.catalogue.registry import PlaceholderNode, Registry, default_registry
from studio.core.catalogue.types import PortType

STRUCTURAL = {"input", "output", "template", "branch", "merge", "loop", "fanout", "collect", "approval", "subflow"}


def test_builtin_nodes_are_discovered() -> None:
    reg = Registry()
    reg.discover_builtin()
    assert STRUCTURAL <= {t.type_id for t in reg.types()}
    for t in reg.types():
        t.validate_declaration()
        assert t.title and t.category
    assert STRUCTURAL <= {t.type_id for t in default_registry().types()}


def _fake_distribution(root: Path, dist: str, module: str, body: str, entry: str) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(body))
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[orchestra.nodes]\n{entry}\n")


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("fake_orchestra_")]:
        del sys.modules[name]


def test_entry_point_plugins_are_discovered_and_named_by_their_package(plugin_path: Path) -> None:
    _fake_distribution(plugin_path, "fake-sentiment-nodes", "fake_orchestra_sentiment", """
        from studio.core.catalogue.nodetype import NodeType, Param, Port
        from studio.core.catalogue.types import PortType

        class Sentiment(NodeType):
            type_id = "fake.sentiment"
            title = "Sentiment"
            category = "Plugins"
            inputs = (Port("text", PortType.TEXT),)
            outputs = (Port("label", PortType.TEXT),)
            params = (Param("threshold", "number", 0.5, minimum=0, maximum=1),)

        NODE_TYPE = Sentiment
    """, "sentiment = fake_orchestra_sentiment")
    _fake_distribution(plugin_path, "fake-broken-nodes", "fake_orchestra_broken", "raise ImportError('missing dep')\n",
                       "broken = fake_orchestra_broken")
    _fake_distribution(plugin_path, "fake-wrong-nodes", "fake_orchestra_wrong", "VALUE = 1\n",
                       "wrong = fake_orchestra_wrong:VALUE")
    reg = Registry()
    reg.discover_builtin()
    reg.discover_plugins()
    assert reg.is_known("fake.sentiment")
    nt = reg.get("fake.sentiment")
    assert nt.package == "fake-sentiment-nodes"
    errors = "\n".join(reg.load_errors)
    assert "broken" in errors and "missing dep" in errors  # a broken plugin is reported, not fatal
    assert "not a NodeType" in errors

    model = flowfile.loads('{"format": "orchestra-flow", "version": 1, "nodes": [{"id": "s", "type": "fake.sentiment"}]}',
                           registry=reg)
    doc = flowfile.to_document(model)
    assert doc["requires"]["node_types"] == {"fake.sentiment": "fake-sentiment-nodes"}
    assert doc["requires"]["packages"] == {"fake-sentiment-nodes": "1.2.3"}

    # the same file on a machine without the plugin: a placeholder naming the package
    other = flowfile.loads(flowfile.dumps(model), registry=Registry())
    ph = other.node_type("s")
    assert issubclass(ph, PlaceholderNode) and ph.missing_package == "fake-sentiment-nodes"
    assert "fake-sentiment-nodes" in ph.message()
    assert flowfile.to_document(other)["requires"] == doc["requires"]


def test_placeholders_are_cached_and_refuse_to_run() -> None:
    reg = Registry()
    a = reg.get("x.y", "pkg")
    assert a is reg.get("x.y", "pkg") and a is not reg.get("x.y", "other")
    assert a.kind == "placeholder" and a.title == "Missing: x.y"
    assert a.input_ports({}) == () and a.output_ports({}) == ()


def test_declaration_errors_are_caught_at_registration() -> None:
    class BadId(NodeType):
        type_id = "Bad Id"

    class Dupe(NodeType):
        type_id = "dupe"
        inputs = (Port("a"), Port("a"))

    class One(NodeType):
        type_id = "one"

    class OneAgain(NodeType):
        type_id = "one"

    reg = Registry()
    with pytest.raises(ValueError, match="lowercase slug"):
        reg.register(BadId)
    with pytest.raises(ValueError, match="duplicate"):
        reg.register(Dupe)
    reg.register(One)
    with pytest.raises(ValueError, match="declared twice"):
        reg.register(OneAgain)
    reg.register(OneAgain, replace=True)
    assert reg.get("one") is OneAgain


def test_param_and_port_declarations() -> None:
    with pytest.raises(ValueError):
        Param("x", "colour")
    with pytest.raises(ValueError):
        Param("x", "enum")
    assert Port("p", PortType.TEXT).needs_source and not Port("p", default=None).needs_source


def test_placeholders_for_type_names_with_any_characters() -> None:
    """Found by the fuzzer: a type name with NUL or a lone surrogate broke the class name."""
    from studio.core.document.validation import validate

    for name in ("\x00", "\ud800", "a b.c", "ü"):
        doc = {"format": "orchestra-flow", "version": 1, "nodes": [{"id": "n", "type": name}]}
        model = flowfile.loads(flowfile.dumps(doc))
        assert any(p.code == "unknown_type" for p in validate(model))
