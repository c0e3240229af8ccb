"""`orchestra keys set|list|delete PROVIDER`: API keys in the OS keyring, without the GUI.

Why hidden input: a key typed as an argument lands in shell history and ``ps`` output,
so ``set`` asks with getpass (or reads one line from stdin with ``--stdin`` for scripts).
``list`` says where each provider's key would come from -- keyring, environment or
nowhere -- and never prints a key. Without a usable keyring, ``set`` refuses and names
the environment variable instead: keys are never written to a plain file.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from studio.core.userdata import credentials


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keys", help="store, list or delete provider API keys (OS keyring)",
                                   description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION")

    p_set = sub.add_parser("set", help="store a provider's key in the OS keyring (asked with hidden input)")
    p_set.add_argument("provider", help="e.g. openai, anthropic, gemini, mistral, groq")
    p_set.add_argument("--stdin", action="store_true", help="read the key from the first line of standard input")
    p_set.set_defaults(func=_set)

    p_list = sub.add_parser("list", help="show where each provider's key comes from (never the key)")
    p_list.add_argument("--all", action="store_true", help="also list providers without a key")
    p_list.set_defaults(func=_list)

    p_del = sub.add_parser("delete", help="remove a provider's key from the OS keyring")
    p_del.add_argument("provider")
    p_del.set_defaults(func=_delete)

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _set(args: argparse.Namespace) -> int:
    provider = args.provider.strip().lower()
    if args.stdin:
        value = sys.stdin.readline().strip()
    else:
        if not sys.stdin.isatty():
            print("error: no terminal to ask on; pipe the key in with --stdin", file=sys.stderr)
            return 2
        value = getpass.getpass(f"API key for {provider} (input hidden): ").strip()
    if not value:
        print("error: no key given; nothing stored", file=sys.stderr)
        return 2
    try:
        credentials.set_key(provider, value)
    except (credentials.KeyringUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"stored the {provider} key in the OS keyring (service {credentials.SERVICE!r})")
    return 0


def _list(args: argparse.Namespace) -> int:
    problem = credentials.keyring_status()
    rows = [i for i in credentials.providers_with_keys() if args.all or i.source != "none"]
    if problem:
        print(f"note: {problem}; keys can only come from environment variables here")
    if not rows:
        print("no keys found (use `orchestra keys set PROVIDER`, or set e.g. OPENAI_API_KEY)")
        return 0
    width = max(len(i.provider) for i in rows)
    for info in rows:
        where = {"keyring": "OS keyring", "environment": f"environment ({info.env_var})",
                 "none": f"none (set {info.env_var} or `orchestra keys set {info.provider}`)"}[info.source]
        print(f"{info.provider:<{width}}  {where}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    provider = args.provider.strip().lower()
    try:
        removed = credentials.delete_key(provider)
    except (credentials.KeyringUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not removed:
        print(f"no {provider} key in the OS keyring", file=sys.stderr)
        return 1
    env_var = credentials.env_var_for(provider)
    note = f" ({env_var} is still set in the environment)" if credentials.key_info(provider).source == "environment" else ""
    print(f"deleted the {provider} key from the OS keyring{note}")
    return 0
