"""The Ray engine: rows go to a pool of async Ray actors in blocks; the driver writes.

Why actors fed with blocks, not Ray Data: the driver must own three things that Ray
Data would take away -- the row numbers and the one results file (Ray Data writes from
its workers, so --resume could no longer be exactly once), the stop rules (budget,
failures, Ctrl-C are decided before each row, not per dataset stage), and the data
file itself (a file on the laptop need not be readable from the cluster). A fixed pool
of actors, each running the ordinary executor on its own event loop, with at most two
blocks in flight per actor, is Ray's own scheduling and object store doing the work
with plain backpressure: the driver never reads further ahead than the blocks in flight,
so memory stays flat on both sides. We write no scheduler: Ray places the actors and
moves the blocks; the driver only decides which rows to send.

* The flow file and the files it requires (``requires.files``, its ``tools/`` folder)
  travel as the actors' runtime environment ``working_dir``; workers load the flow from
  there, so file tools resolve paths exactly as on the laptop.
* Keys: workers find provider keys in their own environment (a local Ray inherits the
  driver's). ``send_keys`` puts the driver's keys into the runtime environment's
  ``env_vars`` instead. Either way, each worker redacts its own keys from its records
  and traces, and the driver redacts again before writing; no key is in the results.
* Budget: one small ``BudgetAccount`` actor is asked before each row starts and charged
  when it ends, on every worker, so the cap holds across the whole cluster.
"""

from __future__ import annotations

import asyncio
import glob
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

INSTALL_HINT = 'the Ray engine needs Ray: pip install "orchestra-studio[ray]"'
BLOCKS_IN_FLIGHT = 2  # per actor: one running, one queued, so no actor waits for the driver


class BudgetAccount:
    """The batch's one cost account, shared by every worker (a Ray actor)."""

    def __init__(self, cap: float, spent: float = 0.0):
        self.cap = cap
        self.spent = spent

    def may_start(self) -> bool:
        return self.spent < self.cap

    def charge(self, cost: float) -> float:
        self.spent += cost or 0.0
        return self.spent


class BatchWorker:
    """Runs rows with the ordinary executor on the actor's own event loop."""

    def __init__(self, flow_file: str, mapping: dict[str, Any], row_settings: dict[str, Any], share: int, account):
        from studio.batch.mapping import RowMapping
        from studio.batch.rowrun import RowSettings
        from studio.core.document.flowfile import load_flow
        from studio.core.running.plan import compile_plan
        from studio.core.userdata.credentials import known_secrets

        self.plan = compile_plan(load_flow(Path(flow_file).resolve()))
        self.mapping = RowMapping.from_json(mapping)
        # this worker's own keys: the driver never sends its secrets along with the rows
        row_settings = dict(row_settings, secrets=sorted(known_secrets(include_keyring=False)))
        self.rs = RowSettings(**row_settings)
        self.share = max(1, share)
        self.account = account
        self._sem: asyncio.Semaphore | None = None
        from studio.llm.warm import warm_up_for

        warm_up_for(self.plan)  # in each worker, before ready() lets the driver start the clock

    def ready(self) -> bool:
        return True

    async def run_block(self, block: list[tuple[int, Any]]) -> tuple[list[dict[str, Any]], int]:
        """(records of the rows that ran, how many did not start because the budget was spent)."""
        from studio.batch.rowrun import run_row

        if self._sem is None:
            self._sem = asyncio.Semaphore(self.share)
        sem, account = self._sem, self.account

        async def one(index: int, row: Any) -> dict[str, Any] | None:
            async with sem:
                if account is not None and not await account.may_start.remote():
                    return None
                rec = await run_row(self.plan, index, row, self.mapping, self.rs)
                if account is not None:
                    await account.charge.remote(rec.get("cost_usd") or 0.0)
                return rec

        out = await asyncio.gather(*(one(i, r) for i, r in block))
        records = [r for r in out if r is not None]
        return records, len(out) - len(records)


