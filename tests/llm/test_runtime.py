"""litellm hygiene (DESIGN §5): lazy import, local price map, quiet loggers, warm-up off-thread;
and the Qt boundary for the packages this layer owns."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PY = sys.executable


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))


def test_importing_the_llm_layer_and_ai_nodes_does_not_import_litellm():
    r = _run("""
        import sys
        import studio.llm, studio.tools, nodes.llm, nodes.agent, nodes.tool, nodes.guardrail
        from studio.core.catalogue.registry import default_registry
        default_registry()
        print("litellm" in sys.modules)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_no_qt_in_llm_tools_and_nodes():
    r = _run("""
        import builtins, pkgutil, importlib, sys
        real = builtins.__import__
        def guard(name, *a, **k):
            if name.split(".")[0] in ("PySide6", "shiboken6", "qasync"):
                raise ImportError("Qt is not allowed here: " + name)
            return real(name, *a, **k)
        builtins.__import__ = guard
        import studio.llm, studio.tools, studio.core.userdata.credentials, studio.core.sharing.pii, studio.cli.keys
        import studio.llm.choose, studio.llm.node_support
        import nodes
        for info in pkgutil.iter_modules(nodes.__path__):
            importlib.import_module("nodes." + info.name)
        print("ok")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_litellm_is_loaded_quietly_with_the_local_price_map():
    r = _run("""
        import logging, os
        from studio.llm import runtime
        assert not runtime.is_loaded()
        fut = runtime.warm_up()
        assert runtime.warm_up() is fut
        ll = fut.result(120)
        assert runtime.is_loaded() and runtime.litellm() is ll
        print(os.environ["LITELLM_LOCAL_MODEL_COST_MAP"], ll.suppress_debug_info,
              logging.getLogger("LiteLLM").level == logging.ERROR)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True", "True"]
    assert "model cost map fetch" not in r.stderr  # never tried to download prices


def test_warm_up_runs_on_another_thread():
    r = _run("""
        import threading
        from studio.llm import runtime
        seen = []
        import builtins
        real = builtins.__import__
        def spy(name, *a, **k):
            if name == "litellm" and not seen:
                seen.append(threading.current_thread().name)
            return real(name, *a, **k)
        builtins.__import__ = spy
        runtime.warm_up().result(120)
        print(seen[0])
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "litellm-warm-up"
