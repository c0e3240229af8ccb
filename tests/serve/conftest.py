"""One mock-mode server for the tests that only read and run (module scope: starting one
costs seconds); tests that need their own limits start their own."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from serving import ROOT, Server, child_env, approval_flow, child_flow, llm_chat_flow, memory_chat_flow, slow_flow, write_flow


@pytest.fixture(scope="module")
def flows_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served") / "flows"
    folder.mkdir()
    for name in ("hello", "support_router"):
        shutil.copy(ROOT / "projects" / f"{name}.flow.json", folder / f"{name}.flow.json")
    write_flow(folder, "slow", slow_flow(60.0))
    write_flow(folder, "approve", approval_flow())
    write_flow(folder, "echo_chat", llm_chat_flow(mock_responses=["Streaming replies arrive piece by piece."]))
    write_flow(folder, "memory_chat", memory_chat_flow())
    write_flow(folder, "child", child_flow())
    return folder


@pytest.fixture(scope="module")
def server(flows_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("srv")
    # the child flow runs its own run_python code: the person trusts it first (docs/security.md)
    subprocess.run([sys.executable, "-m", "studio.cli", "trust", str(flows_dir / "child.flow.json"), "--yes"],
                   cwd=ROOT, env=child_env(tmp), check=True, capture_output=True)
    srv = Server(tmp, [flows_dir], "--mock", "--concurrency", "32")
    yield srv
    assert srv.stop() == 0, srv.log()
