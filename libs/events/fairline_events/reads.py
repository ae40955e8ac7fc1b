"""Rendered reads: a public read answered from bytes rendered once per change, not per request.

The busiest reads (the forums' agenda, the ads' serving schedule, the online fair's pages) are
the same for every caller and change a few times a day, yet are asked hundreds of times a
second. Each answer is rendered once per *stamp* of the read models behind it and kept,
encoded, with its ETag; a request then costs a dictionary lookup, a revalidation a compare.

- `Stamp`: how far the read models behind an answer have moved (a version, and when, if
  known: its Last-Modified). The ETag is of the bytes, so it changes only when they do.
- `Stamps`: the stamps a process has read, kept until a notification (PostgreSQL LISTEN,
  sent at the commit that moved them) says one moved. While the listener is down nothing is
  kept, and a request that carries a consistency token (`fairline_events.consistency`) reads
  its stamp afresh, after its writes are applied: no answer is older than a query made at
  that moment would be.
- `answer(...)`: the conditional answer: the body rendered once per stamp (concurrent
  requests for a body being rendered wait for it rather than render it again), a large one
  also gzip-encoded once, or 304 when the client's copy is current (If-None-Match, else
  If-Modified-Since).
- `read_model_stamps(...)`: the stamp of whole read models: the Kafka offsets their projection
  has applied, moved by each batch (the runner notifies `READ_MODELS_CHANNEL` at its commit).
  A service with finer stamps (the online fair's, per company) brings its own reader.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import asyncpg
import structlog
from starlette.requests import Request
from starlette.responses import Response

from .consistency import TOKEN_HEADER

log = structlog.get_logger(__name__)

READ_MODELS_CHANNEL = "fairline_read_models"
"""Each projection batch notifies it at commit, with the schema it moved (projection.py)."""
GZIP_FROM = 1024
"""Answers from this many bytes are also kept gzip-encoded; smaller ones go as they are."""


@dataclass(frozen=True)
class Stamp:
    """How far the read models behind an answer have moved."""

    version: int
    changed_at: datetime | None = None

    def last_modified(self) -> str | None:
        if self.changed_at is None:
            return None
        at = self.changed_at.astimezone(UTC).replace(microsecond=0)
        return format_datetime(at, usegmt=True)


StampReader = Callable[[asyncpg.Pool, str], Awaitable[Stamp]]
"""Reads the stamp of a key from the database."""
Moves = Callable[[str, str], bool]
"""Whether a notification (its payload) moves a kept key."""


def _same(payload: str, key: str) -> bool:
    return payload == key


class Stamps:
    """The stamps this process has read, kept until a notification says one moved.

    A dedicated connection LISTENs on `channel`; each notification names what moved, and
    `moves(payload, key)` says which kept stamps it moves. While the listener is down nothing
    is kept, so a missed notification never serves a stale answer; `SAFETY_SECONDS` bounds
    how long a kept stamp lives regardless.
    """

    SAFETY_SECONDS = 30.0

    def __init__(self, channel: str, read: StampReader, moves: Moves = _same) -> None:
        self.channel = channel
        self.read = read
        self.moves = moves
        self.kept: dict[str, tuple[Stamp, float]] = {}
        self.seen = 0
        """Notifications seen: a stamp read while one arrived is not kept (it may predate it)."""
        self.listening: asyncpg.Connection | None = None
        self._starting: asyncio.Task[None] | None = None

    def _moved(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.seen += 1
        for key in [k for k in self.kept if self.moves(payload, k)]:
            self.kept.pop(key, None)

    def _lost(self, _conn: object) -> None:
        self.listening = None
        self.seen += 1
        self.kept.clear()

    async def _listen(self, dsn: str) -> None:
        try:
            conn = await asyncpg.connect(dsn)
            await conn.add_listener(self.channel, self._moved)
            conn.add_termination_listener(self._lost)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("read stamps: not listening, reading every stamp", error=repr(exc))
            return
        self.kept.clear()  # anything read before listening may have missed a change
        self.seen += 1
        self.listening = conn

    def ensure_listening(self, dsn: str) -> None:
        if self.listening is None and (self._starting is None or self._starting.done()):
            self._starting = asyncio.create_task(self._listen(dsn))

    async def close(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        conn, self.listening = self.listening, None
        self.kept.clear()
        if conn is not None:
            await conn.close()

    async def get(self, pool: asyncpg.Pool, key: str, *, fresh: bool = False) -> Stamp:
        """The stamp of `key`: kept if a notification would have moved it, else read (and
        kept when no notification arrived meanwhile). `fresh`: read it whatever is kept."""
        kept = self.kept.get(key)
        now = time.monotonic()
        if (
            not fresh
            and kept is not None
            and self.listening is not None
            and now - kept[1] < self.SAFETY_SECONDS
        ):
            return kept[0]
        listening, seen = self.listening, self.seen
        stamp = await self.read(pool, key)
        if listening is not None and self.listening is listening and self.seen == seen:
            self.kept[key] = (stamp, now)
        return stamp


@dataclass(frozen=True)
class Body:
    """An answer as sent: its bytes and their entity tag, and for a large one the same bytes
    gzip-encoded (once, with the rendering: most of a large answer's cost per request is in
    writing it out, and browsers, mini-programs and HTTP clients all accept gzip)."""

    content: bytes
    etag: str
    gzipped: bytes | None = None

    @classmethod
    def of(cls, content: bytes) -> Body:
        etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
        if len(content) < GZIP_FROM:
            return cls(content, etag)
        return cls(content, etag, gzip.compress(content, compresslevel=6, mtime=0))

    @property
    def gzip_etag(self) -> str:
        """The gzip-encoded representation's own tag (RFC 9110: another representation)."""
        return self.etag.removesuffix('"') + '-gzip"'

    @property
    def size(self) -> int:
        return len(self.content) + len(self.gzipped or b"")


