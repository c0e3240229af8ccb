"""Issue 14, item 9: start-up without a display ends in one line that says what to do.

The real `orchestra` start-up runs in a child process, as the README's quick start does;
before the check, Qt aborted the interpreter (exit 134, "could not load the Qt platform
plugin xcb").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from studio.ui.startup_check import display_problem, distro_family

ROOT = Path(__file__).resolve().parents[2]


def _orchestra(env_changes: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_changes)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", "from studio.cli import main; raise SystemExit(main([]))"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)


def test_no_display_prints_one_line_fix_instead_of_qt_abort(tmp_path):
    r = _orchestra({}, tmp_path)
    assert r.returncode == 3, (r.returncode, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("orchestra: ") and "QT_QPA_PLATFORM=offscreen" in lines[0]
    assert "could not load the Qt platform plugin" not in r.stderr


def test_a_display_that_is_not_there_is_named(tmp_path):
    r = _orchestra({"DISPLAY": ":97"}, tmp_path)  # no X server on :97 here
    assert r.returncode == 3, (r.returncode, r.stderr)
    line = r.stderr.strip()
    assert "\n" not in line and line.startswith("orchestra: ")
    # either the xcb libraries are missing (named with their packages) or the server is
    assert "Install them:" in line or "DISPLAY=:97" in line


def test_missing_xcb_library_names_the_package_per_distribution(tmp_path):
    env = {"DISPLAY": ":0"}
    missing = {"libxcb-cursor.so.0"}
    debian = display_problem(env, "linux", loads=lambda so: so not in missing, family="debian")
    assert "sudo apt install libxcb-cursor0" in debian and "libxcb-cursor.so.0" in debian
    fedora = display_problem(env, "linux", loads=lambda so: so not in missing, family="fedora")
    assert "sudo dnf install xcb-util-cursor" in fedora
    arch = display_problem(env, "linux", loads=lambda so: so not in missing, family="arch")
    assert "sudo pacman -S xcb-util-cursor" in arch


def test_other_platforms_and_choices_are_left_alone():
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", loads=lambda so: False) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", loads=lambda so: False) is None
    assert display_problem({}, "darwin", loads=lambda so: False) is None
    assert display_problem({}, "win32", loads=lambda so: False) is None


def test_distribution_family_from_os_release(tmp_path):
    f = tmp_path / "os-release"
    f.write_text('NAME="Fedora Linux"\nID=fedora\n')
    assert distro_family(f) == "fedora"
    f.write_text('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n')
    assert distro_family(f) == "debian"
    f.write_text('ID=endeavouros\nID_LIKE=arch\n')
    assert distro_family(f) == "arch"
    f.write_text('ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n')
    assert distro_family(f) == "suse"
