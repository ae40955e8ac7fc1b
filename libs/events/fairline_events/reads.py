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
- `Revalidate`: a conditional GET of a target whose answer was kept, at a stamp that is
  still the kept one, is answered 304 before routing: no dependencies, no validation, no
  route. An answer opts in (`answer(..., kept=(stamps, key))`) when it depends on nothing
  but its target (path and query), the stamp and Accept-Encoding; anything else (another
  target, a moved or unkept stamp, a consistency token, a copy that is not current) goes
  the whole way, so the fast 304 is exactly the one the route would give.
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
from starlette.types import ASGIApp, Receive, Scope, Send

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

    def current(self, key: str) -> Stamp | None:
        """The kept stamp of `key` while it can be trusted (listening, within the safety
        time), else None: the stamp must be read."""
        kept = self.kept.get(key)
        if (
            kept is None
            or self.listening is None
            or time.monotonic() - kept[1] >= self.SAFETY_SECONDS
        ):
            return None
        return kept[0]

    async def get(self, pool: asyncpg.Pool, key: str, *, fresh: bool = False) -> Stamp:
        """The stamp of `key`: kept if a notification would have moved it, else read (and
        kept when no notification arrived meanwhile). `fresh`: read it whatever is kept."""
        if not fresh and (kept := self.current(key)) is not None:
            return kept
        now = time.monotonic()
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
    headers = request.headers
    return _not_modified(
        headers.get("if-none-match"), headers.get("if-modified-since"), stamp, (etag, *also)
    )


def _not_modified(match: str | None, since: str | None, stamp: Stamp, etags: Sequence[str]) -> bool:
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or any(e.removeprefix("W/") in tags for e in etags)
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
    return _accepts_gzip(request.headers.get("accept-encoding", ""))


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
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


RawHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Revalidation:
    """How to revalidate one target's answer without its route: the stamp it was rendered
    at (still current while `stamps` keeps it under `key`), the tags of its bytes, and the
    headers of its 304 for a client without and with gzip (as the route sends them)."""

    stamps: Stamps
    key: str
    stamp: Stamp
    etags: tuple[str, str]
    headers: tuple[RawHeaders, RawHeaders]
    route: object
    """The route that answered (`scope["route"]`): metrics and spans name it, as before."""


class Revalidations:
    """The targets (path and query, as sent) this process answered from a kept stamp.
    Bounded (the oldest answered goes first), so a crawler cannot grow it."""

    MAX_TARGETS = 8192
    MAX_QUERY = 512
    """A longer query string is not kept: such a target is rarely asked twice."""

    def __init__(self) -> None:
        self.targets: dict[tuple[str, bytes], Revalidation] = {}
        self.answered = 0
        """Conditional GETs answered 304 before routing."""

    def keep(
        self,
        scope: Scope,
        kept: tuple[Stamps, str],
        stamp: Stamp,
        body: Body,
        plain: dict[str, str],
        zipped: dict[str, str],
    ) -> None:
        """Keep how to revalidate the target `scope` asks for, answered with `body` at
        `stamp` (kept under `kept`) and these headers (without gzip, with it)."""
        query: bytes = scope.get("query_string", b"")
        if scope.get("method") != "GET" or len(query) > self.MAX_QUERY:
            return
        target = (scope["path"], query)
        known = self.targets.get(target)
        if known is not None and known.stamp == stamp and known.etags[0] == body.etag:
            return  # as kept: most answers are of a target answered before
        self.targets.pop(target, None)  # re-inserted: the newest answered goes last
        self.targets[target] = Revalidation(
            kept[0],
            kept[1],
            stamp,
            (body.etag, body.gzip_etag),
            # made once, as the route's own 304 is made
            (
                Response(status_code=304, headers=plain).raw_headers,
                Response(status_code=304, headers=zipped).raw_headers,
            ),
            scope.get("route"),
        )
        if len(self.targets) > self.MAX_TARGETS:
            del self.targets[next(iter(self.targets))]

    def not_modified(self, scope: Scope) -> RawHeaders | None:
        """The headers of the 304 the target's route would give this request, if it would
        give one; the route is then named in the scope, for metrics and spans."""
        found = self.targets.get((scope["path"], scope.get("query_string", b"")))
        if found is None:
            return None
        match = since = encoding = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                match = match if match is not None else value.decode("latin-1")
            elif name == b"if-modified-since":
                since = since if since is not None else value.decode("latin-1")
            elif name == b"accept-encoding":
                encoding = encoding if encoding is not None else value.decode("latin-1")
            elif name == _TOKEN:
                return None  # the token's writes first: the route reads its stamp afresh
        if match is None and since is None:
            return None
        current = found.stamps.current(found.key)
        if current is not found.stamp and current != found.stamp:
            return None  # moved, or no longer kept: the route reads the stamp
        if not _not_modified(match, since, found.stamp, found.etags):
            return None
        scope["route"] = found.route
        self.answered += 1
        return found.headers[1 if encoding is not None and _accepts_gzip(encoding) else 0]


