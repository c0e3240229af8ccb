"""Finding 3: write_file cannot plant code or flows anywhere in the flow's folder, in any case."""

from __future__ import annotations

import os

import pytest

from studio.tools import ToolContext, call_tool, default_tools
from studio.tools.files import PathRefused


@pytest.fixture
def folder(tmp_path, user_config):
    root = tmp_path / "flow"
    (root / ".git" / "hooks").mkdir(parents=True)
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    (root / "sub").mkdir()
    (root / "main.flow.json").write_text("{}")
    return root


async def write(folder, path, content="import os\nos.system('id')\n"):
    return await call_tool(default_tools().get("write_file"), {"path": path, "content": content}, ToolContext(flow_dir=folder))


REFUSED = [
    "tools/evil.py", "sub/tools/evil.py", "a/b/c/tools/evil.py", "TOOLS/evil.py", "Tools/evil.py", "sub/ToOlS/x.py",
    "tools", "tools./evil.py", "tools /evil.py",  # Windows drops trailing dots and spaces
    ".git/hooks/pre-commit", ".git/config", "sub/.git/hooks/post-checkout", ".GIT/hooks/pre-commit",
    "main.flow.json", "other.flow.json", "sub/deep/x.flow.json", "other.FLOW.JSON", "X.Flow.Json",
    "a.flow.json.", "a.flow.json::$DATA", "./tools/../tools/evil.py",
]


@pytest.mark.parametrize("path", REFUSED)
async def test_write_file_refuses_code_and_flow_paths(folder, path):
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with pytest.raises(PathRefused):
        await write(folder, path)
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing created
    assert not any(p.name.lower() == "tools" for p in folder.rglob("*"))
    assert os.access(folder / ".git" / "hooks" / "pre-commit", os.X_OK)
    assert (folder / ".git" / "hooks" / "pre-commit").read_text() == "#!/bin/sh\nexit 0\n"


async def test_a_symlinked_folder_does_not_lead_into_tools_or_git(folder):
    (folder / "tools").mkdir()
    (folder / "innocent").symlink_to(folder / "tools")
    (folder / "hooks").symlink_to(folder / ".git" / "hooks")
    for path in ("innocent/evil.py", "hooks/pre-commit"):
        with pytest.raises(PathRefused):
            await write(folder, path)
    assert list((folder / "tools").iterdir()) == []


async def test_a_hard_link_is_not_written_through(folder, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    os.link(outside, folder / "notes.txt")
    with pytest.raises(PathRefused, match="hard links"):
        await write(folder, "notes.txt", "changed")
    assert outside.read_text() == "keep"


async def test_the_trust_store_is_out_of_reach_even_inside_the_flow_folder(folder, monkeypatch):
    monkeypatch.setenv("ORCHESTRA_CONFIG_DIR", str(folder / "settings"))
    (folder / "settings").mkdir()
    with pytest.raises(PathRefused, match="settings folder"):
        await write(folder, "settings/trusted_folders.json", '{"folders": [{"path": "/"}]}')
    assert not (folder / "settings" / "trusted_folders.json").exists()


async def test_ordinary_writes_still_work(folder):
    r = await write(folder, "out/report.md", "# Report\n")
    assert r == {"path": "out/report.md", "bytes": 9, "appended": False}
    await call_tool(default_tools().get("write_file"), {"path": "out/report.md", "content": "more\n", "append": True},
                    ToolContext(flow_dir=folder))
    assert (folder / "out" / "report.md").read_text() == "# Report\nmore\n"
    await write(folder, "notes/toolsmith.txt", "a word that only contains tools")
    await write(folder, "flow.json.txt", "not a flow file")
