"""Finding 2: nothing run_python starts outlives its run, a timeout, or ``orchestra`` itself
(SIGTERM or SIGKILL); its temporary folder goes too. Checked with ``ps`` and the TMPDIR.

Both sandboxes are tested: bubblewrap (installed by .ci/run; DESIGN §5) and the process
sandbox every platform without it gets.
"""

from __future__ import annotations

import json
import shutil
import signal

import pytest

from tests.security.hostile import (env_for, leftovers, marker, named_code, orchestra, ps_named, python_flow,
                                    start_orchestra, wait_until)

SANDBOXES = [pytest.param("auto", id="bwrap"), pytest.param("process", id="process")]

# setsid plus a double fork, as in the issue: a grandchild in a session of its own that
# keeps the output pipes open, named so ps can find it
ESCAPE = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(300)
    os._exit(0)
print('escaped a child', flush=True)
"""


@pytest.fixture(params=SANDBOXES)
def sandbox(request):
    if request.param == "auto" and shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is not installed (.ci/run installs it: apt-get install bubblewrap)")
    return request.param


def test_a_double_forked_child_dies_with_the_run(tmp_path, sandbox):
    env = env_for(tmp_path, sandbox)
    name = marker()
    flow = python_flow(tmp_path / "f" / "escape.flow.json", named_code(name, ESCAPE))
    assert orchestra(env, "trust", str(flow), "--yes").returncode == 0
    r = orchestra(env, "run", str(flow), "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)["outputs"]["result"]
    assert result["stdout"] == "escaped a child\n" and result["sandbox"] == ("bwrap" if sandbox == "auto" else "process")
    assert ps_named(name) == []
    assert leftovers(tmp_path) == []


def test_a_timeout_is_not_held_up_by_a_child_keeping_the_pipes(tmp_path, sandbox):
    env = env_for(tmp_path, sandbox)
    name = marker()
    flow = python_flow(tmp_path / "f" / "slow.flow.json", named_code(name, ESCAPE + "time.sleep(300)\n"), timeout_s=2)
    assert orchestra(env, "trust", str(flow), "--yes").returncode == 0
    r = orchestra(env, "run", str(flow), "--json", timeout=60)  # before the fix: held until the grandchild ended
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)["outputs"]["result"]
    assert result["timed_out"] is True and "time limit of 2 s" in result["stderr"]
    assert ps_named(name) == [] and leftovers(tmp_path) == []


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_nothing_outlives_orchestra_killed(tmp_path, sandbox, how):
    env = env_for(tmp_path, sandbox)
    name = marker()
    flow = python_flow(tmp_path / "f" / "long.flow.json", named_code(name, ESCAPE + "time.sleep(300)\n"), timeout_s=280)
    assert orchestra(env, "trust", str(flow), "--yes").returncode == 0
    proc = start_orchestra(env, "run", str(flow), "--plain")
    try:
        # the code and its escaped grandchild are both running, under the marker's name
        assert wait_until(lambda: len(ps_named(name)) >= 2, 60), (ps_named(name), proc.poll())
        if sandbox == "process":
            assert leftovers(tmp_path)  # the process sandbox has a folder on disk while it runs
        proc.send_signal(how)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert wait_until(lambda: ps_named(name) == [], 30), ps_named(name)
    assert wait_until(lambda: leftovers(tmp_path) == [], 30), leftovers(tmp_path)


async def test_run_python_itself_leaves_nothing_behind(tmp_path, sandbox, monkeypatch):
    """The sandbox function on its own (no CLI, no trust): the escaped grandchild and the folder go."""
    from studio.tools.python_runner import run_python

    monkeypatch.setenv("ORCHESTRA_SANDBOX", sandbox)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # pick up this TMPDIR
    name = marker()
    result = await run_python(named_code(name, ESCAPE), timeout_s=20)
    assert result["stdout"] == "escaped a child\n"
    assert wait_until(lambda: ps_named(name) == [], 10), ps_named(name)
    assert leftovers(tmp_path) == []
