"""Can Qt show a window here? Asked before Qt is imported, so a missing display or a
missing system library ends in one line that says what to do, not in Qt's abort.

Qt's xcb platform plugin (X11, the default on Linux without Wayland) needs a display and
a handful of xcb libraries that a minimal or server install lacks; without them Qt prints
"could not load the Qt platform plugin xcb" and aborts the interpreter (exit 134). This
module loads the same libraries with ``ctypes`` (each a fast ``dlopen``, nothing spawned)
and looks for the display, and names the packages to install for the distribution it
runs on (from /etc/os-release). It imports nothing from Qt.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import Callable, Mapping

# soname -> the package that ships it, per distribution family: what Qt's xcb platform
# plugin (libQt6XcbQpa) and QtGui load, as `objdump -p` lists them for PySide6 6.11/6.12
XCB_LIBS: dict[str, dict[str, str]] = {
    "libxcb-cursor.so.0": {"debian": "libxcb-cursor0", "fedora": "xcb-util-cursor", "arch": "xcb-util-cursor", "suse": "libxcb-cursor0"},
    "libxcb-icccm.so.4": {"debian": "libxcb-icccm4", "fedora": "xcb-util-wm", "arch": "xcb-util-wm", "suse": "libxcb-icccm4"},
    "libxcb-keysyms.so.1": {"debian": "libxcb-keysyms1", "fedora": "xcb-util-keysyms", "arch": "xcb-util-keysyms", "suse": "libxcb-keysyms1"},
    "libxcb-image.so.0": {"debian": "libxcb-image0", "fedora": "xcb-util-image", "arch": "xcb-util-image", "suse": "libxcb-image0"},
    "libxcb-render-util.so.0": {"debian": "libxcb-render-util0", "fedora": "xcb-util-renderutil", "arch": "xcb-util-renderutil", "suse": "libxcb-render-util0"},
    "libxcb-shape.so.0": {"debian": "libxcb-shape0", "fedora": "libxcb", "arch": "libxcb", "suse": "libxcb-shape0"},
    "libxcb-randr.so.0": {"debian": "libxcb-randr0", "fedora": "libxcb", "arch": "libxcb", "suse": "libxcb-randr0"},
    "libxcb-xkb.so.1": {"debian": "libxcb-xkb1", "fedora": "libxcb", "arch": "libxcb", "suse": "libxcb-xkb1"},
    "libxkbcommon-x11.so.0": {"debian": "libxkbcommon-x11-0", "fedora": "libxkbcommon-x11", "arch": "libxkbcommon-x11", "suse": "libxkbcommon-x11-0"},
    "libxcb-util.so.1": {"debian": "libxcb-util1", "fedora": "xcb-util", "arch": "xcb-util", "suse": "libxcb-util1"},
    "libxcb-shm.so.0": {"debian": "libxcb-shm0", "fedora": "libxcb", "arch": "libxcb", "suse": "libxcb-shm0"},
    "libxcb-sync.so.1": {"debian": "libxcb-sync1", "fedora": "libxcb", "arch": "libxcb", "suse": "libxcb-sync1"},
    "libxcb-xfixes.so.0": {"debian": "libxcb-xfixes0", "fedora": "libxcb", "arch": "libxcb", "suse": "libxcb-xfixes0"},
    "libxcb-render.so.0": {"debian": "libxcb-render0", "fedora": "libxcb", "arch": "libxcb", "suse": "libxcb-render0"},
    "libX11-xcb.so.1": {"debian": "libx11-xcb1", "fedora": "libX11-xcb", "arch": "libx11", "suse": "libX11-xcb1"},
    "libEGL.so.1": {"debian": "libegl1", "fedora": "libglvnd-egl", "arch": "libglvnd", "suse": "libEGL1"},
    "libGL.so.1": {"debian": "libgl1", "fedora": "libglvnd-glx", "arch": "libglvnd", "suse": "libGL1"},
    "libfontconfig.so.1": {"debian": "libfontconfig1", "fedora": "fontconfig", "arch": "fontconfig", "suse": "libfontconfig1"},
}
INSTALLER = {"debian": "sudo apt install", "fedora": "sudo dnf install", "arch": "sudo pacman -S", "suse": "sudo zypper install"}
HEADLESS_HINT = "or QT_QPA_PLATFORM=offscreen for a run without a window"


def distro_family(os_release: Path = Path("/etc/os-release")) -> str:
    """debian, fedora, arch or suse (debian when unsure: the commonest)."""
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace").lower()
    except OSError:
        return "debian"
    ids = " ".join(line.split("=", 1)[1].strip('"') for line in text.splitlines()
                   if line.startswith(("id=", "id_like=")))
    for family, words in (("fedora", ("fedora", "rhel", "centos")), ("arch", ("arch",)), ("suse", ("suse",)),
                          ("debian", ("debian", "ubuntu"))):
        if any(w in ids.split() for w in words):
            return family
    return "debian"


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
        return True
    except OSError:
        return False


def _plugin_problem() -> str | None:
    """The loader's complaint about Qt's xcb plugin (a library not in the table), if any."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("PySide6")
        if spec is None or not spec.submodule_search_locations:
            return None
        plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if not plugin.exists():
            return None
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return str(exc).split(":")[0] if ":" in str(exc) else str(exc)
    return None


def _local_display_exists(display: str) -> bool:
    """False only when DISPLAY names a local X server whose socket is not there."""
    if not display.startswith(":"):
        return True  # host:N (ssh -X, a remote server): let Qt try
    number = display[1:].split(".", 1)[0]
    return not number.isdigit() or Path(f"/tmp/.X11-unix/X{number}").exists()


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None,
                    loads: Callable[[str], bool] = _loads, family: str | None = None) -> str | None:
    """One line saying why Qt could not open a window here and what to do; None when it can."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "")
    if qpa and not qpa.split(";")[0].startswith("xcb"):
        return None  # offscreen, wayland, vnc...: the person chose
    if not qpa and env.get("WAYLAND_DISPLAY"):
        return None  # Qt picks its Wayland plugin
    display = env.get("DISPLAY", "")
    if not display:
        return ("orchestra: no display to open a window on (DISPLAY is not set). Start it from a desktop session, "
                f"use ssh -X, or xvfb-run orchestra ({HEADLESS_HINT})")
    family = family or distro_family()
    missing = [so for so in XCB_LIBS if not loads(so)]
    if missing:
        packages = " ".join(dict.fromkeys(XCB_LIBS[so][family] for so in missing))
        return (f"orchestra: Qt cannot open a window: missing system libraries for X11 "
                f"({', '.join(missing)}). Install them: {INSTALLER[family]} {packages} ({HEADLESS_HINT})")
    unnamed = _plugin_problem()
    if unnamed:
        return (f"orchestra: Qt cannot open a window: its X11 plugin cannot load ({unnamed}). Install the "
                f"package that provides it ({HEADLESS_HINT})")
    if not _local_display_exists(display):
        return (f"orchestra: no X server at DISPLAY={display}. Start it from a desktop session or "
                f"xvfb-run orchestra ({HEADLESS_HINT})")
    return None
