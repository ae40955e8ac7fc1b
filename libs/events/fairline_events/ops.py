"""`fairctl`: what ops need on fair day, against the running platform.

    fairctl history booths booth-ciftis-2021.E1-101   # a stream's events: who, when, why
    fairctl lag                                       # relay and projection lag, all services
    fairctl rebuild booths floor_plan                 # replay a read model and swap it in
    fairctl dead-letters list booths floor_plan       # what a projection could not apply
    fairctl dead-letters show booths floor_plan 3     # one dead letter: the error, the event

It reads the same settings as the services (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS and the
prefixes), so `eval "$(fairline-stack env)"` points it at the local stack.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import click

from .kafka import consumer as kafka_consumer
from .kafka import topic_partitions
from .lag import Lag, read_model_lags, relay_lag
from .projection import ProjectionRunner
from .service import ServiceDefinition
from .settings import ServiceSettings

T = TypeVar("T")

SERVICES = ("exhibitors", "booths", "forums", "sponsorship", "hotels", "tickets")


def _run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())  # type: ignore[arg-type]


def installed() -> dict[str, ServiceDefinition]:
    """The services installed beside fairctl, by name."""
    found: dict[str, ServiceDefinition] = {}
    for name in SERVICES:
        try:
            module = importlib.import_module(f"{name}.service")
        except ModuleNotFoundError:
            continue
        found[name] = module.definition
    return found


def _service(name: str) -> ServiceDefinition:
    services = installed()
    if name not in services:
        raise click.BadParameter(f"no service {name!r}; installed: {', '.join(services)}")
    return services[name]


def _runner(settings: ServiceSettings, definition: ServiceDefinition, name: str) -> Any:
    for projection in definition.projections:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in definition.projections)
    raise click.BadParameter(f"{definition.name} has no projection {name!r}; it has: {known}")


async def _connect(settings: ServiceSettings, service: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(settings.service_database_url(service), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(
            f"cannot reach {service}'s database ({exc}); is the stack up? "
            '`make stack`, then `eval "$(.venv/bin/fairline-stack env)"`'
        ) from None


@click.group()
def main() -> None:
    """Operate Fairline: stream history, lag, rebuilds, dead letters."""


@main.command()
@click.argument("service")
@click.argument("stream_id")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per event")
def history(service: str, stream_id: str, as_json: bool) -> None:
    """A stream's events in order, with who, when, why and the command."""
    _service(service)
    settings = ServiceSettings()

    async def read() -> list[asyncpg.Record]:
        conn = await _connect(settings, service)
        try:
            return list(
                await conn.fetch(
                    """SELECT stream_version, event_type, occurred_at, actor, reason, command,
                              correlation_id, event_id, data
                       FROM public.events WHERE stream_id = $1 ORDER BY stream_version""",
                    stream_id,
                )
            )
        finally:
            await conn.close()

    rows = _run(read)
    if not rows:
        raise click.ClickException(f"{service} has no stream {stream_id!r}")
    for r in rows:
        if as_json:
            click.echo(json.dumps({k: str(v) if k != "data" else v for k, v in r.items()}))
        else:
            why = f" because {r['reason']!r}" if r["reason"] else ""
            click.echo(
                f"v{r['stream_version']:<4} {r['occurred_at']:%Y-%m-%d %H:%M:%S}Z "
                f"{r['event_type']:<32} by {r['actor']} ({r['command'] or '-'}){why}"
            )


async def _lags(
    settings: ServiceSettings, service: str, definition: ServiceDefinition
) -> list[Lag]:
    conn = await _connect(settings, service)
    consumer = kafka_consumer(settings.kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        relay = await relay_lag(conn)
        lags = [Lag(f"relay:{relay.name}", relay.events, relay.seconds)]
        prefix = settings.fairline_topic_prefix
        for lag in await read_model_lags(
            conn, consumer, settings.kafka, prefix, definition.projections
        ):
            lags.append(Lag(f"projection:{lag.name}", lag.events, lag.seconds))
        return lags
    finally:
        await consumer.stop()
        await conn.close()


@main.command()
@click.argument("services", nargs=-1)
def lag(services: tuple[str, ...]) -> None:
    """Relay and projection lag (events and seconds behind) of each service."""
    settings = ServiceSettings()
    chosen = {name: _service(name) for name in services} if services else installed()
    click.echo(f"{'service':<12} {'part':<34} {'events':>8} {'seconds':>9}")
    for name, definition in chosen.items():
        for item in _run(lambda d=definition, n=name: _lags(settings, n, d)):  # type: ignore[misc]
            click.echo(f"{name:<12} {item.name:<34} {item.events:>8} {item.seconds:>9.1f}")


@main.command()
@click.argument("service")
@click.argument("projection")
def rebuild(service: str, projection: str) -> None:
    """Replay a projection's topic into a fresh schema and swap it in (the service's own
    `rebuild`, which keeps the live read model serving until the swap)."""
    definition = _service(service)
    _runner(ServiceSettings(), definition, projection)
    command = Path(sys.executable).parent / f"fairline-{service}"
    done = subprocess.run([str(command), "rebuild", projection], check=False)
    if done.returncode != 0:
        raise click.ClickException(f"the rebuild of {service}.{projection} failed; see above")


@main.group("dead-letters")
def dead_letters() -> None:
    """Events a projection could not apply, kept on `<service>.<projection>.dlq`."""


async def _read_dead(settings: ServiceSettings, topic: str) -> list[Any]:
    consumer = kafka_consumer(settings.kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(settings.kafka, [topic])
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            batches = await consumer.getmany(*partitions, timeout_ms=1000)
            for batch in batches.values():
                records.extend(batch)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


def _dead_topic(settings: ServiceSettings, service: str, projection: str) -> str:
    definition = _service(service)
    runner = ProjectionRunner(
        _runner(settings, definition, projection),
        None,
        settings.kafka,
        settings.fairline_topic_prefix,
        service=service,
    )
    return runner.dead_letter_topic


def _headers(record: Any) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in record.headers or ()}


@dead_letters.command("list")
@click.argument("service")
@click.argument("projection")
def list_dead(service: str, projection: str) -> None:
    """Every dead letter of a projection: where it came from, and why."""
    settings = ServiceSettings()
    topic = _dead_topic(settings, service, projection)
    records = _run(lambda: _read_dead(settings, topic))
    click.echo(f"{len(records)} dead letter(s) on {topic}")
    for record in records:
        headers = _headers(record)
        click.echo(
            f"  #{record.offset:<5} from {headers.get('dlq.source', '?'):<40} "
            f"{headers.get('dlq.error_type', '?')}: {headers.get('dlq.error', '')[:120]}"
        )


@dead_letters.command("show")
@click.argument("service")
@click.argument("projection")
@click.argument("offset", type=int)
def show_dead(service: str, projection: str, offset: int) -> None:
    """One dead letter whole: its headers (error, traceback, source) and the event."""
    settings = ServiceSettings()
    topic = _dead_topic(settings, service, projection)
    records = [r for r in _run(lambda: _read_dead(settings, topic)) if r.offset == offset]
    if not records:
        raise click.ClickException(f"no dead letter #{offset} on {topic}; `list` shows them")
    record = records[0]
    for key, value in _headers(record).items():
        click.echo(f"{key}: {value}")
    click.echo((record.value or b"").decode(errors="replace"))


if __name__ == "__main__":
    main()
