"""The public API's validators: ETags move with the stamp, revalidation follows RFC 9110,
the encoded answers stay within their budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exhibitors.api.public import Stamp, _Encoded, _not_modified
from starlette.requests import Request

AT = datetime(2031, 9, 3, 10, 0, 0, 500_000, tzinfo=UTC)


def request(**headers: str) -> Request:
    raw = [(k.lower().replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def test_an_etag_moves_with_the_stamp_and_the_request() -> None:
    stamp = Stamp(7, AT)
    assert stamp.etag("/a") == Stamp(7, AT).etag("/a")
    assert stamp.etag("/a") != Stamp(8, AT).etag("/a") != stamp.etag("/b")
    assert stamp.etag("/a").startswith('W/"')
    assert stamp.last_modified() == "Wed, 03 Sep 2031 10:00:00 GMT"


def test_revalidation_follows_if_none_match_first_then_if_modified_since() -> None:
    stamp = Stamp(7, AT)
    tag = stamp.etag("/a")
    assert _not_modified(request(if_none_match=tag), stamp, tag)
    assert _not_modified(request(if_none_match=f'"x", {tag}'), stamp, tag)
    assert _not_modified(request(if_none_match="*"), stamp, tag)
    assert _not_modified(request(if_none_match=tag.removeprefix("W/")), stamp, tag)
    # an ETag that does not match decides, whatever If-Modified-Since says
    later = "Thu, 04 Sep 2031 10:00:00 GMT"
    assert not _not_modified(request(if_none_match='"old"', if_modified_since=later), stamp, tag)
    assert _not_modified(request(if_modified_since=stamp.last_modified()), stamp, tag)
    earlier = (AT - timedelta(seconds=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert not _not_modified(request(if_modified_since=earlier), stamp, tag)
    assert not _not_modified(request(if_modified_since="yesterday"), stamp, tag)
    assert not _not_modified(request(), stamp, tag)


def test_encoded_answers_stay_within_their_budget() -> None:
    cache = _Encoded(max_bytes=1600)
    for n in range(10):
        cache.put(f"e{n}", b"x" * 100)
    assert cache.size == 1000 and cache.get("e0") == b"x" * 100
    for n in range(10, 20):
        cache.put(f"e{n}", b"x" * 100)
    assert cache.size <= 1600
    assert cache.get("e0") is not None  # used recently, kept
    assert cache.get("e1") is None  # the least recently used went first
    cache.put("huge", b"x" * 1000)  # more than a sixteenth of the budget: not kept
    assert cache.get("huge") is None
