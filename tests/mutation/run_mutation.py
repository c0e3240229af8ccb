"""Mutation testing of the engine, the file format and validation, with mutmut.

Why mutmut (3.x): it is maintained, runs on Python 3.11, and is fast where it counts on a
2-core machine: it records which tests reach each function, then runs only those tests
against each mutant, forked from a warm process (no re-import of litellm per mutant),
stopping at the first failing test. cosmic-ray runs the whole test command per mutant
(minutes per mutant here); pytest-gremlins is young and has few users.

What it does: copies the repository to a scratch folder (the working tree never sees a
mutant), writes mutmut's settings into the copy's pyproject.toml, runs the chosen tests
once clean (tests that already fail there -- e.g. the corpus tests waiting for a fix on
main -- are deselected and listed, since mutmut needs a green baseline), runs
``mutmut run``, then prints every surviving mutant and ends with ONE JSON line: the
counts and the score (killed / (killed + survived); timeouts count as killed).

Usage (not part of CI; aim: under 30 minutes on 2 cores):

    .venv/bin/python tests/mutation/run_mutation.py                  # everything below
    .venv/bin/python tests/mutation/run_mutation.py --only studio/core/running/retry.py
    .venv/bin/python tests/mutation/run_mutation.py --workdir /tmp/m  # keep the results there
    .venv/bin/python tests/mutation/run_mutation.py --subset --fast   # a loaded machine: SUBSET only

Edit MODULES (what is mutated) and TESTS (what must kill the mutants) below; globs are
fine, so the executor's split into studio/core/running/engine/ is already covered.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# what is mutated: the engine (plan, executor or its engine/ package, retry), the file
# format and validation
MODULES = [
    "studio/core/running/plan.py",
    "studio/core/running/executor.py",
    "studio/core/running/retry.py",
    "studio/core/running/engine/*.py",
    "studio/core/running/engine/**/*.py",
    "studio/core/document/flowfile.py",
    "studio/core/document/validation.py",
]

# the tests that must kill them (no Qt, no subprocess-heavy CLI tests: those are slow
# per mutant and reach the same code through these)
TESTS = [
    "tests/guarantees",
    "tests/corpus",  # slow per mutant (real litellm, example projects); --fast leaves it out
    "tests/executor",
    "tests/core/test_flowfile.py",
    "tests/core/test_validation_rules.py",
    "tests/core/test_graph_nesting.py",
    "tests/core/test_events.py",
]

# --subset: a representative part when the machine cannot do everything in 30 minutes
# (mutmut mutant-name globs: module.x_function or module.xǁClassǁmethod)
SUBSET = [
    "studio.core.running.retry.*",
    "studio.core.running.plan.x_compile_plan*",
    "studio.core.running.executor.xǁRunǁ_run_loop*",
    "studio.core.running.executor.xǁRunǁ_gather*",
    "studio.core.running.executor.xǁRunǁ_run_subflow*",
    "studio.core.running.executor.xǁRunǁ_check_budget*",
    "studio.core.running.executor.xǁRunǁ_skip*",
    "studio.core.running.executor.x__all_or_fail*",
    "studio.core.running.executor.x__read*",
    "studio.core.running.executor.x_condition_holds*",
    "studio.core.document.flowfile.x__edge_*",
    "studio.core.document.flowfile.x__endpoint*",
    "studio.core.document.flowfile.x_parse_document*",
    "studio.core.document.validation.x__check_edges*",
    "studio.core.document.validation.x__check_branches*",
    "studio.core.document.validation.x__check_required_inputs*",
]

COPY = ["studio", "nodes", "tests", "projects", "resources", "pyproject.toml", "README.md"]


def _modules(only: list[str]) -> list[str]:
    chosen = only or MODULES
    found: list[str] = []
    for pattern in chosen:
        for path in sorted(glob.glob(str(ROOT / pattern), recursive=True)):
            rel = str(Path(path).relative_to(ROOT))
            if rel not in found and rel.endswith(".py") and not rel.endswith("__init__.py"):
                found.append(rel)
    return found


def _copy(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for part in COPY:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__", "mutants", "*.egg-info"))
        elif src.exists():
            shutil.copy2(src, dest / part)


def _baseline_failures(dest: Path, tests: list[str]) -> list[str]:
    """Tests that fail before any mutation (mutmut needs a green start)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                           "-rf", *tests], cwd=dest, capture_output=True, text=True, env=_env(dest))
    return sorted(set(re.findall(r"^FAILED (\S+?)(?: - |$)", proc.stdout, re.M)))


