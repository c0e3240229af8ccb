"""`orchestra secrets set|list|delete NAME`: named secrets (tokens, passwords) in the OS keyring.

A flow names a secret as ``{{ secrets.NAME }}`` (in a Tool node's fixed arguments, e.g. an
``Authorization: Bearer {{ secrets.GITHUB_TOKEN }}`` header, or a parameter of kind
``secret``); the value is put in at run time and redacted from traces, logs and the
studio. Like ``orchestra keys``: ``set`` asks with hidden input (or reads one line from
stdin with ``--stdin``), ``list`` never prints a value, and without a usable keyring
``set`` refuses and names the environment variable (``ORCHESTRA_SECRET_NAME``) instead.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from studio.core.userdata import credentials


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("secrets", help="store, list or delete named secrets a flow uses as {{ secrets.NAME }}",
                                   description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="secrets_command", metavar="ACTION")
    p_set = sub.add_parser("set", help="store a secret in the OS keyring (asked with hidden input)")
    p_set.add_argument("name", help="letters, digits and _, e.g. GITHUB_TOKEN")
    p_set.add_argument("--stdin", action="store_true", help="read the value from the first line of standard input")
    p_set.set_defaults(func=_set)
    p_list = sub.add_parser("list", help="list the secrets' names and where each lives (never a value)")
    p_list.set_defaults(func=_list)
    p_del = sub.add_parser("delete", help="remove a secret from the OS keyring")
    p_del.add_argument("name")
    p_del.set_defaults(func=_delete)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _set(args: argparse.Namespace) -> int:
    try:
        name = credentials.check_secret_name(args.name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.stdin:
        value = sys.stdin.readline().strip()
    else:
        if not sys.stdin.isatty():
            print("error: no terminal to ask on; pipe the value in with --stdin", file=sys.stderr)
            return 2
        value = getpass.getpass(f"Value of {name} (input hidden): ").strip()
    if not value:
        print("error: no value given; nothing stored", file=sys.stderr)
        return 2
    try:
        credentials.set_secret(name, value)
    except (credentials.KeyringUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"stored {name} in the OS keyring; use it in a flow as {{{{ secrets.{name} }}}}")
    return 0


def _list(args: argparse.Namespace) -> int:
    problem = credentials.keyring_status()
    if problem:
        print(f"note: {problem}; secrets can only come from ORCHESTRA_SECRET_NAME environment variables here")
    try:
        rows = credentials.secret_names()
    except credentials.KeyringUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not rows:
        print("no secrets (store one with `orchestra secrets set NAME`)")
        return 0
    width = max(len(n) for n, _ in rows)
    for name, source in rows:
        where = "OS keyring" if source == "keyring" else f"environment ({credentials.SECRET_ENV_PREFIX}{name.upper()})"
        print(f"{name:<{width}}  {where}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    try:
        removed = credentials.delete_secret(args.name)
    except (credentials.KeyringUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not removed:
        print(f"no secret {args.name} in the OS keyring", file=sys.stderr)
        return 1
    print(f"deleted {args.name} from the OS keyring")
    return 0
