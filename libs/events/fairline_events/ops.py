"""`fairctl`: what ops need on fair day, against the running platform.

    fairctl history booths booth-ciftis-2021.E1-101   # a stream's events: who, when, why
    fairctl lag                                       # relay and projection lag, all services
    fairctl rebuild booths floor_plan                 # replay a read model and swap it in
    fairctl dead-letters list booths floor_plan       # what a projection could not apply
    fairctl dead-letters show booths floor_plan 3     # one dead letter: the error, the event
    fairctl dead-letters redrive booths floor_plan    # after a fix: apply them, once
    fairctl pause booths floor_plan --reason "..."    # stop applying (durably); lag grows
    fairctl resume booths floor_plan                  # go on; it catches up by itself

It reads the same settings as the services (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS and the
prefixes), so `eval "$(fairline-stack env)"` points it at the local stack.
"""

from __future__ import annotations

import asyncio
import getpass
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import click

from . import pauses
from .envelope import Envelope
from .errors import EventDecodingError
from .kafka import consumer as kafka_consumer
from .kafka import topic_partitions
from .lag import Lag, read_model_lags, relay_lag
from .projection import Projection, ProjectionRunner
from .redrive import Redrive, redrive, states
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


def _operator(by: str | None) -> str:
    """Who runs the command, as the records (pauses, redrives) name them."""
    return f"ops:{by or os.environ.get('FAIRCTL_OPERATOR') or getpass.getuser()}"


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
    """Operate Fairline: stream history, lag, rebuilds, dead letters, pauses."""


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
) -> tuple[list[Lag], dict[str, pauses.Pause]]:
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
        return lags, await pauses.current(conn)
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
        lags, paused = _run(lambda d=definition, n=name: _lags(settings, n, d))  # type: ignore[misc]
        for item in lags:
            line = f"{name:<12} {item.name:<34} {item.events:>8} {item.seconds:>9.1f}"
            pause = paused.get(item.name.removeprefix("projection:"))
            if item.name.startswith("projection:") and pause is not None:
                line += f"  paused by {pause.paused_by} since {pause.paused_at:%H:%M:%S}Z"
            click.echo(line)


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
    return _live_runner(settings, service, projection).dead_letter_topic


def _headers(record: Any) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in record.headers or ()}


async def _dead_states(
    settings: ServiceSettings, service: str, runner: ProjectionRunner
) -> dict[str, Any]:
    conn = await _connect(settings, service)
    try:
        return dict(await states(conn, runner))
    except asyncpg.UndefinedTableError:  # a read model made before dead letters were kept
        return {}
    finally:
        await conn.close()


def _event_id(record: Any) -> str | None:
    try:
        return str(Envelope.from_json(record.value or b"").event_id)
    except EventDecodingError:
        return None


