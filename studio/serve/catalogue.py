"""The flows a server serves, by name: the file's stem (``support_router.flow.json`` ->
``support_router``).

Names come only from the files given on the command line (a file, or every
``*.flow.json`` directly in a folder), never from a request: a request names a flow and
the name is looked up in a dict, so ``../`` or an absolute path is simply an unknown
name (404).

With ``reload`` every lookup compares the file's modification time (one ``stat``) and
loads the edited file for new requests; runs already going keep the plan they started
with (a plan is an immutable snapshot). An edited file that no longer loads or validates
keeps its last good version in service, and the problem is logged.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from studio.core.document.flowfile import interface_of, load_flow
from studio.core.document.interface import ChatInterface, chat_interface
from studio.core.document.model import FlowModel
from studio.core.errors import FlowFileError
from studio.core.running.plan import FlowInvalid, Plan, compile_plan
from studio.core.running.trace import trace_folder
from studio.serve.schema import input_schema, output_schema, validator_for

log = logging.getLogger("orchestra.serve")

SUFFIX = ".flow.json"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
RESCAN_S = 1.0  # how often (at most) a served folder is listed again for new flow files


class CatalogueError(Exception):
    """A flow named on the command line cannot be served (unreadable, invalid, clashing)."""


@dataclass(frozen=True)
class ServedFlow:
    name: str
    path: Path
    model: FlowModel
    plan: Plan
    interface: dict[str, Any]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    chat: ChatInterface | None
    mtime_ns: int
    validator: Any = None  # schema.InputValidator of input_schema
    trace_dir: Path | None = None  # the flow file's folder of runs (its History)

    def __post_init__(self) -> None:
        # worked out once per loaded version, not per request: resolving the path and
        # hashing it cost ~0.1 ms, as much as the rest of a request's checks together
        object.__setattr__(self, "validator", validator_for(self.input_schema))
        object.__setattr__(self, "trace_dir", trace_folder(self.path))

    @property
    def description(self) -> str:
        return self.model.description or ""

    def listing(self) -> dict[str, Any]:
        """What GET /flows says about this flow (no file path: that is the server's business)."""
        return {
            "name": self.name,
            "title": self.model.name,
            "description": self.description,
            "interface": {"inputs": self.input_schema, "outputs": self.output_schema},
            "chat": None if self.chat is None else {"input": self.chat.input, "output": self.chat.output,
                                                     "memory": self.chat.has_memory},
        }


def flow_name(path: Path) -> str:
    name = path.name
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) else path.stem


def load_served(path: Path) -> ServedFlow:
    """Load, validate and compile one flow file; CatalogueError says what is wrong."""
    try:
        mtime = path.stat().st_mtime_ns
        model = load_flow(path)
        plan = compile_plan(model)
    except FlowFileError as exc:
        raise CatalogueError(str(exc)) from None
    except FlowInvalid as exc:
        first = "; ".join(str(p) for p in exc.problems if p.is_error)
        raise CatalogueError(f"{path.name} is not valid: {first}") from None
    except OSError as exc:
        raise CatalogueError(f"cannot read {path}: {exc.strerror or exc}") from None
    iface = interface_of(model)
    return ServedFlow(flow_name(path), path, model, plan, iface, input_schema(plan), output_schema(plan),
                      chat_interface(model), mtime)


@dataclass
class FlowCatalogue:
    sources: Sequence[Path]
    reload: bool = False
    _flows: dict[str, ServedFlow] = field(default_factory=dict)
    _folders: list[Path] = field(default_factory=list)
    _last_scan: float = 0.0
    _bad_new: dict[Path, int] = field(default_factory=dict)  # a new file that failed to load -> its mtime
    problems: dict[str, str] = field(default_factory=dict)  # name -> why its newest edit is not served

    def __post_init__(self) -> None:
        files: list[Path] = []
        for src in self.sources:
            src = Path(src)
            if src.is_dir():
                self._folders.append(src)
                files.extend(sorted(src.glob(f"*{SUFFIX}")))
            elif src.is_file():
                files.append(src)
            else:
                raise CatalogueError(f"{src}: no such file or folder")
        for path in files:
            name = flow_name(path)
            if not NAME_RE.match(name):
                raise CatalogueError(f"{path}: {name!r} cannot be a flow name in a URL (letters, digits, _ - . only)")
            if name in self._flows:
                raise CatalogueError(f"two served flows would both be called {name!r}: {self._flows[name].path} and {path}")
            self._flows[name] = load_served(path)
        if not self._flows:
            raise CatalogueError("no flows to serve (give *.flow.json files or folders holding them)")
        self._last_scan = time.monotonic()

    # -- lookups ---------------------------------------------------------------------

    def get(self, name: str) -> ServedFlow | None:
        if not NAME_RE.match(name or ""):
            return None
        if self.reload:
            self._rescan()
            flow = self._flows.get(name)
            if flow is not None:
                return self._fresh(flow)
        return self._flows.get(name)

    def all(self) -> list[ServedFlow]:
        if self.reload:
            self._rescan()
            for name in list(self._flows):
                self._fresh(self._flows[name])
        return [self._flows[n] for n in sorted(self._flows)]

    # -- reloading -------------------------------------------------------------------

    def _fresh(self, flow: ServedFlow) -> ServedFlow:
        try:
            mtime = flow.path.stat().st_mtime_ns
        except OSError:
            return flow  # deleted or moved: keep serving what we have; new runs still work
        if mtime == flow.mtime_ns:
            return flow
        try:
            new = load_served(flow.path)
        except CatalogueError as exc:
            if self.problems.get(flow.name) != str(exc):
                log.warning("%s was edited but cannot be served (%s); new requests keep the last good version",
                            flow.name, exc)
            self.problems[flow.name] = str(exc)
            return flow
        self.problems.pop(flow.name, None)
        self._flows[flow.name] = new
        log.info("reloaded %s", flow.name)
        return new

    def _rescan(self) -> None:
        now = time.monotonic()
        if not self._folders or now - self._last_scan < RESCAN_S:
            return
        self._last_scan = now
        for folder in self._folders:
            for path in sorted(folder.glob(f"*{SUFFIX}")):
                name = flow_name(path)
                if name in self._flows or not NAME_RE.match(name):
                    continue
                try:
                    mtime = path.stat().st_mtime_ns
                except OSError:
                    continue
                if self._bad_new.get(path) == mtime:
                    continue  # tried this version already
                try:
                    self._flows[name] = load_served(path)
                    self._bad_new.pop(path, None)
                    log.info("now serving %s", name)
                except CatalogueError as exc:
                    self._bad_new[path] = mtime
                    log.warning("%s cannot be served: %s", name, exc)