def _stage(batch, flow_path: Path) -> Path:
    """A folder holding the flow file, the files it requires and its tools/ folder."""
    import json

    stage = Path(tempfile.mkdtemp(prefix="orchestra-batch-ray-"))
    shutil.copy2(flow_path, stage / flow_path.name)
    base = flow_path.parent
    wanted: list[str] = []
    try:
        doc = json.loads(flow_path.read_text(encoding="utf-8"))
        wanted = [f for f in (doc.get("requires") or {}).get("files") or [] if isinstance(f, str)]
    except (OSError, ValueError):
        pass
    try:
        from studio.core.document.flowfile import load_flow
        from studio.core.sharing.export import files_read

        wanted += files_read(load_flow(flow_path))
    except Exception:  # noqa: BLE001 - the flow was loaded before; this is only a second look
        pass
    for pattern in sorted(set(wanted)):
        for found in glob.glob(str(base / pattern), recursive=True):
            src = Path(found)
            if not src.resolve().is_relative_to(base.resolve()):
                continue  # a required file outside the flow's folder is refused by the tools too
            dst = stage / src.relative_to(base)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            elif src.is_file():
                shutil.copy2(src, dst)
    tools = base / "tools"
    if tools.is_dir():
        shutil.copytree(tools, stage / "tools", dirs_exist_ok=True)
    return stage


def _key_env() -> dict[str, str]:
    from studio.core.userdata.credentials import ENV_VARS, find_key

    env = {}
    for provider, var in ENV_VARS.items():
        try:
            value, _ = find_key(provider)
        except Exception:  # noqa: BLE001 - a broken keyring: the environment's keys still go
            value = os.environ.get(var)
        if value:
            env[var] = value
    return env


def run_ray(batch, address: str | None = None, workers: int | None = None, send_keys: bool = False) -> None:
    try:
        import ray
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    if batch.flow_path is None:
        raise ValueError("the Ray engine needs the flow saved as a file (it travels to the workers)")
    if ray.is_initialized():
        raise RuntimeError("Ray is already initialised in this process: the batch connects its own Ray job "
                           "(so the flow travels in the job's runtime environment); run it before ray.init "
                           "or from its own process")
    config = batch.config
    stage = _stage(batch, batch.flow_path)
    env_vars = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    if send_keys:
        env_vars.update(_key_env())
    runtime_env = {"working_dir": str(stage), "env_vars": env_vars}
    if not address or address.rsplit(":", 1)[0] in ("127.0.0.1", "localhost"):
        # a Ray on this machine stays on loopback: Ray's single-machine mode (the switch is named
        # for macOS and Windows, where it is the default) binds 127.0.0.1 instead of the LAN address
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    actors: list[Any] = []
    account = None
    try:
        ray.init(address=address, runtime_env=runtime_env, include_dashboard=False, log_to_driver=False,
                 logging_level="WARNING")
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        n = workers or max(1, int(cpus))
        share = max(1, math.ceil(config.concurrency / n))
        if config.budget_usd is not None:
            account = ray.remote(num_cpus=0)(BudgetAccount).remote(config.budget_usd, batch.stats.cost_usd)
        rs = asdict(config.rows)
        rs["secrets"] = ()
        worker_cls = ray.remote(BatchWorker)
        each = min(1.0, cpus / n)
        actors = [worker_cls.options(num_cpus=each, max_concurrency=BLOCKS_IN_FLIGHT + 2)
                  .remote(batch.flow_path.name, batch.mapping.to_json(), rs, share, account) for _ in range(n)]
        ray.get([a.ready.remote() for a in actors])  # flow loaded, litellm imported: the clock starts now
        _drive(ray, batch, actors, block_size=max(16, share * 4))
    finally:
        if ray.is_initialized():
            for a in actors:
                ray.kill(a)
            if account is not None:
                ray.kill(account)
            ray.shutdown()  # our own local Ray stops; on a cluster only this job's connection ends
        shutil.rmtree(stage, ignore_errors=True)


def _drive(ray, batch, actors: list[Any], block_size: int) -> None:
    """Send blocks while the stop rules allow, write records as blocks come back."""
    rows = batch.pending()
    load = [0] * len(actors)
    in_flight: dict[Any, int] = {}
    exhausted = held_back = False
    batch.stats.started = time.monotonic()
    try:
        while True:
            while not exhausted and min(load) < BLOCKS_IN_FLIGHT:
                if not batch.rules.may_start():
                    held_back = True
                    break
                block = [item for _, item in zip(range(block_size), rows)]
                if not block:
                    exhausted = True
                    break
                i = load.index(min(load))
                ref = actors[i].run_block.remote(block)
                in_flight[ref] = i
                load[i] += 1
            if not in_flight:
                break
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                load[in_flight.pop(ref)] -= 1
                records, not_started = ray.get(ref)
                for rec in records:
                    batch.record(rec)
                held_back = held_back or bool(not_started)
    except KeyboardInterrupt:
        batch.rules.cancel()
        for ref in in_flight:
            ray.cancel(ref, force=False)
    if held_back or not exhausted:
        batch.rules.may_start()  # names why rows were left (budget, failures, cancelled)
