"""API keys: looked up by provider at run time, never stored in a flow, trace or log.

Order (DESIGN §4): the OS keyring under one service name, then the provider's usual
environment variable, else CredentialsMissing naming both ways to fix it. On a headless
box keyring has only its fail backend (every call raises NoKeyringError); that is reported
as "keyring unavailable", and keys are never written anywhere else instead -- a plaintext
fallback the user did not choose is how keys leak.

Every key this process has seen is remembered so ``redact`` can scrub it from anything
written to disk (traces, logs, exports); ``known_secrets`` also includes the values of
the providers' environment variables, so a key that only lives in the environment is
scrubbed too.

Named secrets go beyond provider keys: a bearer token for an API an ``http_request``
calls, a password, a cookie. Each lives in the same keyring service under
``secret:NAME`` (or, as the fallback, the environment variable ``ORCHESTRA_SECRET_NAME``)
and a flow names it as ``{{ secrets.NAME }}`` -- in a Tool node's fixed arguments or in a
parameter of kind ``secret`` -- never holding the value. ``resolve_refs`` puts the value
in at run time, and remembers it, so it is redacted like a key.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

from studio.core.errors import CredentialsMissing, OrchestraError

SERVICE = "orchestra-studio"
_INDEX_USER = "__providers__"  # a keyring entry listing the providers we stored keys for
REDACTED = "[redacted]"
_MIN_SECRET_LEN = 6  # shorter "keys" would scrub ordinary words out of traces

# provider -> the environment variable litellm (and the provider's own SDK) reads
ENV_VARS: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "cohere": "COHERE_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
    "perplexity": "PERPLEXITYAI_API_KEY",
    "xai": "XAI_API_KEY",
    "azure": "AZURE_API_KEY",
    "cerebras": "CEREBRAS_API_KEY",
    "huggingface": "HF_TOKEN",
    "voyage": "VOYAGE_API_KEY",
}

# providers that run locally (or behind an api_base) and need no key
KEYLESS = frozenset({"ollama", "ollama_chat", "lm_studio", "hosted_vllm", "llamafile", "vllm", "lemonade"})


class SecretMissing(OrchestraError):
    """A flow names a secret that is stored nowhere."""


class KeyringUnavailable(OrchestraError):
    """The OS keyring cannot be used here (no backend, locked, or a plaintext backend)."""


@dataclass(frozen=True)
class KeyInfo:
    """Where a provider's key would come from; never holds the key itself."""

    provider: str
    source: str  # "keyring" | "environment" | "none"
    env_var: str
    keyring_problem: str | None = None  # why the keyring could not be asked, if it could not


_lock = threading.Lock()
_seen: set[str] = set()  # every key value this process looked up or stored
_generation = 0  # bumped whenever _seen grows, so writers can refresh their redaction list cheaply


def env_var_for(provider: str) -> str:
    """The usual environment variable holding ``provider``'s key (OPENAI_API_KEY, ...)."""
    provider = provider.strip().lower()
    return ENV_VARS.get(provider) or f"{re.sub(r'[^A-Z0-9]', '_', provider.upper())}_API_KEY"


_PROVIDER_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def _normalise(provider: str) -> str:
    p = (provider or "").strip().lower()
    if not p or not _PROVIDER_RE.match(p):
        raise ValueError(f"{provider!r} is not a provider name (e.g. openai, anthropic, gemini)")
    return p


def _remember(value: str | None) -> None:
    global _generation
    if value and len(value) >= _MIN_SECRET_LEN and value not in _seen:
        with _lock:
            if value not in _seen:
                _seen.add(value)
                _generation += 1


def secrets_version() -> int:
    """A number that changes whenever this process learns a new key (see ``known_secrets``)."""
    return _generation


# -- keyring -------------------------------------------------------------------------


def _backend():
    import keyring  # imported lazily: its backend detection scans entry points

    return keyring.get_keyring()


def _is_plaintext(backend: Any) -> bool:
    name = type(backend).__name__.lower()
    return "plaintext" in name or "uncrypted" in name


