"""The Ray engine on a real local Ray (loopback, 2 CPUs), started once for this module.

The Ray is a process of the test's own (its GCS on 127.0.0.1); each batch connects to it
with --address as it would to a cluster, so the flow file really travels in the job's
runtime environment and the rows really run in Ray worker processes.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest

from .conftest import REPO, read_results, router_flow, write_jsonl

import ray  # noqa: F401,E402 - Ray is in the dev extra: a missing Ray fails here, it is never skipped

START_RAY = """
import sys, ray
ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test closes our stdin
ray.shutdown()
"""


pytestmark = pytest.mark.timeout(900)  # Ray starts in seconds here, but the machine is shared

# RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: Ray's single-machine mode, every address on 127.0.0.1;
# a token of this module's own (Ray 2.60 authenticates its GCS), not the one in ~/.ray
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory):
    env = {**os.environ, **RAY_ENV, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "ORCHESTRA_DATA_DIR": str(tmp_path_factory.mktemp("raydata"))}
    env.pop("OPENAI_API_KEY", None)  # the workers' own environment has no key (the key test relies on it)
    proc = subprocess.Popen([sys.executable, "-c", START_RAY], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO)
    address = proc.stdout.readline().strip()
    assert address.startswith("127.0.0.1:"), address
    yield address
    proc.stdin.close()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def orchestra_batch(tmp_path, *args, timeout=600, env_extra=None):
    env = {**os.environ, **RAY_ENV, "ORCHESTRA_DATA_DIR": str(tmp_path / "data"),
           "ORCHESTRA_CONFIG_DIR": str(tmp_path / "config"), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "studio.cli", "batch", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


STABLE = ("row", "status", "outputs", "error", "error_node", "tokens_in", "tokens_out", "cost_usd", "passed", "checks")


def test_ray_gives_the_same_rows_as_the_local_engine(tmp_path, ray_address):
    # the flow lives in its own folder, away from the data: only the runtime env brings it to the workers
    (tmp_path / "flows").mkdir()
    flow = router_flow(tmp_path / "flows" / "router.flow.json", mock=["billing", "technical"])
    rows = [{"ticket": f"ticket {i}", "expected.route": "route=billing" if i % 10 else "route=general"}
            for i in range(1000)]
    rows[500] = {"ticket": None}  # a row that fails the same way on both engines
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    local = orchestra_batch(tmp_path, flow, "--data", data, "--out", tmp_path / "local.jsonl", "--mock",
                            "--json", "--traces", "none")
    assert local.returncode == 1, local.stderr  # row 500 failed, some checks failed
    remote = orchestra_batch(tmp_path, flow, "--data", data, "--out", tmp_path / "ray.jsonl", "--mock", "--json",
                             "--engine", "ray", "--address", ray_address, "--concurrency", "8",
                             "--traces", str(tmp_path / "traces"))
    assert remote.returncode == 1, remote.stderr
    a = sorted(read_results(tmp_path / "local.jsonl"), key=lambda r: r["row"])
    b = sorted(read_results(tmp_path / "ray.jsonl"), key=lambda r: r["row"])
    assert len(a) == len(b) == 1000
    assert [{k: r[k] for k in STABLE} for r in a] == [{k: r[k] for k in STABLE} for r in b]
    assert b[500]["status"] == "failed" and "required input 'ticket'" in b[500]["error"]
    sa, sb = json.loads(local.stdout), json.loads(remote.stdout)
    for key in ("rows", "succeeded", "failed", "evaluated", "passed", "cost_usd", "tokens_in", "tokens_out"):
        assert sa[key] == sb[key], key
    # rows 0, 10, ... expect "general" and get "billing" (99 of them: row 500 has no expectation)
    assert sb["engine"] == "ray" and sb["evaluated"] == 999 and sb["passed"] == 900
    # the workers wrote each row's trace where they were told (one machine here)
    assert os.path.isfile(b[3]["trace"]) and b[3]["trace"].startswith(str(tmp_path / "traces"))


def test_the_budget_holds_across_workers(tmp_path, ray_address):
    flow = router_flow(tmp_path / "router.flow.json", mock=["billing"])
    data = write_jsonl(tmp_path / "d.jsonl", [{"ticket": f"t{i}"} for i in range(2000)])
    one = orchestra_batch(tmp_path, flow, "--data", data, "--out", tmp_path / "one.jsonl", "--mock", "--limit", "1",
                          "--traces", "none")
    assert one.returncode == 0, one.stderr
    per_row = read_results(tmp_path / "one.jsonl")[0]["cost_usd"]
    budget = per_row * 40.5
    concurrency = 4  # two workers, two rows each
    r = orchestra_batch(tmp_path, flow, "--data", data, "--out", tmp_path / "o.jsonl", "--mock", "--budget", repr(budget),
                        "--engine", "ray", "--address", ray_address, "--concurrency", str(concurrency),
                        "--workers", "2", "--json", "--traces", "none")
    assert r.returncode == 3, r.stderr
    recs = read_results(tmp_path / "o.jsonl")
    spent = sum(x["cost_usd"] for x in recs)
    assert spent >= budget
    # once the account reached the cap no worker started a row; only the running ones finished
    assert len(recs) <= 41 + concurrency, len(recs)
    assert len({x["row"] for x in recs}) == len(recs)
    assert json.loads(r.stdout)["outcome"] == "budget"


def test_keys_reach_workers_from_the_runtime_env_and_never_the_results(tmp_path, ray_address):
    from support.mock_openai import MockOpenAIThread, Reply

    secret = "sk" "-test-ray-key-0123456789abcdef"
    flow = router_flow(tmp_path / "router.flow.json")
    data = write_jsonl(tmp_path / "d.jsonl", [{"ticket": f"t{i}"} for i in range(6)])
    with MockOpenAIThread() as server:
        server.on_model("gpt-4o-mini", lambda seen: Reply.bad_request(f"rejected {seen.authorization}")
                        if seen.body["messages"][-1]["content"].endswith("t3") else Reply.text("billing"))
        # the key is in the driver's environment only: the module's Ray started without it
        r = orchestra_batch(tmp_path, flow, "--data", data, "--out", tmp_path / "o.jsonl", "--engine", "ray",
                            "--address", ray_address, "--send-keys", "--api-base", server.base_url,
                            env_extra={"OPENAI_API_KEY": secret})
        auths = {s.authorization for s in server.requests}
    out = tmp_path / "o.jsonl"
    assert r.returncode == 1 and "the batch stopped" not in r.stderr, r.stderr[-3000:]  # rows failed, not the engine
    assert len(read_results(out)) == 6, (r.stderr[-2000:], out.read_text()[:2000])
    assert auths == {f"Bearer {secret}"}, out.read_text()[:2000]  # the workers (whose own env has no key) got it from the runtime env
    text = (tmp_path / "o.jsonl").read_text()
    assert secret not in text and "[redacted]" in text
    assert secret not in r.stdout + r.stderr
    recs = {x["row"]: x for x in read_results(tmp_path / "o.jsonl")}
    assert recs[3]["status"] == "failed" and recs[0]["outputs"] == {"route": "route=billing"}


def test_resume_on_ray_skips_the_rows_already_written(tmp_path, ray_address):
    flow = router_flow(tmp_path / "router.flow.json", mock=["billing"])
    data = write_jsonl(tmp_path / "d.jsonl", [{"ticket": f"t{i}"} for i in range(600)])
    out = tmp_path / "o.jsonl"
    common = ("--data", data, "--out", out, "--mock", "--engine", "ray", "--address", ray_address, "--traces", "none")
    first = orchestra_batch(tmp_path, flow, *common, "--limit", "250")
    assert first.returncode == 0, first.stderr
    assert len(read_results(out)) == 250
    again = orchestra_batch(tmp_path, flow, *common, "--resume", "--json")
    assert again.returncode == 0, again.stderr
    rows = [r["row"] for r in read_results(out)]
    assert sorted(rows) == list(range(600))  # every row once: the 250 were not sent again
    summary = json.loads(again.stdout)
    assert summary["rows"] == 600 and summary["resumed"] == 250
