"""Booth items and their files: kinds, limits, drafts, publishing; the blob store itself."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import reduce
from pathlib import Path

import pytest
from exhibitors.domain.booth import (
    POLICIES,
    UPLOADS,
    ActivityContent,
    ApproveItem,
    BoothItem,
    BoothItemApproved,
    BoothItemDrafted,
    BoothItemPublished,
    BoothItemReturned,
    BoothItemRevised,
    BoothItemSubmitted,
    BoothItemTakenDown,
    BoothItemUnpublished,
    DocumentContent,
    DraftItem,
    ImageContent,
    MiB,
    NewsContent,
    PublishItem,
    ReturnItem,
    ReviseItem,
    TakeDownItem,
    UnpublishItem,
    decide,
    evolve,
    initial_item,
    review,
)
from exhibitors.domain.values import Actor
from fairline_events.blobs import (
    BlobRef,
    FileTooLarge,
    LocalDiskBlobStore,
    UnsupportedMediaType,
    sniff,
)
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent
from pydantic import ValidationError

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"x" * 100


def ref(content_type: str, size: int = 1000) -> BlobRef:
    return BlobRef(sha256="a" * 64, size=size, content_type=content_type)


NEWS = NewsContent(title="Huawei at CIFTIS", body="Our AI computing centre, live.")
DRAFTED = BoothItemDrafted(item_id="i1", company_id="co-1", content=NEWS)


def item(*events: DomainEvent) -> BoothItem:
    return reduce(evolve, events, initial_item("i1"))


def test_an_item_is_drafted_published_unpublished_and_published_again() -> None:
    assert decide(DraftItem(item_id="i1", company_id="co-1", content=NEWS), item()) == [DRAFTED]
    published = decide(PublishItem(item_id="i1"), item(DRAFTED))
    assert published == [
        BoothItemPublished(item_id="i1"),
        BoothItemSubmitted(item_id="i1", revision=1),
    ]
    state = item(DRAFTED, *published)
    with pytest.raises(DomainError) as exc:
        decide(PublishItem(item_id="i1"), state)
    assert exc.value.code == "illegal_transition"
    unpublished = decide(UnpublishItem(item_id="i1"), state)
    assert unpublished == [BoothItemUnpublished(item_id="i1")]
    state = item(DRAFTED, *published, *unpublished)
    assert decide(PublishItem(item_id="i1"), state) == published
    with pytest.raises(DomainError):
        decide(UnpublishItem(item_id="i1"), item(DRAFTED))


MODERATOR = Actor(person="moderator-1", recruiter=True)
PUBLISHED = (
    DRAFTED,
    BoothItemPublished(item_id="i1"),
    BoothItemSubmitted(item_id="i1", revision=1),
)
APPROVED = BoothItemApproved(item_id="i1", revision=1, content=NEWS, moderator="moderator-1")


def test_nothing_is_public_before_the_organiser_approves_it() -> None:
    assert item(*PUBLISHED).public is None and item(*PUBLISHED).review == "pending"
    events = review(
        ApproveItem(item_id="i1", revision=1, asked_by=MODERATOR), item=item(*PUBLISHED)
    )
    assert events == [APPROVED]
    assert item(*PUBLISHED, *events).public == NEWS


def test_only_the_organisers_moderators_review() -> None:
    staff = Actor(person="staff-1")
    for by in (staff, None):
        with pytest.raises(DomainError) as exc:
            review(ApproveItem(item_id="i1", revision=1, asked_by=by), item=item(*PUBLISHED))
        assert exc.value.code == "not_organiser" and exc.value.status == 403


def test_an_edit_waits_for_review_while_the_approved_version_stays_public() -> None:
    edit = NEWS.model_copy(update={"title": "Huawei, day two"})
    events = decide(ReviseItem(item_id="i1", content=edit), item(*PUBLISHED, APPROVED))
    assert events == [
        BoothItemRevised(item_id="i1", content=edit),
        BoothItemSubmitted(item_id="i1", revision=2),
    ]
    state = item(*PUBLISHED, APPROVED, *events)
    assert state.public == NEWS and state.content == edit and state.review == "pending"
    # the moderator approves what they saw: a revision made in between is a 409
    with pytest.raises(Conflict) as exc:
        review(ApproveItem(item_id="i1", revision=1, asked_by=MODERATOR), item=state)
    assert exc.value.code == "revised_since_review"
    returned = review(
        ReturnItem(item_id="i1", revision=2, reason="no prices on the page", asked_by=MODERATOR),
        item=state,
    )
    assert returned == [
        BoothItemReturned(
            item_id="i1", revision=2, moderator="moderator-1", reason="no prices on the page"
        )
    ]
    state = item(*PUBLISHED, APPROVED, *events, *returned)
    assert state.public == NEWS and state.returned_reason == "no prices on the page"
    with pytest.raises(DomainError) as not_pending:
        review(ApproveItem(item_id="i1", revision=2, asked_by=MODERATOR), item=state)
    assert not_pending.value.code == "not_awaiting_review"


def test_a_takedown_hides_at_once_and_a_new_review_brings_it_back() -> None:
    state = item(*PUBLISHED, APPROVED)
    down = review(TakeDownItem(item_id="i1", reason="misleading", asked_by=MODERATOR), item=state)
    assert down == [BoothItemTakenDown(item_id="i1", moderator="moderator-1", reason="misleading")]
    state = item(*PUBLISHED, APPROVED, *down)
    assert state.public is None and state.status == "unpublished"
    assert state.taken_down_reason == "misleading"
    with pytest.raises(DomainError) as exc:
        review(TakeDownItem(item_id="i1", reason="again", asked_by=MODERATOR), item=state)
    assert exc.value.code == "not_public"
    # publishing again is a new submission, not a way around the takedown
    again = decide(PublishItem(item_id="i1"), state)
    assert BoothItemSubmitted(item_id="i1", revision=1) in again
    assert item(*PUBLISHED, APPROVED, *down, *again).public is None


def test_unpublishing_hides_and_republishing_an_approved_revision_needs_no_new_review() -> None:
    state = item(*PUBLISHED, APPROVED, BoothItemUnpublished(item_id="i1"))
    assert state.public is None
    assert decide(PublishItem(item_id="i1"), state) == [BoothItemPublished(item_id="i1")]


def test_revisions_keep_the_kind_and_skip_no_ops() -> None:
    assert decide(ReviseItem(item_id="i1", content=NEWS), item(DRAFTED)) == []
    other = NEWS.model_copy(update={"title": "Huawei, day two"})
    assert decide(ReviseItem(item_id="i1", content=other), item(DRAFTED))
    image = ImageContent(title="booth", file=ref("image/png"))
    with pytest.raises(DomainError) as exc:
        decide(ReviseItem(item_id="i1", content=image), item(DRAFTED))
    assert exc.value.code == "kind_mismatch"
    with pytest.raises(NotFound):
        decide(PublishItem(item_id="i1"), item())
    with pytest.raises(Conflict):
        decide(DraftItem(item_id="i1", company_id="co-1", content=NEWS), item(DRAFTED))


def test_files_must_fit_their_kind() -> None:
    with pytest.raises(UnsupportedMediaType) as exc:
        decide(
            DraftItem(
                item_id="i1",
                company_id="co-1",
                content=ImageContent(title="brochure", file=ref("application/pdf")),
            ),
            item(),
        )
    assert exc.value.status == 415
    with pytest.raises(FileTooLarge) as too_large:
        decide(
            DraftItem(
                item_id="i1",
                company_id="co-1",
                content=ImageContent(title="huge", file=ref("image/png", 6 * MiB)),
            ),
            item(),
        )
    assert too_large.value.status == 413 and too_large.value.code == "file_too_large"
    fine = DocumentContent(title="brochure", file=ref("application/pdf", 19 * MiB))
    assert decide(DraftItem(item_id="i1", company_id="co-1", content=fine), item())


def test_activities_are_scheduled_and_online_ones_have_a_link() -> None:
    start = datetime(2021, 9, 3, 10, tzinfo=UTC)
    ActivityContent(
        title="launch", starts_at=start, ends_at=start + timedelta(hours=1), where="booth"
    )
    with pytest.raises(ValidationError, match="ends after"):
        ActivityContent(title="launch", starts_at=start, ends_at=start, where="booth")
    with pytest.raises(ValidationError, match="link"):
        ActivityContent(
            title="webinar", starts_at=start, ends_at=start + timedelta(hours=1), where="online"
        )


def test_types_are_read_from_the_bytes() -> None:
    assert sniff(PNG) == "image/png"
    assert sniff(PDF) == "application/pdf"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"hello") is None
    assert UPLOADS.accept(PNG, "image/png") == "image/png"
    assert UPLOADS.accept(PDF, None) == "application/pdf"
    with pytest.raises(UnsupportedMediaType, match="not image/png"):
        UPLOADS.accept(PDF, "image/png")
    with pytest.raises(UnsupportedMediaType):
        UPLOADS.accept(b"MZ\x90\x00 an executable", "application/octet-stream")
    with pytest.raises(FileTooLarge):
        POLICIES["logo"].accept(PNG + b"\x00" * (2 * MiB))


def files_under(path: Path) -> int:
    return len([p for p in path.rglob("*") if p.is_file()])


async def test_the_local_store_keeps_one_copy_per_content(tmp_path: Path) -> None:
    store = LocalDiskBlobStore(tmp_path)
    first = await store.put(PNG, "image/png")
    again = await store.put(PNG, "image/png")
    assert first == again and first.sha256 == hashlib.sha256(PNG).hexdigest()
    assert await store.read(first.sha256) == PNG
    assert await store.stat(first.sha256) == first
    assert await store.stat("f" * 64) is None
    assert await store.stat("../../etc/passwd") is None
    with pytest.raises(NotFound):
        await store.read("0" * 64)
    assert files_under(tmp_path) == 2  # the bytes and their type


def test_an_item_names_only_files_its_company_uploaded() -> None:
    from exhibitors.domain.booth import CompanyFiles, require_own_files

    mine = BlobRef(sha256="b" * 64, size=10, content_type="image/png")
    theirs = BlobRef(sha256="c" * 64, size=10, content_type="image/png")
    files = CompanyFiles("co-1", {mine.sha256: mine})
    require_own_files(ImageContent(title="ours", file=mine), files)
    require_own_files(NEWS, files)
    for ref_ in (theirs, mine.model_copy(update={"size": 11})):
        with pytest.raises(NotFound) as exc:
            require_own_files(ImageContent(title="x", file=ref_), files)
        assert exc.value.code == "file_not_found"


def test_downloads_are_recorded_once_per_visitor_and_limited_per_hour() -> None:
    from exhibitors.domain.booth import (
        DOWNLOAD,
        DOWNLOADS_PER_HOUR,
        WINDOW,
        DownloadsLimited,
        RecordDownload,
        download_id,
        initial_download,
        record_download,
    )
    from exhibitors.domain.company import Company

    company = Company(company_id="co-1", registered=True, staff=frozenset({"staff-1"}))
    did = download_id("i1", "visitor-1")
    assert did == download_id("i1", "visitor-1") != download_id("i2", "visitor-1")
    command = RecordDownload(
        download_id=did,
        company_id="co-1",
        item_id="i1",
        person="visitor-1",
        asked_by=Actor(person="visitor-1"),
    )
    now = datetime(2031, 9, 3, 10, tzinfo=UTC)
    first = record_download(
        command,
        download=initial_download(did),
        window=WINDOW.initial(WINDOW.stream("visitor-1")),
        company=company,
        now=now,
    )
    assert [type(e).__name__ for e in first[DOWNLOAD.stream(did)]] == ["DocumentDownloaded"]
    download = DOWNLOAD.after(initial_download(did), first[DOWNLOAD.stream(did)])
    window = WINDOW.after(
        WINDOW.initial(WINDOW.stream("visitor-1")), first[WINDOW.stream("visitor-1")]
    )
    for n in range(1, DOWNLOADS_PER_HOUR):
        again = record_download(
            command,
            download=download,
            window=window,
            company=company,
            now=now + timedelta(seconds=n),
        )
        assert again[DOWNLOAD.stream(did)] == []  # no second record, no new stream
        window = WINDOW.after(window, again[WINDOW.stream("visitor-1")])
    with pytest.raises(DownloadsLimited):
        record_download(command, download=download, window=window, company=company, now=now)
    later = now + timedelta(hours=1, seconds=1)
    assert record_download(command, download=download, window=window, company=company, now=later)
    staff = command.model_copy(update={"asked_by": Actor(person="staff-1")})
    assert record_download(staff, download=download, window=window, company=company, now=now) == {}