_CACHE_S = 30.0  # a desktop keyring is a D-Bus round trip; a fan-out must not pay it per call
_cache: dict[str, tuple[Any, float, str | None, str | None]] = {}  # provider -> (backend, time, value, problem)


def _keyring_get(provider: str, fresh: bool = False) -> tuple[str | None, str | None]:
    """(value, problem): the keyring's value, or why the keyring could not be asked.

    Answers are cached for a few seconds per backend; our own set/delete clear the cache.
    """
    backend = _backend()
    now = time.monotonic()
    hit = _cache.get(provider)
    if hit is not None and not fresh and hit[0] is backend and now - hit[1] < _CACHE_S:
        return hit[2], hit[3]
    from keyring.errors import KeyringError

    try:
        value, problem = backend.get_password(SERVICE, provider) or None, None
    except KeyringError as exc:
        value, problem = None, _problem(exc)
    except Exception as exc:  # a broken backend (DBus gone, ...) must not stop a run
        value, problem = None, f"the OS keyring failed: {type(exc).__name__}: {exc}"
    _cache[provider] = (backend, now, value, problem)
    return value, problem


def forget_cached() -> None:
    """Drop cached keyring answers (after keys changed outside this process)."""
    _cache.clear()


def _problem(exc: Exception) -> str:
    from keyring.errors import NoKeyringError

    if isinstance(exc, NoKeyringError):
        return "no OS keyring is available on this system"
    return f"the OS keyring refused: {exc}"


def keyring_status() -> str | None:
    """None when the keyring works, else why not (for the settings dialog and the CLI)."""
    from keyring.errors import KeyringError

    try:
        backend = _backend()
        backend.get_password(SERVICE, _INDEX_USER)
    except KeyringError as exc:
        return _problem(exc)
    except Exception as exc:
        return f"the OS keyring failed: {type(exc).__name__}: {exc}"
    if _is_plaintext(backend):
        return f"the configured keyring ({type(backend).__name__}) stores keys in plain text"
    return None


def _index() -> list[str]:
    raw, _ = _keyring_get(_INDEX_USER, fresh=True)
    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        names = []
    return [n for n in names if isinstance(n, str)]


def _write_index(names: Iterable[str]) -> None:
    try:
        _backend().set_password(SERVICE, _INDEX_USER, json.dumps(sorted(set(names))))
    except Exception:  # the index only helps `keys list`; the key itself is stored
        pass


def set_key(provider: str, value: str) -> None:
    """Store ``provider``'s key in the OS keyring; KeyringUnavailable when it cannot be."""
    from keyring.errors import KeyringError

    provider = _normalise(provider)
    value = (value or "").strip()
    if not value:
        raise ValueError("the key is empty")
    problem = keyring_status()
    if problem:
        raise KeyringUnavailable(
            f"cannot store the key: {problem}. Set the environment variable {env_var_for(provider)} instead; "
            "Orchestra never writes keys to a plain file."
        )
    try:
        _backend().set_password(SERVICE, provider, value)
    except KeyringError as exc:
        raise KeyringUnavailable(f"cannot store the key: {_problem(exc)}") from None
    _cache.clear()
    _remember(value)
    _write_index([*_index(), provider])


def delete_key(provider: str) -> bool:
    """Remove ``provider``'s key from the keyring; False when there was none."""
    from keyring.errors import KeyringError, PasswordDeleteError

    provider = _normalise(provider)
    value, problem = _keyring_get(provider, fresh=True)
    if problem:
        raise KeyringUnavailable(f"cannot delete the key: {problem}")
    if value is None:
        return False
    try:
        _backend().delete_password(SERVICE, provider)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise KeyringUnavailable(f"cannot delete the key: {_problem(exc)}") from None
    _cache.clear()
    _write_index(n for n in _index() if n != provider)
    return True


# -- lookup --------------------------------------------------------------------------


