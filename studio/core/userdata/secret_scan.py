"""Key-shaped strings in a flow document, found whether or not this process knows the key.

Why a scanner and not only the list of known keys: the export used to refuse a key only
when the running process happened to know it (from the keyring or the environment); a key
pasted from somewhere else went out. This module looks at the document itself:

* the common provider key formats (OpenAI, Anthropic, Google, GitHub, GitLab, Slack, AWS,
  Hugging Face, Groq, Stripe, xAI), private key blocks, JSON web tokens, ``Bearer``
  and ``Basic`` credentials, and ``user:password@`` in URLs;
* high-entropy values under names that say secret (``api_key``, ``Authorization``,
  ``X-Api-Key``, ``Cookie``, ``password``, ``token``…; ``credentials.is_secret_field``);
* every secret this process does know (keys, named secrets), in any of the encodings
  ``redaction.secret_forms`` lists.

A ``{{ secrets.NAME }}`` reference is what belongs there instead, and is never a finding.

Who calls it: ``flowfile.save_flow`` (refuses with ``SecretsInFlow`` unless the caller
passes ``allow_secrets=True`` after asking the person: the studio does, offering to move
each value into a named secret with ``move_to_secret``) and ``sharing.export`` (always
refuses, naming the JSON path). A finding names the place and the kind, never the value.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import orjson

from studio.core.errors import FlowFileError

PATTERNS: tuple[tuple[str, str], ...] = (
    ("an Anthropic API key", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("an OpenAI-style API key", r"sk-(?:proj-|svcacct-|admin-|or-v1-)?[A-Za-z0-9_\-]{20,}"),
    ("a Google API key", r"AIza[0-9A-Za-z_\-]{35}"),
    ("a GitHub token", r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}"),
    ("a GitLab token", r"glpat-[A-Za-z0-9_\-]{20,}"),
    ("a Slack token", r"xox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("an AWS access key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("a Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}"),
    ("a Groq API key", r"\bgsk_[A-Za-z0-9]{40,}"),
    ("a Stripe key", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{20,}"),
    ("an xAI API key", r"\bxai-[A-Za-z0-9]{40,}"),
    ("a private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    ("a JSON web token", r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    ("a bearer token", r"\b(?i:bearer)\s+[A-Za-z0-9\-._~+/]{16,}=*"),
    ("Basic credentials", r"\b(?i:basic)\s+[A-Za-z0-9+/]{16,}=*"),
    ("a password in a URL", r"\b[a-z][a-z0-9+.\-]*://[^/\s:@{}]+:[^/\s@{}]{6,}@"),
)
# Every pattern above needs one of these (lower-cased) in the text: a cheap test that
# keeps the combined regex, slow per character, off the text that cannot match.
TRIGGERS = ("sk-", "aiza", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "akia", "asia",
            "hf_", "gsk_", "_live_", "_test_", "xai-", "-----begin", "eyj", "bearer", "basic", "://")
_COMBINED = re.compile("|".join(f"(?P<p{i}>{rx})" for i, (_, rx) in enumerate(PATTERNS)))
MIN_ENTROPY_LEN = 12
MIN_ENTROPY_BITS = 3.0  # per character; English words and slugs stay below, random tokens above


class SecretsInFlow(FlowFileError):
    """The flow would be written with a secret in it; ``findings`` says where."""

    def __init__(self, findings: list["Finding"], action: str = "save"):
        self.findings = findings
        first = findings[0]
        more = f" (and {len(findings) - 1} more place{'s' * (len(findings) > 2)})" if len(findings) > 1 else ""
        how = ("move it into a named secret (`orchestra secrets set NAME`, or the studio's Settings) and write "
               "{{ secrets.NAME }} in its place" + (", or remove it" if action == "export" else ""))
        super().__init__(f"{first.kind} appears here{more}; not {action}d. Secrets never go into a flow file: {how}",
                         first.path)


@dataclass(frozen=True)
class Finding:
    path: str  # JSON path in the document, e.g. $.nodes[2].params.arguments.headers.Authorization
    kind: str  # "an OpenAI-style API key", "a bearer token", "a high-entropy value in a secret-named field"…
    field: str  # the nearest key name (headers' Authorization, api_key…)
    value: str  # the whole string it was found in
    match: str  # the secret part of it
    node: str | None = None  # the node whose params hold it
    param_path: tuple = ()  # keys from the node's params down to the string

    def describe(self) -> str:
        return f"{self.kind} at {self.path}"

    def preview(self) -> str:
        """The value with the secret masked: enough to recognise it, never enough to use it."""
        m = self.match
        head, _, token = m.partition(" ")
        prefix = head + " " if token and head.lower() in ("bearer", "basic", "token") else ""
        token = token if prefix else m
        masked = token[:4] + "…" + (token[-2:] if len(token) > 16 else "") if len(token) > 8 else "…"
        return self.value.replace(m, prefix + masked)[:120]

    def suggested_name(self) -> str:
        base = re.sub(r"[^A-Za-z0-9]+", "_", f"{self.node or 'flow'}_{self.field or 'secret'}").strip("_").upper()
        return (base if base[:1].isalpha() or base[:1] == "_" else f"S_{base}")[:64]

    @property
    def movable(self) -> bool:
        """Can the value be replaced by a ``{{ secrets.NAME }}`` that resolves at run time?
        In a Tool node's fixed arguments (where ``nodes/tool.py`` resolves references); a key
        pasted into a prompt is to be removed, not moved (a model has no use for it)."""
        return self.node is not None and len(self.param_path) >= 2 and self.param_path[0] == "arguments"


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _looks_random(value: str) -> bool:
    token = value.strip()
    if " " in token:
        token = token.split(None, 1)[1].strip() if token.split(None, 1)[0].lower() in ("bearer", "basic", "token") else ""
    if len(token) < MIN_ENTROPY_LEN or " " in token:
        return False
    if not (re.search(r"[A-Za-z]", token) and re.search(r"[0-9]", token)):
        return False  # placeholders (YOUR_API_KEY) and words
    return entropy(token) >= MIN_ENTROPY_BITS


def _walk(value: Any, field: str, keys: tuple) -> Iterator[tuple[str, str, tuple]]:
    """(field, string, keys from the root) for every string and key; a key itself is
    yielded with ``None`` last in its keys. Paths are spelled only for findings."""
    if isinstance(value, str):
        yield field, value, keys
    elif isinstance(value, dict):
        for k, v in value.items():
            k = str(k)
            yield k, k, keys + (None,)
            yield from _walk(v, k, keys + (k,))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(v, field, keys + (i,))


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _may_match(text: str) -> bool:
    lowered = text.lower()
    return any(t in lowered for t in TRIGGERS)


def _path(keys: tuple, text: str) -> str:
    """The JSON path of a string (or of a key, when ``keys`` ends with None)."""
    out = "$"
    for k in keys:
        if k is None:
            k = text
        if isinstance(k, int):
            out += f"[{k}]"
        else:
            out += f".{k}" if _NAME.fullmatch(k) else f"[{k!r}]"
    return out


def _has_secret_field(lowered: str, is_secret_field) -> bool:
    """Does any JSON key in the lower-cased document text name a secret? A few substring
    searches instead of a walk over every string: each secret name's last word
    (``credentials.SECRET_FIELD_LAST_WORDS``) closing a key, ``token": ``."""
    from studio.core.userdata.credentials import SECRET_FIELD_LAST_WORDS

    for word in SECRET_FIELD_LAST_WORDS:
        ending = word + '"'
        i = lowered.find(ending)
        while i >= 0:
            end = i + len(ending)
            if lowered[end:end + 16].lstrip().startswith(":"):
                start = end - 1
                while True:  # back to the key's opening quote (an escaped one does not count)
                    start = lowered.rfind('"', 0, start)
                    backslashes = 0
                    while start - backslashes > 0 and lowered[start - backslashes - 1] == "\\":
                        backslashes += 1
                    if start < 0 or backslashes % 2 == 0:
                        break
                try:
                    key = json.loads(lowered[max(start, 0):end])
                except ValueError:
                    return True  # cannot tell: look at every string
                if is_secret_field(key):
                    return True
            i = lowered.find(ending, end)
    return False


