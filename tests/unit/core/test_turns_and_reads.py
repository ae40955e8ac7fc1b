"""Turns keep arrival order and hold nothing once empty; rendered reads render once per
stamp and variant, answer 304 on a current ETag, and a kept stamp goes when it moves; a
revalidation of a kept answer is answered before its route, only while its stamp is kept."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fairline_events.consistency import TOKEN_HEADER
from fairline_events.reads import (
    Body,
    Rendered,
    Revalidate,
    Stamp,
    Stamps,
    accepts_gzip,
    answer,
    not_modified,
    wants_fresh,
)
from fairline_events.turns import TURNS, Turns, turn
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send


async def test_turns_are_taken_in_the_order_asked_and_forgotten_when_nobody_waits() -> None:
    turns = Turns()
    order: list[int] = []
    release = asyncio.Event()

    async def racer(n: int) -> None:
        async with turns.turn((1, "attendance-f1")):
            if n == 0:
                await release.wait()  # the others queue behind the first
            order.append(n)

    tasks = [asyncio.create_task(racer(n)) for n in range(50)]
    await asyncio.sleep(0.01)
    assert turns.waiting() == 50
    release.set()
    await asyncio.gather(*tasks)
    assert order == list(range(50))
    assert turns.waiting() == 0 and not turns._queues


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    turns = Turns()
    held = asyncio.Event()
    go = asyncio.Event()

    async def holder() -> None:
        async with turns.turn((1, "s")):
            held.set()
            await go.wait()

    async def waiter() -> None:
        async with turns.turn((1, "s")):
            pass

    first = asyncio.create_task(holder())
    await held.wait()
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    go.set()
    await first
    assert turns.waiting() == 0


async def test_a_command_that_may_hold_locks_skips_its_turn() -> None:
    """It must never wait behind a turn whose holder may wait for its locks: a retry that
    locked first, a command inside a policy's batch."""
    store = object()
    retry: Any = SimpleNamespace(locked={"attendance-f1"}, ordered=True, store=store)
    in_batch: Any = SimpleNamespace(locked=set(), ordered=False, store=store)
    alone: Any = SimpleNamespace(locked=set(), ordered=True, store=store)
    async with TURNS.turn((id(store), "attendance-f1")):
        await asyncio.wait_for(_enter(retry), 1)
        await asyncio.wait_for(_enter(in_batch), 1)
        with pytest.raises(TimeoutError):  # the one on its own waits its turn
            await asyncio.wait_for(_enter(alone), 0.05)


async def _enter(streams: Any) -> None:
    async with turn(streams, "attendance-f1"):
        pass


def _request(headers: dict[str, str] | None = None) -> Request:
    app = SimpleNamespace(state=SimpleNamespace())
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "GET", "headers": raw, "app": app})


async def test_concurrent_reads_of_one_stamp_render_once_and_share_the_bytes() -> None:
    rendered = Rendered()
    calls = 0

    async def render() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return b'[{"forum_id":"f1"}]'

    bodies = await asyncio.gather(*(rendered.body("7|agenda", render) for _ in range(20)))
    assert calls == 1
    assert {b.content for b in bodies} == {b'[{"forum_id":"f1"}]'}
    assert len({b.etag for b in bodies}) == 1


async def test_a_failed_rendering_is_not_kept_and_its_waiters_render_themselves() -> None:
    rendered = Rendered()
    attempts = 0

    async def render() -> bytes:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        if attempts == 1:
            raise RuntimeError("the database went away")
        return b"[]"

    results = await asyncio.gather(
        *(rendered.body("1|x", render) for _ in range(3)), return_exceptions=True
    )
    assert isinstance(results[0], RuntimeError)
    assert all(isinstance(r, Body) and r.content == b"[]" for r in results[1:])
    assert rendered.get("1|x") is not None and not rendered.rendering


async def test_the_etag_is_of_the_bytes_and_a_current_copy_answers_304() -> None:
    stamp = Stamp(3, datetime(2031, 9, 2, 8, 0, tzinfo=UTC))

    async def render() -> bytes:
        return b"[1,2,3]"

    request = _request()
    first = await answer(request, stamp, render, variant="v", cache_control="public, max-age=30")
    etag = first.headers["etag"]
    assert first.status_code == 200 and first.body == b"[1,2,3]"
    assert first.headers["cache-control"] == "public, max-age=30"
    conditional = _request({"If-None-Match": f"W/{etag}"})
    conditional.scope["app"] = request.scope["app"]
    again = await answer(conditional, Stamp(4), render, variant="v")  # moved, same bytes
    assert again.status_code == 304 and again.headers["etag"] == etag
    since = _request({"If-Modified-Since": first.headers["last-modified"]})
    assert not_modified(since, stamp, '"other"')
    assert not not_modified(_request({"If-None-Match": '"other"'}), stamp, etag)


