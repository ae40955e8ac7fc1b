"""The whole local stack (Kafka + PostgreSQL) as one thing to bring up, down or inspect."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._proc import file_lock
from .config import StackConfig, StackError
from .kafka import KafkaBroker, ensure_kafka_jars, find_java, jars_fetched
from .postgres import PostgresServer, ensure_postgres_installed

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def broker_for(cfg: StackConfig, say: Say = _quiet) -> KafkaBroker:
    return KafkaBroker(
        cfg.kafka_dir,
        cfg.kafka_port,
        cfg.kafka_controller_port,
        libs_dir=cfg.kafka_libs,
        log4j_config=cfg.log4j_config,
        say=say,
    )


def postgres_for(
    cfg: StackConfig, say: Say = _quiet, bin_dir: Path | None = None
) -> PostgresServer:
    return PostgresServer(cfg.postgres_dir, cfg.pg_port, bin_dir=bin_dir, say=say)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    address: str


def kafka_served_ports(broker: KafkaBroker) -> set[int]:
    """The ports of the running broker of this data dir, from the properties it was started
    with (they are rewritten only when it starts); empty when it does not run."""
    if not broker.is_running():
        return set()
    try:
        text = broker.properties_path.read_text()
    except OSError:
        return set()
    listeners = re.search(r"^listeners=(.*)$", text, re.MULTILINE)
    return (
        {int(port) for port in re.findall(r":(\d+)(?:,|$)", listeners[1])} if listeners else set()
    )


def refuse_other_ports(cfg: StackConfig) -> None:
    """A data directory is served on one port at a time: say so, and what to do, when the
    one asked for is not the one it runs on."""
    postgres_for(cfg).refuse_other_port()
    kafka = broker_for(cfg)
    served = kafka_served_ports(kafka)
    wanted = {cfg.kafka_port, cfg.kafka_controller_port}
    if served and not wanted <= served:
        ports = ", ".join(map(str, sorted(served)))
        raise StackError(
            f"the Kafka data directory {kafka.data_dir} is already served on ports {ports} "
            f"(pid {kafka.pid()}), not on {cfg.kafka_port}/{cfg.kafka_controller_port}: set "
            "FAIRLINE_KAFKA_PORT and FAIRLINE_KAFKA_CONTROLLER_PORT to the ports it runs on, "
            "or stop it first (`fairline-stack down` with those ports) and start it again on "
            "the ports you want"
        )


def up(cfg: StackConfig | None = None, say: Say = _quiet, timeout: float = 120.0) -> StackConfig:
    """Idempotently start whatever is not running and wait until both answer."""
    cfg = cfg or StackConfig.from_env()
    started = time.monotonic()
    cfg.local_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(cfg.local_dir / ".stack.lock"):
        # Before anything starts: a server of these data dirs already up on other ports
        # would be reported "already running" and then not be found where clients look.
        refuse_other_ports(cfg)
        find_java()
        kafka = broker_for(cfg, say)
        if jars_fetched(cfg.pom, cfg.kafka_libs):
            say(f"kafka: jars already in {cfg.kafka_libs}")
        elif kafka.is_running():
            # Swapping jars under a live JVM breaks its lazy class loading.
            say("kafka: pom.xml changed; run `fairline-stack down` then `up` to use the new jars")
        else:
            ensure_kafka_jars(cfg.pom, cfg.kafka_libs, say)
        # The JVM boots slowly: launch it first and let PostgreSQL start meanwhile.
        if kafka.is_running():
            say(f"kafka: already running (pid {kafka.pid()})")
        else:
            say(f"kafka: starting broker on {cfg.bootstrap_servers}…")
            kafka.start()
        pg = postgres_for(cfg, say, bin_dir=ensure_postgres_installed(say))
        if pg.is_running():
            say(f"postgres: already running (pid {pg.pid()})")
        else:
            say(f"postgres: starting on 127.0.0.1:{cfg.pg_port} ({pg.bin_dir})…")
        pg.start()
        pg.wait_ready(timeout=60)
        say(f"postgres: ready at {cfg.database_url}")
        kafka.wait_ready(timeout=timeout)
        say(f"kafka: ready at {cfg.bootstrap_servers}")
    say(f"stack: up in {time.monotonic() - started:.1f}s")
    return cfg


def down(
    cfg: StackConfig | None = None,
    say: Say = _quiet,
    only: frozenset[str] = frozenset({"kafka", "postgres"}),
) -> None:
    """Stop both (or `only` those named) cleanly (Kafka SIGTERM, pg_ctl -m fast); data stays
    in .local/."""
    cfg = cfg or StackConfig.from_env()
    cfg.local_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(cfg.local_dir / ".stack.lock"):
        kafka = broker_for(cfg, say)
        if "kafka" not in only:
            pass
        elif kafka.is_running():
            say("kafka: stopping…")
            kafka.stop()
            say("kafka: stopped")
        else:
            say("kafka: not running")
        pg = postgres_for(cfg, say)
        if "postgres" not in only:
            pass
        elif pg.is_running():
            say("postgres: stopping…")
            pg.stop()
            say("postgres: stopped")
        else:
            say("postgres: not running")


def status(cfg: StackConfig | None = None) -> list[ServiceStatus]:
    """Process-level status (cheap: no network round trip)."""
    cfg = cfg or StackConfig.from_env()
    kafka = broker_for(cfg)
    pg = postgres_for(cfg)
    return [
        ServiceStatus("kafka", kafka.is_running(), kafka.pid(), cfg.bootstrap_servers),
        ServiceStatus("postgres", pg.is_running(), pg.pid(), cfg.database_url),
    ]