class Rendered:
    """Answers already encoded, by stamp and variant. Bounded in bytes (least recently used
    first out), so a crawler cannot grow it."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, Body] = OrderedDict()
        self.rendering: dict[str, asyncio.Future[Body | None]] = {}

    def get(self, key: str) -> Body | None:
        body = self.entries.get(key)
        if body is not None:
            self.entries.move_to_end(key)
        return body

    def put(self, key: str, body: Body) -> None:
        if body.size > self.max_bytes // 16:
            return  # a very large answer is rebuilt each time rather than crowd the rest out
        old = self.entries.pop(key, None)
        self.size += body.size - (old.size if old is not None else 0)
        self.entries[key] = body
        while self.size > self.max_bytes:
            _, dropped = self.entries.popitem(last=False)
            self.size -= dropped.size

    async def body(self, key: str, render: Callable[[], Awaitable[bytes]]) -> Body:
        """The body kept for `key`, else rendered once: concurrent askers wait for it (and
        render it themselves if that rendering failed)."""
        found = self.get(key)
        if found is not None:
            return found
        pending = self.rendering.get(key)
        if pending is not None and (shared := await asyncio.shield(pending)) is not None:
            return shared
        future: asyncio.Future[Body | None] = asyncio.get_running_loop().create_future()
        self.rendering.setdefault(key, future)
        body: Body | None = None
        try:
            body = Body.of(await render())
        finally:
            if self.rendering.get(key) is future:
                del self.rendering[key]
            future.set_result(body)
        self.put(key, body)
        return body


def _state(request: Request) -> Any:
    return request.app.state


def stamps_of(request: Request, name: str, make: Callable[[], Stamps]) -> Stamps:
    """The app's own `Stamps` called `name` (two apps in one process never share one),
    listening on the service's database."""
    state = _state(request)
    kept: dict[str, Stamps] | None = getattr(state, "read_stamps", None)
    if kept is None:
        kept = state.read_stamps = {}
    stamps = kept.get(name)
    if stamps is None:
        stamps = kept[name] = make()
    stamps.ensure_listening(state.runtime.database_url)
    return stamps


def rendered_of(request: Request) -> Rendered:
    state = _state(request)
    cache: Rendered | None = getattr(state, "rendered_reads", None)
    if cache is None:
        cache = state.rendered_reads = Rendered()
    return cache


def wants_fresh(request: Request) -> bool:
    """A read that sent a consistency token back reads its stamp afresh: the token's writes
    are applied by now (`read_your_writes` ran first), and a kept stamp may not know yet."""
    return TOKEN_HEADER.lower() in request.headers


def not_modified(request: Request, stamp: Stamp, etag: str, *also: str) -> bool:
    """RFC 9110: If-None-Match decides when sent (weak comparison, against `etag` or any tag
    of the same content in `also`); else If-Modified-Since (seconds)."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or any(e.removeprefix("W/") in tags for e in (etag, *also))
    since = request.headers.get("if-modified-since")
    if since is None or stamp.changed_at is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:
        return False
    return stamp.changed_at.replace(microsecond=0) <= when


def accepts_gzip(request: Request) -> bool:
    """Whether Accept-Encoding allows gzip (`gzip` or `*`, not with q=0)."""
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().lower()
        if not quality.startswith("q="):
            return True
        try:
            return float(quality[2:]) > 0
        except ValueError:
            return False
    return False


async def answer(
    request: Request,
    stamp: Stamp,
    render: Callable[[], Awaitable[bytes]],
    *,
    variant: str,
    cache_control: str | None = None,
) -> Response:
    """A conditional JSON answer: the bytes `render()` makes, rendered once per stamp and
    `variant` (what else the answer depends on: the path, the query as resolved, the
    caller's view), with an ETag of those bytes; gzip-encoded for a client that accepts it
    (a large answer); 304 when the client's copy is current."""
    body = await rendered_of(request).body(f"{stamp.version}|{variant}", render)
    gzipped = body.gzipped if body.gzipped is not None and accepts_gzip(request) else None
    headers = {"ETag": body.gzip_etag if gzipped is not None else body.etag}
    if body.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if (modified := stamp.last_modified()) is not None:
        headers["Last-Modified"] = modified
    if cache_control is not None:
        headers["Cache-Control"] = cache_control
    if not_modified(request, stamp, body.etag, body.gzip_etag):
        return Response(status_code=304, headers=headers)
    if gzipped is not None:
        headers["Content-Encoding"] = "gzip"
        return Response(gzipped, media_type="application/json", headers=headers)
    return Response(body.content, media_type="application/json", headers=headers)


def read_model_stamps(schemas: Sequence[str]) -> Stamps:
    """Stamps of whole read models (projection schemas): the Kafka offsets their projections
    have applied, which every batch moves on in the same transaction as its change. A key is
    the schemas' names joined by commas."""
    wanted = frozenset(schemas)

    async def read(pool: asyncpg.Pool, key: str) -> Stamp:
        named = key.split(",")
        unknown = set(named) - wanted
        if unknown:
            raise ValueError(f"not a read model of these stamps: {sorted(unknown)}")
        total = " + ".join(
            f'(SELECT coalesce(sum(next_offset), 0) FROM "{s}".consumed_offsets)' for s in named
        )
        return Stamp(int(await pool.fetchval(f"SELECT {total}")))

    def moves(payload: str, key: str) -> bool:
        return payload in key.split(",")

    return Stamps(READ_MODELS_CHANNEL, read, moves)
