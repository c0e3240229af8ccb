"""Where per-user settings live (pricing overrides, trusted folders).

One function so every module agrees, and so tests (and portable installs) can point it
elsewhere with ORCHESTRA_CONFIG_DIR instead of touching the real profile.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

APP_NAME = "orchestra-studio"


def config_dir() -> Path:
    """The user's Orchestra settings folder (not created here)."""
    override = os.environ.get("ORCHESTRA_CONFIG_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    return _platform_config_dir()


@lru_cache(maxsize=1)
def _platform_config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False))