def key_info(provider: str) -> KeyInfo:
    """Where ``provider``'s key comes from: keyring, environment or none."""
    provider = _normalise(provider)
    env_var = env_var_for(provider)
    value, problem = _keyring_get(provider)
    if value:
        _remember(value)
        return KeyInfo(provider, "keyring", env_var, problem)
    if os.environ.get(env_var, "").strip():
        return KeyInfo(provider, "environment", env_var, problem)
    return KeyInfo(provider, "none", env_var, problem)


def find_key(provider: str) -> tuple[str | None, str]:
    """(key, source): keyring first, then the environment; (None, "none") when neither has one."""
    provider = _normalise(provider)
    value, _ = _keyring_get(provider)
    if value:
        _remember(value)
        return value, "keyring"
    env_value = os.environ.get(env_var_for(provider), "").strip()
    if env_value:
        _remember(env_value)
        return env_value, "environment"
    return None, "none"


def get_key(provider: str) -> str:
    """``provider``'s key, or CredentialsMissing that names both ways to provide one."""
    value, _ = find_key(provider)
    if value:
        return value
    raise missing_error(provider)


def missing_error(provider: str) -> CredentialsMissing:
    provider = _normalise(provider)
    env_var = env_var_for(provider)
    _, problem = _keyring_get(provider)
    note = f" ({problem}, so the environment variable is the way here)" if problem else ""
    return CredentialsMissing(
        f"No API key for {provider}. Store one in the OS keyring with `orchestra keys set {provider}` "
        f"(or the studio's API keys settings){note}, or set the environment variable {env_var}."
    )


def providers_with_keys() -> list[KeyInfo]:
    """Known providers plus any stored through us, each with where its key comes from."""
    names = sorted(set(ENV_VARS) | set(_index()))
    return [key_info(n) for n in names]


# -- named secrets ------------------------------------------------------------------

SECRET_PREFIX = "secret:"
_SECRETS_INDEX = "__secrets__"
SECRET_ENV_PREFIX = "ORCHESTRA_SECRET_"
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
SECRET_REF = re.compile(r"\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")


def check_secret_name(name: str) -> str:
    name = (name or "").strip()
    if not SECRET_NAME.match(name):
        raise ValueError(f"{name!r} is not a secret name: letters, digits and _ (e.g. GITHUB_TOKEN), "
                         "starting with a letter or _")
    return name


def secret_env_var(name: str) -> str:
    return SECRET_ENV_PREFIX + check_secret_name(name).upper()


def _secret_index() -> list[str]:
    raw, _ = _keyring_get(_SECRETS_INDEX, fresh=True)
    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        names = []
    return [n for n in names if isinstance(n, str) and SECRET_NAME.match(n)]


def set_secret(name: str, value: str) -> None:
    """Store a named secret in the OS keyring; KeyringUnavailable when it cannot be."""
    from keyring.errors import KeyringError

    name = check_secret_name(name)
    value = (value or "").strip()
    if not value:
        raise ValueError("the secret is empty")
    problem = keyring_status()
    if problem:
        raise KeyringUnavailable(f"cannot store the secret: {problem}. Set the environment variable "
                                 f"{secret_env_var(name)} instead; Orchestra never writes secrets to a plain file.")
    try:
        _backend().set_password(SERVICE, SECRET_PREFIX + name, value)
        _backend().set_password(SERVICE, _SECRETS_INDEX, json.dumps(sorted({*_secret_index(), name})))
    except KeyringError as exc:
        raise KeyringUnavailable(f"cannot store the secret: {_problem(exc)}") from None
    _cache.clear()
    _remember(value)


def delete_secret(name: str) -> bool:
    """Remove a named secret from the keyring; False when there was none."""
    from keyring.errors import KeyringError, PasswordDeleteError

    name = check_secret_name(name)
    value, problem = _keyring_get(SECRET_PREFIX + name, fresh=True)
    if problem:
        raise KeyringUnavailable(f"cannot delete the secret: {problem}")
    if value is None:
        return False
    try:
        _backend().delete_password(SERVICE, SECRET_PREFIX + name)
        _backend().set_password(SERVICE, _SECRETS_INDEX, json.dumps(sorted(set(_secret_index()) - {name})))
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise KeyringUnavailable(f"cannot delete the secret: {_problem(exc)}") from None
    _cache.clear()
    return True


