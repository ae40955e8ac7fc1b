"""`fairline-stack up|down|status|env|logs`: the local Kafka + PostgreSQL without Docker."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Sequence

from . import credentials, stack
from ._proc import run_sync, tail
from .config import StackConfig, StackError
from .kafka import probe_kafka
from .postgres import PostgresServer


def _say(line: str) -> None:
    print(line, flush=True)


def _cmd_up(cfg: StackConfig, _: argparse.Namespace) -> int:
    stack.up(cfg, say=_say)
    _say('run `eval "$(fairline-stack env)"` to point tools and tests at it')
    return 0


def _cmd_down(cfg: StackConfig, _: argparse.Namespace) -> int:
    stack.down(cfg, say=_say)
    return 0


def _cmd_status(cfg: StackConfig, args: argparse.Namespace) -> int:
    """Exit 0 only when both run (and, unless --quick, answer), so scripts can test it."""
    all_ok = True
    for svc in stack.status(cfg):
        if not svc.running:
            print(f"{svc.name}: stopped ({svc.address})")
            all_ok = False
            continue
        state = "running"
        if not args.quick:
            ok = _answers(cfg, svc.name)
            state = "running, answering" if ok else "running, NOT answering (yet?)"
            all_ok = all_ok and ok
        print(f"{svc.name}: {state} (pid {svc.pid}) at {svc.address}")
    print(f"data: {cfg.local_dir}")
    return 0 if all_ok else 1


def _answers(cfg: StackConfig, name: str) -> bool:
    if name == "kafka":
        try:
            run_sync(lambda: probe_kafka(credentials.access(cfg), max_wait=3))
        except Exception:
            return False
        return True
    try:
        stack.postgres_for(cfg).wait_ready(timeout=3)
    except StackError:
        return False
    return True


def _cmd_env(cfg: StackConfig, args: argparse.Namespace) -> int:
    """What tests and tools need: the broker, who to be on it (admin unless --user), the
    database. The password comes from .local/, generated per stack."""
    lines = {**credentials.access(cfg, args.user).env(), "DATABASE_URL": cfg.database_url}
    for name, value in lines.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _cmd_logs(cfg: StackConfig, args: argparse.Namespace) -> int:
    kafka = stack.broker_for(cfg)
    pg = PostgresServer(cfg.postgres_dir, cfg.pg_port)
    files = {"kafka": kafka.log_path, "postgres": pg.log_path}
    chosen = [files[args.service]] if args.service else list(files.values())
    if args.follow:
        existing = [str(p) for p in chosen if p.exists()]
        if not existing:
            print("no log files yet: run `fairline-stack up` first", file=sys.stderr)
            return 1
        os.execvp("tail", ["tail", "-n", str(args.lines), "-F", *existing])
    for path in chosen:
        print(f"==> {path} <==")
        print(tail(path, args.lines))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fairline-stack",
        description=(
            "Local Kafka (KRaft, jars from Maven Central) and PostgreSQL, data in <repo>/.local. "
            "Ports: FAIRLINE_KAFKA_PORT (19092), FAIRLINE_KAFKA_CONTROLLER_PORT (19093), "
            "FAIRLINE_PG_PORT (15432); FAIRLINE_LOCAL_DIR moves the data, FAIRLINE_ROOT the repo."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="fetch/install what is missing, start both, wait until they answer")
    sub.add_parser("down", help="stop both cleanly (data is kept)")
    st = sub.add_parser("status", help="show what runs; exit 0 only when both answer")
    st.add_argument("--quick", action="store_true", help="check processes only, no requests")
    env = sub.add_parser("env", help='print export lines: eval "$(fairline-stack env)"')
    env.add_argument(
        "--user",
        default=credentials.ADMIN_USER,
        help="the Kafka principal (admin, a service's name, or hotel.<code>); default admin",
    )
    lg = sub.add_parser("logs", help="show the end of the logs")
    lg.add_argument("service", nargs="?", choices=["kafka", "postgres"])
    lg.add_argument("-n", "--lines", type=int, default=40)
    lg.add_argument("-f", "--follow", action="store_true")
    return parser


COMMANDS = {
    "up": _cmd_up,
    "down": _cmd_down,
    "status": _cmd_status,
    "env": _cmd_env,
    "logs": _cmd_logs,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # aiokafka logs every refused connection while we poll a booting broker.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        cfg = StackConfig.from_env()
        return COMMANDS[args.command](cfg, args)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