_TOKEN = TOKEN_HEADER.lower().encode()


def revalidations_of(state: Any) -> Revalidations:
    kept: Revalidations | None = getattr(state, "revalidations", None)
    if kept is None:
        kept = state.revalidations = Revalidations()
    return kept


class Revalidate:
    """Answers a conditional GET 304 before routing when its target's answer is kept at a
    stamp that is still current (`Revalidations`); anything else goes on to the route.

    Most of a revalidation's cost was FastAPI's: matching, resolving dependencies, checking
    the query, the route's own lookups; the 304 itself is a compare. It sits innermost, so
    admission, metrics, spans and security headers treat its answers as any other."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.kept: Revalidations | None = None
        """The app's, once its first answer opted in (`revalidations_of`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            kept = self.kept
            if kept is None:
                kept = self.kept = getattr(scope["app"].state, "revalidations", None)
            if kept is not None and (headers := kept.not_modified(scope)) is not None:
                await send({"type": "http.response.start", "status": 304, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)


async def answer(
    request: Request,
    stamp: Stamp,
    render: Callable[[], Awaitable[bytes]],
    *,
    variant: str,
    cache_control: str | None = None,
    kept: tuple[Stamps, str] | None = None,
) -> Response:
    """A conditional JSON answer: the bytes `render()` makes, rendered once per stamp and
    `variant` (what else the answer depends on: the path, the query as resolved, the
    caller's view), with an ETag of those bytes; gzip-encoded for a client that accepts it
    (a large answer); 304 when the client's copy is current.

    `kept`: the `Stamps` and key `stamp` came from, for an answer that depends on its target
    alone (not the caller): its revalidations are then answered before routing (`Revalidate`)."""
    body = await rendered_of(request).body(f"{stamp.version}|{variant}", render)
    gzipped = body.gzipped if body.gzipped is not None and accepts_gzip(request) else None
    plain, zipped = _headers(body, stamp, cache_control)
    headers = zipped if gzipped is not None else plain
    if kept is not None:
        revalidations_of(_state(request)).keep(request.scope, kept, stamp, body, plain, zipped)
    if not_modified(request, stamp, body.etag, body.gzip_etag):
        return Response(status_code=304, headers=headers)
    if gzipped is not None:
        return Response(
            gzipped,
            media_type="application/json",
            headers={**headers, "Content-Encoding": "gzip"},
        )
    return Response(body.content, media_type="application/json", headers=headers)


def _headers(
    body: Body, stamp: Stamp, cache_control: str | None
) -> tuple[dict[str, str], dict[str, str]]:
    """An answer's headers for a client without gzip and for one with it (a small answer
    goes as it is to both)."""
    headers = {"ETag": body.etag}
    if body.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if (modified := stamp.last_modified()) is not None:
        headers["Last-Modified"] = modified
    if cache_control is not None:
        headers["Cache-Control"] = cache_control
    if body.gzipped is None:
        return headers, headers
    return headers, {**headers, "ETag": body.gzip_etag}


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