def scan_document(doc: Any, known: Iterable[str] = ()) -> list[Finding]:
    """Every place in ``doc`` that holds a secret; empty when it is safe to write.

    Saving runs this on every flow, so the document is first searched as one compact
    JSON text (orjson: a few ms for 10,000 nodes). Only when a key pattern or a known
    secret appears there, or a key names a secret, are the strings looked at one by one;
    a 10,000-node flow with none costs a few dozen substring searches (~50 ms)."""
    from studio.core.userdata.credentials import SECRET_REF, is_secret_field
    from studio.core.userdata.redaction import MIN_LEN, secret_forms

    try:  # the same string escapes as json.dumps(ensure_ascii=False), which secret_forms expects
        blob = orjson.dumps(doc, default=str, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):  # text that is not valid Unicode, a huge integer
        blob = json.dumps(doc, ensure_ascii=False, default=str)
    forms: list[str] = []
    for s in known:
        if s and len(s) >= MIN_LEN:
            spellings = secret_forms(s)
            if any(f in blob for f in spellings):  # the JSON text holds the escaped spelling
                forms += sorted(spellings, key=len, reverse=True)
    lowered = blob.lower()
    patterns = any(t in lowered for t in TRIGGERS)
    if not (forms or patterns or _has_secret_field(lowered, is_secret_field)):
        return []
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    found: list[Finding] = []
    for field, text, keys in _walk(doc, "", ()):
        if not text or len(text) < 8:
            continue
        named = bool(keys) and keys[-1] is not None and is_secret_field(field)
        if not (forms or patterns or named):
            continue
        node, param_path = None, ()
        if len(keys) >= 3 and keys[0] == "nodes" and keys[2] == "params" and isinstance(nodes, list) \
                and isinstance(keys[1], int) and None not in keys:
            node = nodes[keys[1]].get("id") if isinstance(nodes[keys[1]], dict) else None
            param_path = tuple(keys[3:])
        bare = SECRET_REF.sub("", text)
        hit = next((f for f in forms if f in bare), None)
        if hit is not None:
            found.append(Finding(_path(keys, text), "an API key or secret this computer knows", field, text, hit, node,
                                 param_path))
            continue
        m = _COMBINED.search(bare) if patterns and _may_match(bare) else None
        if m is not None:
            kind = PATTERNS[int(m.lastgroup[1:])][0]
            found.append(Finding(_path(keys, text), kind, field, text, m.group(0), node, param_path))
            continue
        if named and _looks_random(bare):
            token = bare.strip()
            if " " in token:
                token = token.split(None, 1)[1].strip()
            found.append(Finding(_path(keys, text), "a high-entropy value in a secret-named field", field, text, token,
                                 node, param_path))
    return found