async def test_a_kept_stamp_goes_when_a_notification_moves_it_and_a_fresh_read_rereads() -> None:
    versions = {"proj_a": 1, "proj_b": 1}
    reads = 0

    async def read(_pool: Any, key: str) -> Stamp:
        nonlocal reads
        reads += 1
        return Stamp(sum(versions[k] for k in key.split(",")))

    stamps: Any = Stamps("channel", read, lambda payload, key: payload in key.split(","))
    stamps.listening = object()  # as if listening
    assert (await stamps.get(None, "proj_a,proj_b")).version == 2
    assert (await stamps.get(None, "proj_a,proj_b")).version == 2
    assert reads == 1  # kept
    versions["proj_b"] = 5
    assert (await stamps.get(None, "proj_a,proj_b", fresh=True)).version == 6
    versions["proj_b"] = 9
    stamps._moved(None, 0, "channel", "proj_c")  # another read model: kept
    assert (await stamps.get(None, "proj_a,proj_b")).version == 6
    stamps._moved(None, 0, "channel", "proj_b")
    assert (await stamps.get(None, "proj_a,proj_b")).version == 10
    stamps._lost(None)  # not listening: nothing is kept
    versions["proj_a"] = 2
    assert (await stamps.get(None, "proj_a,proj_b")).version == 11
    versions["proj_a"] = 3
    assert (await stamps.get(None, "proj_a,proj_b")).version == 12


AT = datetime(2031, 9, 3, 10, 0, 0, 500_000, tzinfo=UTC)