def find_secret(name: str) -> tuple[str | None, str]:
    """(value, source) of a named secret: keyring first, then ORCHESTRA_SECRET_NAME."""
    name = check_secret_name(name)
    value, _ = _keyring_get(SECRET_PREFIX + name)
    if value:
        _remember(value)
        return value, "keyring"
    env_value = os.environ.get(secret_env_var(name), "").strip()
    if env_value:
        _remember(env_value)
        return env_value, "environment"
    return None, "none"


def get_secret(name: str) -> str:
    value, _ = find_secret(name)
    if value:
        return value
    _, problem = _keyring_get(SECRET_PREFIX + check_secret_name(name))
    note = f" ({problem}, so the environment variable is the way here)" if problem else ""
    raise SecretMissing(f"the flow uses the secret {name!r}, which is stored nowhere. Store it with "
                        f"`orchestra secrets set {name}` (or the studio's Settings){note}, or set the environment "
                        f"variable {secret_env_var(name)}.")


def secret_names() -> list[tuple[str, str]]:
    """(name, source) of every named secret: stored through us, or in an ORCHESTRA_SECRET_ variable."""
    names = set(_secret_index())
    env_names = {k[len(SECRET_ENV_PREFIX):] for k in os.environ if k.startswith(SECRET_ENV_PREFIX)
                 and SECRET_NAME.match(k[len(SECRET_ENV_PREFIX):])}
    out = []
    for n in sorted(names | env_names):
        value, _ = _keyring_get(SECRET_PREFIX + n)
        out.append((n, "keyring" if value else "environment"))
    return out