def _env(dest: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONPATH=str(dest))
    return env


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _configure(dest: Path, modules: list[str], tests: list[str], deselect: list[str]) -> None:
    args = [*tests, *[f"--deselect={t}" for t in deselect]]
    config = (
        "\n\n[tool.mutmut]\n"
        f"source_paths = {_toml_list(['studio', 'nodes'])}\n"
        f"only_mutate = {_toml_list(modules)}\n"
        f"also_copy = {_toml_list(['tests', 'projects', 'resources', 'README.md'])}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(args)}\n"
        f"pytest_add_cli_args = {_toml_list(['-p', 'no:cacheprovider', '-o', 'addopts='])}\n"
    )
    with open(dest / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write(config)


def _results(dest: Path, names: list[str]) -> dict[str, list[str]]:
    proc = subprocess.run([str(Path(sys.executable).parent / "mutmut"), "results", "--all", "true"], cwd=dest,
                          capture_output=True, text=True, env=_env(dest))
    by_status: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if m and (not names or any(fnmatch.fnmatchcase(m.group(1), n) for n in names)):
            by_status.setdefault(m.group(2).strip(), []).append(m.group(1))
    return by_status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=[], help="module paths or globs instead of MODULES")
    ap.add_argument("--tests", nargs="*", default=[], help="test paths instead of TESTS")
    ap.add_argument("--workdir", default="/tmp/orchestra-mutation")
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--reuse", action="store_true", help="keep the workdir's earlier results (mutmut resumes)")
    ap.add_argument("--subset", action="store_true", help="only the functions in SUBSET (a loaded machine)")
    ap.add_argument("--fast", action="store_true", help="leave tests/corpus out (slow per mutant)")
    ap.add_argument("--names", help="a file of mutant names (one a line), e.g. the survivors of an earlier run")
    a = ap.parse_args(argv)
    dest = Path(a.workdir)
    modules = _modules(a.only)
    tests = [t for t in (a.tests or TESTS) if (ROOT / t).exists() and not (a.fast and t == "tests/corpus")]
    print(f"mutating {len(modules)} module(s): {', '.join(modules)}", flush=True)
    print(f"with the tests in: {', '.join(tests)}", flush=True)
    t0 = time.perf_counter()
    if not (a.reuse and dest.exists()):
        _copy(dest)
        deselect = _baseline_failures(dest, tests)
        for t in deselect:
            print(f"deselected (fails before mutation): {t}", flush=True)
        _configure(dest, modules, tests, deselect)
    names = SUBSET if a.subset else []
    if a.names:
        names = [n.strip() for n in Path(a.names).read_text().splitlines() if n.strip()]
    if names:
        print(f"only the mutants of: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''} ({len(names)} pattern(s))",
              flush=True)
    subprocess.run([str(Path(sys.executable).parent / "mutmut"), "run", "--max-children", str(a.max_children), *names],
                   cwd=dest, env=_env(dest), stdout=subprocess.DEVNULL if not os.environ.get("MUTMUT_VERBOSE") else None)
    wall = time.perf_counter() - t0
    by_status = _results(dest, names)
    killed = len(by_status.get("killed", [])) + len(by_status.get("timeout", []))
    # a mutant no test reaches ("no tests") is as alive as one that survived them: counted so
    survived = by_status.get("survived", []) + by_status.get("no tests", [])
    other = {k: len(v) for k, v in by_status.items() if k not in ("killed", "timeout", "survived", "no tests")}
    for name in survived:
        print(f"survived: {name}", flush=True)
    (dest / "survivors.txt").write_text("".join(f"{n}\n" for n in survived))
    total = killed + len(survived)
    print(f"killed {killed}, survived {len(survived)}, other {other}, in {wall / 60:.1f} min; "
          f"see one with: cd {dest} && mutmut show NAME", flush=True)
    print(json.dumps({"tool": "mutmut", "modules": modules, "killed": killed, "survived": len(survived),
                      "other": other, "score": round(killed / total, 4) if total else None,
                      "wall_min": round(wall / 60, 2), "workdir": str(dest)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