@dead_letters.command("list")
@click.argument("service")
@click.argument("projection")
def list_dead(service: str, projection: str) -> None:
    """Every dead letter of a projection: where it came from, why, and whether it was
    redriven (`waiting`: a fix and `redrive` apply it; `refused`: it never applies)."""
    settings = ServiceSettings()
    topic = _dead_topic(settings, service, projection)
    runner = _live_runner(settings, service, projection)
    records = _run(lambda: _read_dead(settings, topic))
    known = _run(lambda: _dead_states(settings, service, runner)) if records else {}
    click.echo(f"{len(records)} dead letter(s) on {topic}")
    for record in records:
        headers = _headers(record)
        state = known.get(_event_id(record) or "")
        if state is None:
            status = "refused"
        elif state.redriven_at is None:
            status = "waiting"
        else:
            status = "redriven"
        click.echo(
            f"  #{record.offset:<5} {status:<9} from {headers.get('dlq.source', '?'):<40} "
            f"{headers.get('dlq.error_type', '?')}: {headers.get('dlq.error', '')[:120]}"
        )
    if any(
        (s := known.get(_event_id(r) or "")) is not None and s.redriven_at is None for r in records
    ):
        click.echo(
            f"next: fix the cause (`fairctl dead-letters show {service} {projection} <#>`),"
            f" then `fairctl dead-letters redrive {service} {projection}`"
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


def _live_runner(settings: ServiceSettings, service: str, projection: str) -> ProjectionRunner:
    """The projection's runner, for its names (topics, group, schema); no pool yet."""
    chosen: Projection = _runner(settings, _service(service), projection)
    return ProjectionRunner(
        chosen, None, settings.kafka, settings.fairline_topic_prefix, service=service
    )


async def _redrive_all(
    settings: ServiceSettings, service: str, runner: ProjectionRunner, records: list[Any], by: str
) -> list[Redrive]:
    runner.pool = await asyncpg.create_pool(
        settings.service_database_url(service), min_size=1, max_size=1, timeout=5
    )
    done: list[Redrive] = []
    try:
        for record in records:
            result = await redrive(runner, record, by)
            done.append(result)
            detail = f"  {result.detail}" if result.detail else ""
            click.echo(f"  #{result.offset:<5} {result.outcome:<8} {result.event}{detail}")
    finally:
        await runner.pool.close()
    return done


@dead_letters.command("redrive")
@click.argument("service")
@click.argument("projection")
@click.option("--by", help="who re-drives, for the record (default: $FAIRCTL_OPERATOR, login)")
def redrive_dead(service: str, projection: str, by: str | None) -> None:
    """After a fix: apply each dead letter the projection failed on, once (a second redrive
    changes nothing). Refused events (gaps, forgeries) are never applied; the DLQ topic
    keeps every record and `list` shows which were redriven."""
    settings = ServiceSettings()
    topic = _dead_topic(settings, service, projection)
    runner = _live_runner(settings, service, projection)
    actor = _operator(by)
    records = _run(lambda: _read_dead(settings, topic))
    click.echo(f"re-driving {len(records)} dead letter(s) of {service}.{projection} as {actor}")
    results = _run(lambda: _redrive_all(settings, service, runner, records, actor))
    count = {o: sum(r.outcome == o for r in results) for o in ("applied", "already", "refused")}
    failing = [r for r in results if r.outcome == "failing"]
    click.echo(
        f"done: {count['applied']} applied, {count['already']} already redriven,"
        f" {count['refused']} refused (never applied), {len(failing)} still failing"
    )
    if failing:
        first = failing[0].offset
        raise click.ClickException(
            f"{len(failing)} still fail: see `fairctl dead-letters show {service} {projection}"
            f" {first}`, fix the cause, and run redrive again (what applied stays applied)"
        )
    if count["applied"]:
        click.echo(
            "next: they applied after later events of their streams; if order matters to"
            f" this read model, `fairctl rebuild {service} {projection}` replays all in order"
        )


@main.command()
@click.argument("service")
@click.argument("projection")
@click.option("--reason", required=True, help="why, for the record and whoever resumes it")
@click.option("--by", help="who pauses, for the record (default: $FAIRCTL_OPERATOR, login)")
def pause(service: str, projection: str, reason: str, by: str | None) -> None:
    """Stop a projection applying events, durably (a row in the service's database that
    every batch checks): its read model stays as it is and its lag grows until `resume`."""
    settings = ServiceSettings()
    chosen: Projection = _runner(settings, _service(service), projection)
    actor = _operator(by)
    click.echo(f"pausing {service}.{projection}; waiting for the batch under way, if any...")

    async def pausing() -> tuple[pauses.Pause, bool]:
        conn = await _connect(settings, service)
        try:
            return await pauses.pause(conn, chosen.name, chosen.lock_key, actor, reason)
        except asyncpg.LockNotAvailableError:
            raise click.ClickException(
                f"{service}.{projection} is marked paused, but a batch or a rebuild still"
                " holds it after 60 s; it stops applying once that ends"
            ) from None
        finally:
            await conn.close()

    paused, made = _run(pausing)
    when = f"{paused.paused_at:%Y-%m-%d %H:%M:%S}Z"
    if made:
        click.echo(f"paused by {paused.paused_by} at {when}: {paused.reason}")
        click.echo("no batch applies from now on; the events wait on the topic")
    else:
        click.echo(f"already paused by {paused.paused_by} since {when}: {paused.reason}")
    click.echo(
        f"next: `fairctl lag {service}` shows the lag growing;"
        f" `fairctl resume {service} {projection}` lets it catch up"
    )


@main.command()
@click.argument("service")
@click.argument("projection")
@click.option("--by", help="who resumes, for the record (default: $FAIRCTL_OPERATOR, login)")
def resume(service: str, projection: str, by: str | None) -> None:
    """Let a paused projection apply again; it catches up from where it stopped."""
    settings = ServiceSettings()
    definition = _service(service)
    chosen: Projection = _runner(settings, definition, projection)
    actor = _operator(by)

    async def resuming() -> pauses.Pause | None:
        conn = await _connect(settings, service)
        try:
            return await pauses.resume(conn, chosen.name, actor)
        finally:
            await conn.close()

    # Measured while still paused: the read model is exactly this far behind.
    lags, _ = _run(lambda: _lags(settings, service, definition))
    [behind] = [lag for lag in lags if lag.name == f"projection:{chosen.name}"]
    ended = _run(resuming)
    if ended is None:
        click.echo(f"{service}.{projection} was not paused; nothing to do")
        return
    assert ended.resumed_at is not None
    held = ended.resumed_at - ended.paused_at
    click.echo(
        f"resumed by {actor} after {int(held.total_seconds())} s"
        f" (paused by {ended.paused_by}: {ended.reason})"
    )
    click.echo(
        f"{behind.events} event(s) to catch up ({behind.seconds:.1f} s behind); a running"
        f" worker applies them at its next fetch: watch `fairctl lag {service}`"
    )


if __name__ == "__main__":
    main()