def secret_refs(obj: Any) -> list[str]:
    """The names ``{{ secrets.NAME }}`` references in ``obj`` (text or JSON-like) point at."""
    found: list[str] = []
    if isinstance(obj, str):
        found += SECRET_REF.findall(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            found += secret_refs(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            found += secret_refs(v)
    return sorted(set(found))


def resolve_refs(obj: Any) -> Any:
    """A copy of ``obj`` with every ``{{ secrets.NAME }}`` replaced by the secret's value
    (SecretMissing names the secret and how to store it). Values are remembered, so the
    trace, the terminal and the studio redact them."""
    if isinstance(obj, str):
        return SECRET_REF.sub(lambda m: get_secret(m.group(1)), obj) if "secrets." in obj else obj
    if isinstance(obj, dict):
        return {k: resolve_refs(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [resolve_refs(v) for v in obj]
    return obj


def remember_secret(value: str | None) -> None:
    """Treat ``value`` as a secret from now on (a token found in a secret-named header, say)."""
    _remember(value.strip() if isinstance(value, str) else None)


def is_secret_field(name: str) -> bool:
    """Does a parameter, argument or header of this name hold a secret?"""
    return bool(_SECRET_FIELD.match(name or ""))


# -- redaction -----------------------------------------------------------------------


def known_secrets(include_keyring: bool = True) -> frozenset[str]:
    """Every key value this process knows of: looked up, stored, or in a provider's env var.

    With ``include_keyring`` the keyring is asked for every known provider too (answers
    are cached), so a run's trace writer, built before any call looks a key up, still
    knows the keys the run is about to use.
    """
    found = set(_environment_secrets())
    if include_keyring:
        for provider in sorted(set(ENV_VARS) | set(_indexed_cached())):
            value, _ = _keyring_get(provider)
            _remember(value)
        for name in _indexed_cached(_SECRETS_INDEX):
            value, _ = _keyring_get(SECRET_PREFIX + name)
            _remember(value)
    with _lock:
        found |= _seen
    return frozenset(found)


_ENV_VAR_NAMES = frozenset(ENV_VARS.values())
_ENV_VAR_NAMES_BYTES = frozenset(os.fsencode(n) for n in _ENV_VAR_NAMES)


def _environment_secrets() -> list[str]:
    """Key values in the environment: providers' variables and ORCHESTRA_SECRET_*.

    Every run's trace writer asks (a server: every request), so on POSIX this reads the
    environment's own bytes table, which ``os.environ`` writes through to: a few us,
    where decoding every variable through ``os.environ.items()`` took ~100 us.
    """
    data = getattr(os.environ, "_data", None) if os.supports_bytes_environ else None
    if isinstance(data, dict):
        prefix = SECRET_ENV_PREFIX.encode()
        names = _ENV_VAR_NAMES_BYTES
        raw = [v for k, v in data.items() if k in names or k.startswith(prefix)]
        values = [os.fsdecode(v).strip() for v in raw]
    else:  # Windows (str keys, upper-cased) or an unusual os.environ
        values = [v.strip() for k, v in os.environ.items() if k in _ENV_VAR_NAMES or k.startswith(SECRET_ENV_PREFIX)]
    return [v for v in values if len(v) >= _MIN_SECRET_LEN]


def _indexed_cached(index: str = _INDEX_USER) -> list[str]:
    raw, _ = _keyring_get(index)
    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [n for n in names if isinstance(n, str)]


_SECRET_FIELD = re.compile(
    r"^(?:.*[_\-])?(?:api[_\-]?key|apikey|secret|client[_\-]?secret|password|passwd|pwd|authorization|"
    r"proxy[_\-]authorization|access[_\-]?token|refresh[_\-]?token|id[_\-]?token|auth[_\-]?token|token|bearer|"
    r"cookie|set[_\-]cookie|private[_\-]?key|x[_\-]api[_\-]key|x[_\-]auth[_\-]token)$",
    re.IGNORECASE,
)
# The word every name above ends with (lower case): a field name that does not end with
# one of these is never secret-named. The save-side scan searches a flow's JSON text for
# them instead of walking every string (userdata.secret_scan); a property test holds the
# two together.
SECRET_FIELD_LAST_WORDS = ("key", "secret", "password", "passwd", "pwd", "authorization", "token", "bearer", "cookie")
_pattern_cache: tuple[frozenset[str], re.Pattern[str] | None] = (frozenset(), None)


def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    global _pattern_cache
    cached_for, pattern = _pattern_cache
    if cached_for == secrets:
        return pattern
    from studio.core.userdata.redaction import secret_forms  # the one list of spellings

    forms: set[str] = set()
    for s in secrets:
        forms |= secret_forms(s)
    pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))) if forms else None
    _pattern_cache = (secrets, pattern)
    return pattern


def redact_text(text: str, secrets: frozenset[str] | None = None) -> str:
    pattern = _pattern(known_secrets() if secrets is None else secrets)
    if pattern is None or not text:
        return text
    return pattern.sub(REDACTED, text)


def redact(obj: Any, secrets: frozenset[str] | None = None) -> Any:
    """A copy of ``obj`` (text or JSON-like data) with every known key value replaced.

    Values under fields named like secrets (api_key, Authorization, password...) are
    replaced whatever they hold, so a key we never saw is not written either.
    """
    secrets = known_secrets() if secrets is None else secrets
    pattern = _pattern(secrets)
    return _redact(obj, pattern)


def _redact(obj: Any, pattern: re.Pattern[str] | None) -> Any:
    if isinstance(obj, str):
        return pattern.sub(REDACTED, obj) if pattern is not None and obj else obj
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = _redact(k, pattern) if isinstance(k, str) else k
            if isinstance(k, str) and _SECRET_FIELD.match(k) and isinstance(v, str) and v:
                out[key] = REDACTED
            else:
                out[key] = _redact(v, pattern)
        return out
    if isinstance(obj, list):
        return [_redact(v, pattern) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_redact(v, pattern) for v in obj)
    if isinstance(obj, bytes):
        try:
            return _redact(obj.decode("utf-8"), pattern).encode("utf-8")
        except UnicodeDecodeError:
            return obj
    return obj
