"""`trifecta audit verify` and `trifecta audit keygen`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from trifecta._preflight import fail
from trifecta.audit import AuditKey, AuditKeyError, generate_key, inspect_audit, load_key
from trifecta.config import ConfigError, load_config

__all__ = ["add_audit_parser", "run_audit"]


def add_audit_parser(commands: Any) -> None:
    """Register `audit verify` and `audit keygen` on the CLI's subparsers."""
    audit = commands.add_parser("audit", help="audit-log tools", description="Audit-log tools.")
    tools = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = tools.add_parser(
        "verify",
        help="verify an audit log",
        description="Exit 0 when intact; 1 listing every edited, removed, inserted, reordered "
        "or truncated record, torn or garbage line, and head mismatch. Says what was proven: "
        "with the key, records are authenticated; without it, only the hash chain is checked.",
    )
    verify.add_argument("file")
    verify.add_argument("--key-file", help="the audit key file (default: the config's)")
    verify.add_argument("--key-env", help="environment variable holding the audit key")
    verify.add_argument("--config", type=Path, help="TOML config file (key and checkpoint)")
    verify.add_argument("--data-dir", type=Path, help="data dir of the default checkpoint file")
    verify.add_argument("--checkpoint", help="checkpoint database holding the log's head")
    keygen = tools.add_parser(
        "keygen",
        help="write a new audit key",
        description="Write 32 random bytes, hex, to a new file (mode 0600). Point the config at "
        'it (audit_key_file = "FILE") or export it in the variable named by audit_key_env.',
    )
    keygen.add_argument("file")


def _key(args: argparse.Namespace, file: str | None, env: str | None) -> AuditKey | None:
    if args.key_file or args.key_env:
        return load_key(args.key_file, args.key_env)
    return load_key(file, env)


def _verify(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, data_dir=args.data_dir, checkpoint=args.checkpoint)
        key = _key(args, config.audit_key_file, config.audit_key_env)
    except (ConfigError, AuditKeyError) as exc:
        return fail(exc)
    head_db = None if config.checkpoint_url == "memory" else config.checkpoint_url
    path = Path(args.file)
    if not path.is_file():
        return fail(f"no audit log at {path}")
    try:
        report = inspect_audit(path, key=key, head_db=head_db)
    except OSError as exc:
        return fail(f"cannot read {path}: {exc.strerror or exc}")
    for line in (*report.problems, *report.summary()):
        print(line)
    return 0 if report.ok else 1


def _keygen(args: argparse.Namespace) -> int:
    try:
        key = generate_key(args.file)
    except FileExistsError:
        return fail(f"{args.file} exists; a key is never overwritten")
    except OSError as exc:
        return fail(f"cannot write {args.file}: {exc.strerror or exc}")
    print(f"new audit key {key.id} written to {args.file} (mode 0600)")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    """Run `audit verify` or `audit keygen`; returns the exit code."""
    return _verify(args) if args.audit_command == "verify" else _keygen(args)
