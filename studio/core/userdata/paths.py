"""Where the studio keeps per-user files: settings (pricing overrides, trusted folders)
under the config folder; run traces, recovery files and other data under the data folder.

One module so every part agrees. ``ORCHESTRA_DATA_DIR`` / ``ORCHESTRA_CONFIG_DIR``
override the platform defaults, so tests, portable installs and "a fresh user profile"
are one environment variable away. Nothing here creates a folder.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

APP = "orchestra-studio"


def data_dir() -> Path:
    override = os.environ.get("ORCHESTRA_DATA_DIR", "").strip()
    return Path(override).expanduser() if override else _platform_dir("data")


def config_dir() -> Path:
    override = os.environ.get("ORCHESTRA_CONFIG_DIR", "").strip()
    return Path(override).expanduser() if override else _platform_dir("config")


@lru_cache(maxsize=2)
def _platform_dir(which: str) -> Path:
    import platformdirs  # imported lazily: the studio's first frame does not need it

    finder = platformdirs.user_config_dir if which == "config" else platformdirs.user_data_dir
    return Path(finder(APP, appauthor=False))


def traces_dir(flow_name: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", flow_name.lower()).strip("-") or "untitled"
    return data_dir() / "traces" / slug[:60]
