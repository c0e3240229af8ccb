"""The Qt boundary (DESIGN section 1): the core, the provider layer, the tools and every
node type import with PySide6, shiboken6 and qasync made unimportable.

Runs in a fresh interpreter so modules the rest of the suite imported (Qt included)
cannot hide a violation. Packages are walked with pkgutil, so a module added later is
covered without touching this test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.noqt import PRELUDE

REPO = Path(__file__).resolve().parents[1]

CHILD = PRELUDE + r"""

imported, failed = [], []
for package in ("studio.core", "studio.llm", "studio.tools", "studio.host", "nodes"):
    pkg = importlib.import_module(package)
    imported.append(package)
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        try:
            importlib.import_module(info.name)
            imported.append(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {type(exc).__name__}: {exc}")

from studio.core.catalogue.registry import Registry
reg = Registry()
reg.discover_builtin()
assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED], "Qt got imported"
print("IMPORTED", len(imported))
print("\n".join(imported))
if failed:
    print("FAILED\n" + "\n".join(failed))
    sys.exit(1)
"""


def test_headless_packages_import_without_qt() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    imported = set(r.stdout.splitlines()[1:])
    # the walk really covered the packages (not an empty list that passes by accident)
    expected = {f"nodes.{p.stem}" for p in (REPO / "nodes").glob("*.py") if p.stem != "__init__"}
    expected |= {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
                 for p in (REPO / "studio" / "core").rglob("*.py")}
    assert expected <= imported, sorted(expected - imported)
    assert {"studio.core.document.flowfile", "studio.core.document.validation", "nodes.loop"} <= imported


def test_the_blocker_really_blocks() -> None:
    """The same finder makes a Qt import fail, so the test above can fail."""
    probe = CHILD.split("imported, failed")[0] + "import PySide6.QtCore\n"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode != 0 and "blocked" in r.stderr


# -- import rules, read from the source (lazy imports inside functions count too) ----

import ast  # noqa: E402

RULES = {
    # package: top-level modules it must never import
    "studio/core": ("nodes", "studio.llm", "studio.cli", "studio.host", "studio.ui", "PySide6", "shiboken6", "qasync"),
    "studio/llm": ("studio.ui", "studio.cli", "PySide6", "qasync"),
    "studio/tools": ("studio.ui", "studio.cli", "PySide6", "qasync"),
    "studio/host": ("studio.ui", "studio.cli", "PySide6", "qasync"),
    "nodes": ("studio.ui", "studio.cli", "studio.host", "PySide6", "qasync"),
    "studio/serve": ("studio.ui", "PySide6", "qasync"),
    "studio/batch": ("studio.ui", "PySide6", "qasync"),
    # the rooms of core form a line, catalogue <- document <- running <- sharing, and
    # userdata stands beside them (docs/architecture.md)
    "studio/core/catalogue": ("studio.core.document", "studio.core.running", "studio.core.sharing"),
    "studio/core/document": ("studio.core.running", "studio.core.sharing"),
    "studio/core/running": ("studio.core.sharing",),
    "studio/core/userdata": ("studio.core.catalogue", "studio.core.document", "studio.core.running",
                             "studio.core.sharing"),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_each_part_imports_only_what_docs_architecture_allows() -> None:
    broken = []
    checked = 0
    for folder, banned in RULES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            checked += 1
            for line, module in _imports(path):
                if any(module == b or module.startswith(b + ".") for b in banned):
                    broken.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    assert checked > 60  # the walk found the packages
    assert not broken, "\n".join(broken)


def test_the_import_rule_check_sees_a_violation(tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from nodes.loop import LoopNode\n")
    assert [m for _, m in _imports(bad)] == ["nodes.loop"]
