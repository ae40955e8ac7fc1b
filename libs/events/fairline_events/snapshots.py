"""Snapshots of long streams' states: a process that starts folds from the latest snapshot
and the events after it, not from a stream's first event.

A stream that many commands write (a quota shard a rush sells from, a hall's occupancy)
grows to thousands of events; the store keeps each state it folded (`EventStore.remember`),
but a restarted or new process reads every stream's whole history again, under the locks
the rush queues on. A service opts in per fold, with the state's type and a `kind` naming
the state's shape:

    snapshots.register(QUOTA, Quota, kind="tickets.quota.1", every=100)

From then on, a load (`EventStore.load_many`) of a stream of that fold that this process has
not folded yet starts from its snapshot, when there is one of that kind; and a load outside
a transaction that finds the stream `every` events past its last snapshot known here writes
a new one (one statement on the load's connection). Only such loads write, as only they are
cached (`EventStore.remember`): what they read is committed, and a command's transaction
never waits on a snapshot row another holds while it queues on that one's stream lock. A
stream written under its lock in a rush is still loaded outside one often enough: by the
optimistic first attempts, and by reads that take no lock. Snapshots only move forward.

A snapshot is a cache of what the events say, never a source of truth: deleting rows of
`public.snapshots` is always safe. Change `kind` whenever the state's shape or its `evolve`
changes meaning, so that no older snapshot is read as the new shape (older kinds are then
ignored). Register only states without personal data: a snapshot is stored in clear, out of
the reach of crypto-shredding.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
import structlog
from pydantic import TypeAdapter, ValidationError

from .decider import Fold
from .registry import DomainEvent

log = structlog.get_logger(__name__)

S = TypeVar("S")
Evolve = Callable[[Any, DomainEvent], Any]
Wanted = Sequence[tuple[str, Evolve, Any]]
"""What `EventStore.load_many` folds: (stream id, evolve, initial state)."""

KNOWN_STREAMS = 20_000
"""Streams whose last snapshot version a process keeps in mind (as many as it caches)."""


@dataclass(frozen=True)
class Snapshotted(Generic[S]):
    kind: str
    shape: TypeAdapter[S]
    every: int


_registered: dict[Evolve, Snapshotted[Any]] = {}
_taken: OrderedDict[tuple[str, str], int] = OrderedDict()
"""(stream, kind): the version of its latest snapshot this process read or wrote."""


def register(fold: Fold[S], state: type[S], *, kind: str, every: int = 100) -> None:
    """Loads of `fold`'s streams start from their snapshots of `kind`, written every `every`
    events. `state` is the state's type (a dataclass or pydantic model pydantic can dump and
    validate as JSON)."""
    if every < 1:
        raise ValueError("a snapshot every 1 event at least")
    known = _registered.get(fold.evolve)
    if known is not None and known.kind != kind:
        raise ValueError(f"{fold.evolve.__qualname__} is snapshotted as {known.kind} already")
    _registered[fold.evolve] = Snapshotted(kind, TypeAdapter(state), every)


def forget(fold: Fold[Any]) -> None:
    """Stop snapshotting `fold` (tests)."""
    _registered.pop(fold.evolve, None)


async def starts(
    db: asyncpg.Connection | asyncpg.Pool, wanted: Wanted, starts: list[tuple[Any, int]]
) -> list[tuple[Any, int]]:
    """`starts` (each stream's state and version to fold on from), with the snapshot of each
    stream of a registered fold that starts from nothing: one query, only then."""
    if not _registered:
        return starts
    cold = {
        sid: snapshotted.kind
        for (sid, evolve, _), (_, version) in zip(wanted, starts, strict=True)
        if not version and (snapshotted := _registered.get(evolve)) is not None
    }
    if not cold:
        return starts
    rows = await db.fetch(
        "SELECT stream_id, kind, version, state FROM public.snapshots"
        " WHERE stream_id = ANY($1::text[]) AND kind = ANY($2::text[])",
        list(cold),
        sorted(set(cold.values())),
    )
    found = {(r["stream_id"], r["kind"]): r for r in rows}
    seeded = list(starts)
    for n, (sid, evolve, _) in enumerate(wanted):
        snapshotted = _registered.get(evolve)
        row = found.get((sid, snapshotted.kind)) if snapshotted else None
        if snapshotted is None or row is None or seeded[n][1]:
            continue
        try:
            seeded[n] = (snapshotted.shape.validate_json(row["state"]), row["version"])
        except ValidationError:  # written by a shape that was not renamed: fold it all
            log.warning("snapshot unreadable, folding the stream", stream=sid, kind=row["kind"])
            continue
        _seen((sid, snapshotted.kind), row["version"])
    return seeded


async def keep(
    db: asyncpg.Connection | asyncpg.Pool, wanted: Wanted, loaded: Sequence[tuple[Any, int]]
) -> None:
    """Snapshot each stream of a registered fold that is `every` events past its last
    snapshot known here, unless read inside a transaction; one statement for all of them,
    rows in stream order (two such statements never wait on each other in a cycle)."""
    if not _registered or (not isinstance(db, asyncpg.Pool) and db.is_in_transaction()):
        return
    due: dict[str, tuple[str, int, str]] = {}
    for (sid, evolve, _), (state, version) in sorted(
        zip(wanted, loaded, strict=True), key=lambda loaded: loaded[0][0]
    ):
        snapshotted = _registered.get(evolve)
        if snapshotted is None or sid in due:
            continue
        if version - _taken.get((sid, snapshotted.kind), 0) >= snapshotted.every:
            due[sid] = (snapshotted.kind, version, snapshotted.shape.dump_json(state).decode())
    if not due:
        return
    await db.execute(
        """INSERT INTO public.snapshots (stream_id, kind, version, state)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::jsonb[])
           ON CONFLICT (stream_id, kind) DO UPDATE
             SET version = excluded.version, state = excluded.state, taken_at = now()
             WHERE snapshots.version < excluded.version""",
        list(due),
        [kind for kind, _, _ in due.values()],
        [version for _, version, _ in due.values()],
        [state for _, _, state in due.values()],
    )
    for sid, (kind, version, _) in due.items():
        _seen((sid, kind), version)


def _seen(key: tuple[str, str], version: int) -> None:
    if _taken.get(key, 0) >= version:
        return
    _taken[key] = version
    _taken.move_to_end(key)
    if len(_taken) > KNOWN_STREAMS:
        _taken.popitem(last=False)