def test_revalidation_follows_if_none_match_first_then_if_modified_since() -> None:
    stamp = Stamp(7, AT)
    assert stamp.last_modified() == "Wed, 03 Sep 2031 10:00:00 GMT"
    modified = stamp.last_modified()
    assert modified is not None
    tag = Body.of(b"[]").etag
    assert not_modified(_request({"If-None-Match": tag}), stamp, tag)
    assert not_modified(_request({"If-None-Match": f'"x", {tag}'}), stamp, tag)
    assert not_modified(_request({"If-None-Match": "*"}), stamp, tag)
    assert not_modified(_request({"If-None-Match": f"W/{tag}"}), stamp, tag)  # weak compare
    # an ETag that does not match decides, whatever If-Modified-Since says
    later = "Thu, 04 Sep 2031 10:00:00 GMT"
    headers = {"If-None-Match": '"old"', "If-Modified-Since": later}
    assert not not_modified(_request(headers), stamp, tag)
    assert not_modified(_request({"If-Modified-Since": modified}), stamp, tag)
    earlier = (AT - timedelta(seconds=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert not not_modified(_request({"If-Modified-Since": earlier}), stamp, tag)
    assert not not_modified(_request({"If-Modified-Since": "yesterday"}), stamp, tag)
    assert not not_modified(_request(), stamp, tag)
    assert Stamp(7).last_modified() is None  # a read model's offsets say no time


def test_rendered_answers_stay_within_their_budget() -> None:
    cache = Rendered(max_bytes=1600)
    for n in range(10):
        cache.put(f"e{n}", Body.of(b"x" * 100))
    assert cache.size == 1000 and cache.get("e0") == Body.of(b"x" * 100)
    for n in range(10, 20):
        cache.put(f"e{n}", Body.of(b"x" * 100))
    assert cache.size <= 1600
    assert cache.get("e0") is not None  # used recently, kept
    assert cache.get("e1") is None  # the least recently used went first
    cache.put("huge", Body.of(b"x" * 1000))  # more than a sixteenth of the budget: not kept
    assert cache.get("huge") is None


async def test_a_large_answer_goes_gzipped_to_a_client_that_accepts_it_encoded_once() -> None:
    rows = (
        b"["
        + b",".join(b'{"forum_id":"f%d","title_en":"Digital trade"}' % n for n in range(200))
        + b"]"
    )
    renders = 0

    async def render() -> bytes:
        nonlocal renders
        renders += 1
        return rows

    app = SimpleNamespace(state=SimpleNamespace())

    def asking(headers: dict[str, str]) -> Request:
        request = _request(headers)
        request.scope["app"] = app
        return request

    zipped = await answer(
        asking({"Accept-Encoding": "gzip, deflate"}), Stamp(1), render, variant="v"
    )
    plain = await answer(asking({"Accept-Encoding": "gzip;q=0, br"}), Stamp(1), render, variant="v")
    assert renders == 1
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == rows and len(zipped.body) < len(rows) // 4
    assert "content-encoding" not in plain.headers and plain.body == rows
    assert zipped.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["etag"] != plain.headers["etag"]  # two representations
    for etag in (zipped.headers["etag"], plain.headers["etag"]):  # either revalidates
        again = await answer(asking({"If-None-Match": etag}), Stamp(2), render, variant="v")
        assert again.status_code == 304
    small = await answer(asking({"Accept-Encoding": "*"}), Stamp(1), _small, variant="s")
    assert "content-encoding" not in small.headers and "vary" not in small.headers
    assert accepts_gzip(_request({"Accept-Encoding": "br;q=1.0, *;q=0.5"}))
    assert not accepts_gzip(_request({"Accept-Encoding": "gzip;q=0.000"}))
    assert not accepts_gzip(_request())


async def _small() -> bytes:
    return b"[]"


async def test_a_revalidation_is_answered_before_its_route_only_while_its_stamp_is_kept() -> None:
    versions = {"company:c1": 1}

    async def read(_pool: Any, key: str) -> Stamp:
        return Stamp(versions[key], AT)

    stamps: Any = Stamps("channel", read)
    stamps.listening = object()  # as if listening
    app = SimpleNamespace(state=SimpleNamespace())
    routed = 0

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal routed
        routed += 1
        request = Request(scope)
        stamp = await stamps.get(None, "company:c1", fresh=wants_fresh(request))

        async def render() -> bytes:  # large: kept gzip-encoded too
            return b"[" + b",".join(b'{"v":%d}' % stamp.version for _ in range(200)) + b"]"

        response = await answer(
            request,
            stamp,
            render,
            variant=scope["path"],
            cache_control="public, no-cache",
            kept=(stamps, "company:c1"),
        )
        await response(scope, receive, send)

    revalidate = Revalidate(route)

    async def get(
        headers: dict[str, str], query: bytes = b"edition_code=e1"
    ) -> tuple[int, dict[str, str]]:
        sent: list[Message] = []
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/public/companies/c1",
            "query_string": query,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "app": app,
        }

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            sent.append(message)

        await revalidate(scope, receive, send)
        start = sent[0]
        return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}

    gzip_ok, identity = {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "identity"}
    status, full = await get(gzip_ok)
    assert (status, routed) == (200, 1) and full["content-encoding"] == "gzip"
    status, plain = await get(identity)
    assert (status, routed) == (200, 2) and "content-encoding" not in plain
    validators = {"etag", "last-modified", "cache-control", "vary"}

    # a current copy: 304 without the route, with the headers the route's own 304 has
    status, fast = await get({**gzip_ok, "If-None-Match": full["etag"]})
    assert (status, routed) == (304, 2)
    status, routes = await get({**gzip_ok, "If-None-Match": full["etag"], TOKEN_HEADER: "t"})
    assert (status, routed) == (304, 3)  # a consistency token: the route, the stamp afresh
    assert fast == routes and set(fast) == validators
    assert {k: full[k] for k in validators} == fast
    status, fast = await get({**identity, "If-None-Match": f"W/{plain['etag']}"})
    assert (status, routed) == (304, 3) and fast == {k: plain[k] for k in validators}
    status, _ = await get({**identity, "If-Modified-Since": full["last-modified"]})
    assert (status, routed) == (304, 3)
    assert app.state.revalidations.answered == 3

    # anything else goes the whole way
    for headers, query, expected in (
        ({"If-None-Match": '"other"', "If-Modified-Since": full["last-modified"]}, None, 200),
        ({}, None, 200),  # unconditional
        ({"If-None-Match": full["etag"]}, b"edition_code=e2", 304),  # a target not answered yet
    ):
        before = routed
        status, _ = await get(headers, *([query] if query is not None else []))
        assert (status, routed) == (expected, before + 1)

    # the stamp moved: the old copy is not current, at once
    versions["company:c1"] = 2
    stamps._moved(None, 0, "channel", "company:c1")
    before = routed
    status, changed = await get({**gzip_ok, "If-None-Match": full["etag"]})
    assert (status, routed) == (200, before + 1) and changed["etag"] != full["etag"]
    status, _ = await get({**gzip_ok, "If-None-Match": changed["etag"]})
    assert (status, routed) == (304, before + 1)
    stamps._lost(None)  # not listening: no stamp is trusted, the route reads it
    status, _ = await get({**gzip_ok, "If-None-Match": changed["etag"]})
    assert (status, routed) == (304, before + 2)
