"""The start of a child interpreter that must never import Qt: headless-code tests run
their imports after this prelude, in a fresh process, so modules the suite already
imported (Qt included) cannot hide a violation."""

PRELUDE = r"""
import importlib, importlib.abc, pkgutil, sys

BLOCKED = ("PySide6", "shiboken6", "qasync")

class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: headless code must not import Qt")
        return None

sys.meta_path.insert(0, NoQt())
for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]
"""