def refuse_secrets(doc: Any, action: str = "save", known: Iterable[str] | None = None) -> None:
    """Raise SecretsInFlow when ``doc`` holds a secret. ``known`` defaults to the keys and named
    secrets this process knows without asking the keyring (it may block, e.g. on a GUI thread)."""
    if known is None:
        try:
            from studio.core.userdata.credentials import known_secrets

            known = known_secrets(include_keyring=False)
        except Exception:  # the format-based scan still runs
            known = ()
    findings = scan_document(doc, known)
    if findings:
        raise SecretsInFlow(findings, action)


def replacement(finding: Finding, name: str) -> str:
    """The string to put in place of ``finding.value``: the secret part becomes a reference."""
    from studio.core.userdata.credentials import check_secret_name

    return finding.value.replace(finding.match, "{{ secrets.%s }}" % check_secret_name(name))


def move_to_secret(finding: Finding, name: str, params: dict) -> dict:
    """Store the secret under ``name`` (OS keyring) and return a copy of the node's ``params``
    with the value replaced by ``{{ secrets.NAME }}``. KeyringUnavailable when it cannot be stored;
    then nothing changed."""
    import copy

    from studio.core.userdata.credentials import set_secret

    if finding.node is None or not finding.param_path:
        raise ValueError(f"{finding.path} is not in a node's parameters; remove the value by hand")
    new = copy.deepcopy(params)
    target: Any = new
    for k in finding.param_path[:-1]:
        target = target[k]
    if target[finding.param_path[-1]] != finding.value:
        raise ValueError(f"{finding.path} changed since it was scanned")
    secret = finding.match
    if finding.kind == "a bearer token" or finding.match.lower().startswith(("bearer ", "basic ")):
        prefix, _, secret = finding.match.partition(" ")
        secret = secret.strip()
        value = finding.value.replace(finding.match, f"{prefix} " + "{{ secrets.%s }}" % name)
    else:
        value = replacement(finding, name)
    set_secret(name, secret)
    target[finding.param_path[-1]] = value
    return new


def secret_values(doc: Any) -> list[str]:
    """The secret strings found in ``doc`` (a ``Bearer x`` also as ``x``), for a run's redaction:
    a received flow may carry a pasted token, and it must not reach the trace either."""
    out: set[str] = set()
    for f in scan_document(doc):
        out.add(f.match)
        head, _, rest = f.match.partition(" ")
        if rest.strip() and head.lower() in ("bearer", "basic", "token"):
            out.add(rest.strip())
    return sorted(out)
