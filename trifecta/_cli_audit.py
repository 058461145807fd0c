"""`trifecta audit verify` and `trifecta audit keygen`."""

from __future__ import annotations

import argparse
from pathlib import Path

from trifecta._preflight import fail
from trifecta.audit import AuditKey, AuditKeyError, generate_key, inspect_audit, load_key
from trifecta.config import ConfigError, load_config

__all__ = ["run_audit"]


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
