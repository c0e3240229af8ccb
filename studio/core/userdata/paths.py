"""Where the studio keeps per-user data: run traces, recovery files, trust, settings.

``ORCHESTRA_DATA_DIR`` / ``ORCHESTRA_CONFIG_DIR`` override the platform defaults, so
tests and "a fresh user profile" are one environment variable away.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

APP = "orchestra-studio"


def data_dir() -> Path:
    return Path(os.environ.get("ORCHESTRA_DATA_DIR") or platformdirs.user_data_dir(APP))


def config_dir() -> Path:
    return Path(os.environ.get("ORCHESTRA_CONFIG_DIR") or platformdirs.user_config_dir(APP))


def traces_dir(flow_name: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", flow_name.lower()).strip("-") or "untitled"
    return data_dir() / "traces" / slug[:60]
