"""The save-side scan skips its string-by-string walk unless the document text shows a
reason: a key pattern, a known secret, or a key that names a secret. The last is found
by substring searches over the JSON text (``secret_scan._has_secret_field``); if that
search ever missed a secret-named key, a high-entropy token under ``api_key`` would be
saved. These tests hold the search to the definition: it says yes exactly when some key
of the document, at any depth, is secret-named."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core.userdata.secret_scan import _has_secret_field, scan_document
from studio.core.userdata import credentials
from studio.core.userdata.credentials import is_secret_field

SECRET_NAMES = ["api_key", "X-Api-Key", "Authorization", "password", "refresh-token", "Cookie", "client_secret"]
PLAIN_NAMES = ["max_tokens", "keyword", "tokens", "monkey", "key_points", "secrets_note", "name", "prompt"]
TRICKY = ['a"b', 'api_key"', 'x\\"token', "ключ", "toke\u00f1", 'token": 1', "\\", ""]

keys = st.sampled_from(SECRET_NAMES + PLAIN_NAMES + TRICKY) | st.text(max_size=12)
scalars = st.none() | st.booleans() | st.integers() | st.sampled_from(SECRET_NAMES + TRICKY) | st.text(max_size=20)
docs = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                    max_leaves=25)


def all_keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from all_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from all_keys(v)


@settings(max_examples=400, deadline=None)
@given(docs)
def test_prefilter_says_yes_exactly_when_a_key_names_a_secret(doc):
    lowered = json.dumps(doc, ensure_ascii=False).lower()
    assert _has_secret_field(lowered, is_secret_field) == any(is_secret_field(k) for k in all_keys(doc))


def test_a_token_under_a_secret_named_header_is_still_found_in_a_large_flow():
    token = "Zq8" "v4Lm2Xr9Tw7Kp3Nd6Hs1Bf5"
    nodes = [{"id": f"n{i}", "type": "template", "params": {"template": f"step {i} {{{{ text }}}}"}} for i in range(2000)]
    nodes.append({"id": "call", "type": "tool", "params": {"tool": "http_get", "arguments": {"headers": {"X-Api-Key": token}}}})
    found = scan_document({"nodes": nodes, "edges": []})
    assert [f.path for f in found] == ["$.nodes[2000].params.arguments.headers['X-Api-Key']"]


def test_max_tokens_and_plain_prose_do_not_trigger_the_walk():
    doc = {"nodes": [{"id": "a", "params": {"max_tokens": 1000, "prompt": 'Say "token": the word, and the key "x"'}}]}
    assert not _has_secret_field(json.dumps(doc).lower(), is_secret_field)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(credentials._SECRET_FIELD, fullmatch=True))
def test_every_secret_name_ends_with_a_word_the_prefilter_searches_for(name):
    assert name.lower().endswith(credentials.SECRET_FIELD_LAST_WORDS)
