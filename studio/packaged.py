"""Where the files that ship with the package are: the theme and default prices
(``resources/``) and the example flows (``projects/``).

Both folders sit at the top of the repository, where people look for them, and are
installed as the package data of ``studio.resources`` and ``studio.projects`` (see
setup.py). Code finds them through ``importlib.resources``, never relative to its own
file, so a regular (non-editable) ``pip install .`` finds them as well as a checkout.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from functools import lru_cache
from importlib.resources import as_file, files
from pathlib import Path

_keep = ExitStack()  # a zipped install extracts to a temporary folder kept until exit
atexit.register(_keep.close)


@lru_cache(maxsize=None)
def _folder(package: str) -> Path:
    return Path(_keep.enter_context(as_file(files(package))))


def resources_dir() -> Path:
    """The installed ``resources/`` folder (studio.qss, pricing.json, icons/)."""
    return _folder("studio.resources")


def projects_dir() -> Path:
    """The installed example projects (``*.flow.json`` and the files beside them)."""
    return _folder("studio.projects")
