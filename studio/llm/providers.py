"""Which provider a litellm model string belongs to, and where that provider's key lives.

Why without litellm: the inspector, ``orchestra keys`` and the credential lookup need the
provider of ``anthropic/claude-haiku-4-5`` or ``gpt-4o-mini`` instantly, long before
(or without ever) paying litellm's import. The rules follow litellm's: an explicit
``provider/`` prefix wins; otherwise the well-known model families map to their provider (a bare ``gemini-...`` is
Vertex AI for litellm; Google AI Studio needs ``gemini/...``).
"""

from __future__ import annotations

from studio.core.userdata.credentials import ENV_VARS, KEYLESS, env_var_for

# prefixes litellm understands besides those above (so "vertex_ai/..." is not a model name)
_OTHER_PREFIXES = frozenset({
    "vertex_ai", "bedrock", "sagemaker", "replicate", "text-completion-openai", "azure_ai",
    "nvidia_nim", "sambanova", "ai21", "nlp_cloud", "aleph_alpha", "petals", "deepinfra",
    "anyscale", "cloudflare", "databricks", "watsonx", "friendliai", "github", "litellm_proxy",
    "custom_openai", "openai_like", "dashscope", "moonshot", "novita", "nebius", "featherless_ai",
})

_FAMILIES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"), ("chatgpt", "openai"),
    ("text-embedding", "openai"), ("davinci", "openai"), ("claude", "anthropic"), ("gemini", "vertex_ai"),
    ("command", "cohere"), ("mistral-", "mistral"), ("open-mistral", "mistral"), ("deepseek-", "deepseek"),
    ("grok", "xai"),
)


def provider_of(model: str) -> str:
    """The provider of a litellm model string ("" when it cannot be told)."""
    model = (model or "").strip()
    if "/" in model:
        prefix = model.split("/", 1)[0].lower()
        if prefix in ENV_VARS or prefix in KEYLESS or prefix in _OTHER_PREFIXES:
            return prefix
    low = model.lower()
    for start, provider in _FAMILIES:
        if low.startswith(start):
            return provider
    return ""


def needs_key(provider: str, api_base: str | None = None) -> bool:
    """Whether a call must bring a key we look up.

    Local providers and custom servers (an api_base) may do without; cloud platforms with
    their own sign-in (vertex_ai, bedrock, ...) are left to litellm's usual credentials.
    """
    return provider in ENV_VARS and not api_base


def known_providers() -> list[str]:
    return sorted(ENV_VARS)
