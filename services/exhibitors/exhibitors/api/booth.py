"""The online booth page: files, items (drafted, published, unpublished), the public page.

Files are uploaded as the raw request body (`Content-Type` says what it is; the bytes must
agree) and named by their SHA-256; items then refer to them by that hash.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fairline_events.api import ErrorBody
from fairline_events.auth import Principal
from fairline_events.blobs import BlobRef, BlobStore, FileTooLarge, blob_store
from fairline_events.context import CommandContext
from fairline_events.dependencies import Body, Pool, Store, new_id
from fairline_events.errors import Forbidden, NotFound
from fairline_events.store import EventStore
from fairline_events.transact import Outcome
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from .. import handlers
from ..domain.booth import (
    FILES,
    ITEM,
    UPLOADS,
    ApproveItem,
    BoothContent,
    BoothItem,
    DraftItem,
    ItemKind,
    LongText,
    PublishItem,
    RecordDownload,
    RecordUpload,
    ReturnItem,
    Review,
    ReviseItem,
    SaveProfile,
    TakeDownItem,
    UnpublishItem,
    Url,
    download_id,
    profile_item_id,
)
from ..domain.company import COMPANY
from ..domain.values import Name, Note, Sector, Text
from ..projections import showcase
from .activities import (
    ForumActivityOut,
    StaffForumActivity,
    by_start,
    published_activities,
    staff_activities,
)
from .common import (
    Anyone,
    AsAnyone,
    AsExhibitor,
    AsRecruiter,
    Exhibitor,
    Recruiter,
    actor,
    known,
    read,
)

router = APIRouter(tags=["booth page"])

FILE_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "the file is larger than its use allows"},
    415: {"model": ErrorBody, "description": "the file's type is not one its use accepts"},
}

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


async def blobs_of(request: Request) -> BlobStore:
    """The service's blob store: `app.state.blobs`, else the configured one (by default in
    the service's PostgreSQL, shared by every replica: fairline_events.blobs.blob_store)."""
    state = request.app.state
    store: BlobStore | None = getattr(state, "blobs", None)
    if store is None:
        store = blob_store(state.runtime.pool)
        state.blobs = store
    return store


Blobs = Annotated[BlobStore, Depends(blobs_of)]


# --- what clients send: files by hash ------------------------------------------------------


class ProfileIn(Body):
    kind: Literal["profile"] = "profile"
    introduction: LongText
    introduction_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)] = ""
    website: Url | None = None
    logo: Sha256 | None = None


class NewsIn(Body):
    kind: Literal["news"]
    title: Name
    body: LongText


class ImageIn(Body):
    kind: Literal["image"]
    title: Name
    caption: Note = ""
    file: Sha256


class DocumentIn(Body):
    kind: Literal["document"]
    title: Name
    description: Note = ""
    file: Sha256


class ActivityIn(Body):
    kind: Literal["activity"]
    title: Name
    description: Note = ""
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    where: Literal["online", "booth"]
    link: Url | None = None


class PosterIn(Body):
    kind: Literal["poster"]
    title: Name
    file: Sha256


class ServiceIn(Body):
    kind: Literal["service"]
    title: Name
    title_en: Note = ""
    sector: Sector
    description: Note = ""
    description_en: Note = ""
    image: Sha256 | None = None


ContentIn = Annotated[
    NewsIn | ImageIn | DocumentIn | ActivityIn | PosterIn | ProfileIn | ServiceIn,
    Field(discriminator="kind"),
]


class NewItem(Body):
    content: ContentIn


class ItemView(BaseModel):
    """An item as its company's staff and the organiser see it; a visitor sees only the
    approved revision (`content` is then that revision, the review fields empty)."""

    item_id: str
    company_id: str | None
    status: str
    content: BoothContent | None
    version: int
    revision: int = 0
    review: Review = "none"
    approved_revision: int | None = None
    public: bool = False
    returned_reason: str | None = None
    taken_down_reason: str | None = None


class PageItem(BaseModel):
    item_id: str
    kind: str
    content: dict[str, Any]
    published_at: datetime | None
    updated_at: datetime


class BoothPage(BaseModel):
    company_id: str
    profile: PageItem | None
    news: list[PageItem]
    images: list[PageItem]
    documents: list[PageItem]
    activities: list[PageItem | ForumActivityOut]
    """The booth's own activities and the company's published launches and forums."""
    posters: list[PageItem]


class StaffItem(PageItem):
    status: str
    revision: int
    review: str
    public: bool
    moderated_by: str | None
    moderation_reason: str | None
    """Why the organiser returned the revision or took the item down."""


class ReviewEntry(BaseModel):
    item_id: str
    company_id: str
    kind: str
    revision: int
    content: dict[str, Any]
    public_content: dict[str, Any] | None
    """What the public sees now (an edit under review leaves it in place)."""
    submitted_at: datetime | None


class Approval(Body):
    revision: int = Field(ge=1, le=2**31 - 1, description="the revision the moderator saw")


class Return(Body):
    revision: int = Field(ge=1, le=2**31 - 1)
    reason: Text


class TakeDown(Body):
    reason: Text


async def _resolve(store: EventStore, company_id: str, content: Any) -> BoothContent:
    """The domain's content: each file hash replaced by the description of the file the
    company uploaded. Another company's file is not found, like a hash nobody uploaded."""
    data = content.model_dump()
    files, _ = await read(store, FILES, company_id)
    for field in ("file", "logo", "image"):
        sha = data.get(field)
        if sha is not None:
            ref = files.files.get(sha)
            if ref is None:
                raise NotFound(f"file {sha} not found; upload it first", code="file_not_found")
            data[field] = ref
    try:
        return _CONTENT.validate_python(data)
    except ValidationError as exc:  # a rule of the content the input model does not repeat
        raise RequestValidationError(exc.errors(include_url=False)) from None


_CONTENT: TypeAdapter[BoothContent] = TypeAdapter(BoothContent)


def item_view(state: BoothItem, version: int) -> ItemView:
    return ItemView(
        item_id=state.item_id,
        company_id=state.company_id,
        status=state.status,
        content=state.content,
        version=version,
        revision=state.revision,
        review=state.review,
        approved_revision=state.approved_revision or None,
        public=state.public is not None,
        returned_reason=state.returned_reason,
        taken_down_reason=state.taken_down_reason,
    )


def public_view(state: BoothItem, version: int) -> ItemView:
    """What a visitor may see of an item: its approved revision, nothing of its review."""
    return ItemView(
        item_id=state.item_id,
        company_id=state.company_id,
        status=state.status,
        content=state.public,
        version=version,
        public=True,
    )


def changed_item(outcome: Outcome, item_id: str) -> ItemView:
    stream = ITEM.stream(item_id)
    return item_view(outcome.state(stream, BoothItem), outcome.versions[stream])


async def _is_staff(store: EventStore, company_id: str, who: Principal) -> bool:
    company, _ = await read(store, COMPANY, company_id)
    return company.is_staff(who.subject) or who.has_any(("recruitment",))


# --- files ---------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        UPLOADS.check_size(int(declared))
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise FileTooLarge(f"an upload has at most {limit} bytes", max_bytes=limit)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/companies/{company_id}/files",
    status_code=201,
    summary="upload a file for the booth page (raw body; 413 too large, 415 wrong type)",
    responses=FILE_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in sorted(UPLOADS.types)
            },
        }
    },
)
async def upload(
    company_id: str,
    request: Request,
    acting: AsExhibitor,
    blobs: Blobs,
) -> BlobRef:
    company_id = known(company_id, "company", "company_not_found")
    if not await _is_staff(acting.store, company_id, acting.who):
        raise Forbidden(
            f"only the staff of {company_id} upload its files", code="not_company_staff"
        )
    data = await _read_body(request, UPLOADS.max_bytes)
    content_type = UPLOADS.accept(data, request.headers.get("content-type"))
    ref = await blobs.put(data, content_type)
    # the company may now name the file in its items (and only it: see booth.require_own_files)
    command = RecordUpload(company_id=company_id, file=ref, asked_by=actor(acting.who))
    await handlers.record_upload(acting.store, command, acting.context)
    return ref


# --- items ---------------------------------------------------------------------------------


@router.post(
    "/companies/{company_id}/booth/items",
    status_code=201,
    summary="draft a booth item",
    responses=FILE_ERRORS,
)
async def draft_item(
    company_id: str,
    body: NewItem,
    acting: AsExhibitor,
    response: Response,
) -> ItemView:
    company_id = known(company_id, "company", "company_not_found")
    content = await _resolve(acting.store, company_id, body.content)
    item_id = profile_item_id(company_id) if content.kind == "profile" else new_id("item")
    command = DraftItem(
        item_id=item_id, company_id=company_id, content=content, asked_by=actor(acting.who)
    )
    outcome = await handlers.draft_item(acting.store, command, acting.context)
    response.headers["Location"] = f"/booth-items/{item_id}"
    return changed_item(outcome, item_id)


def _item(item_id: str) -> str:
    return known(item_id, "booth item", "item_not_found")


async def _on_item(
    store: EventStore, command: ReviseItem | PublishItem | UnpublishItem, context: CommandContext
) -> ItemView:
    return changed_item(await handlers.change_item(store, command, context), command.item_id)


@router.put(
    "/booth-items/{item_id}",
    summary="revise an item (a published one changes in place)",
    responses=FILE_ERRORS,
)
async def revise_item(item_id: str, body: NewItem, acting: AsExhibitor) -> ItemView:
    state, _ = await read(acting.store, ITEM, _item(item_id))
    if state.company_id is None:
        raise NotFound(f"booth item {item_id} not found", code="item_not_found")
    content = await _resolve(acting.store, state.company_id, body.content)
    command = ReviseItem(item_id=item_id, content=content, asked_by=actor(acting.who))
    return await _on_item(acting.store, command, acting.context)


@router.post("/booth-items/{item_id}/publish", summary="publish on the booth page")
async def publish_item(item_id: str, acting: AsExhibitor) -> ItemView:
    return await _on_item(
        acting.store,
        PublishItem(item_id=_item(item_id), asked_by=actor(acting.who)),
        acting.context,
    )


@router.post("/booth-items/{item_id}/unpublish", summary="take off the booth page")
async def unpublish_item(item_id: str, acting: AsExhibitor) -> ItemView:
    return await _on_item(
        acting.store,
        UnpublishItem(item_id=_item(item_id), asked_by=actor(acting.who)),
        acting.context,
    )


async def _visible_item(
    store: EventStore, item_id: str, who: Principal
) -> tuple[BoothItem, int, bool]:
    """The item, its version and whether the caller sees it whole (its staff, the organiser);
    anyone else sees only an approved, published revision."""
    state, version = await read(store, ITEM, item_id)
    if state.company_id is None:
        raise NotFound(f"booth item {item_id} not found", code="item_not_found")
    whole = await _is_staff(store, state.company_id, who)
    if not whole and state.public is None:
        raise NotFound(f"booth item {item_id} not found", code="item_not_found")
    return state, version, whole


@router.get(
    "/booth-items/{item_id}",
    summary="an item: its approved revision for all, the working copy for staff and organiser",
)
async def get_item(item_id: str, who: Anyone, store: Store) -> ItemView:
    state, version, whole = await _visible_item(store, item_id, who)
    return item_view(state, version) if whole else public_view(state, version)


@router.get(
    "/booth-items/{item_id}/file",
    summary="the item's file; a visitor's download of a document is recorded (a lead source)",
    response_class=Response,
)
async def download(item_id: str, acting: AsAnyone, blobs: Blobs) -> Response:
    state, _, whole = await _visible_item(acting.store, item_id, acting.who)
    content = state.content if whole else state.public
    ref = getattr(content, "file", None) or getattr(content, "logo", None)
    if content is None or not isinstance(ref, BlobRef) or state.company_id is None:
        raise NotFound(f"booth item {item_id} has no file", code="file_not_found")
    data = await blobs.read(ref.sha256)
    headers = {"ETag": f'"{ref.sha256}"'}
    if content.kind == "document":
        headers["Content-Disposition"] = f'attachment; filename="{item_id}"'
        record = RecordDownload(
            download_id=download_id(item_id, acting.who.subject),
            company_id=state.company_id,
            item_id=item_id,
            person=acting.who.subject,
            asked_by=actor(acting.who),
        )
        # counted and recorded only for someone outside the company (booth.record_download);
        # the record is the visitor's one per document, whatever the repeat
        if (await handlers.record_download(acting.store, record, acting.context)).events:
            headers["X-Download-Id"] = record.download_id
    return Response(data, media_type=ref.content_type, headers=headers)


@router.put(
    "/companies/{company_id}/booth/profile",
    summary="write the booth's profile",
    responses=FILE_ERRORS,
)
async def save_profile(company_id: str, body: ProfileIn, acting: AsExhibitor) -> ItemView:
    company_id = known(company_id, "company", "company_not_found")
    content = await _resolve(acting.store, company_id, body)
    command = SaveProfile(company_id=company_id, content=content, asked_by=actor(acting.who))
    outcome = await handlers.save_profile(acting.store, command, acting.context)
    return changed_item(outcome, profile_item_id(company_id))


# --- the page ------------------------------------------------------------------------------


def _page_item(r: Any) -> PageItem:
    return PageItem(
        item_id=r["item_id"],
        kind=r["kind"],
        content=r["content"],
        published_at=r["published_at"],
        updated_at=r["updated_at"],
    )


@router.get(
    "/companies/{company_id}/booth",
    summary="the booth page: what is published and approved by the organiser",
)
async def booth_page(company_id: str, who: Anyone, pool: Pool) -> BoothPage:
    rows = await pool.fetch(
        f"""SELECT item_id, kind, public_content::text AS content, published_at,
                   approved_at AS updated_at
            FROM {showcase.schema}.items
            WHERE company_id = $1 AND status = 'published' AND public_content IS NOT NULL
            ORDER BY starts_at NULLS LAST, published_at DESC""",
        company_id,
    )
    entries = [_page_item({**dict(r), "content": json.loads(r["content"])}) for r in rows]

    def of(kind: str) -> list[PageItem]:
        return [e for e in entries if e.kind == kind]

    profile = of("profile")
    activities: list[PageItem | ForumActivityOut] = [*of("activity")]
    activities += await published_activities(pool, company_id)
    return BoothPage(
        company_id=company_id,
        profile=profile[0] if profile else None,
        news=of("news"),
        images=of("image"),
        documents=of("document"),
        activities=by_start(activities),
        posters=of("poster"),
    )


@router.get(
    "/companies/{company_id}/booth/forums",
    summary="every launch and forum the company organises, with its status, for its staff",
    description=(
        "From the forums service's programme: proposed, approved, rejected, scheduled or "
        "cancelled, with the forums team's reason; `public` says whether the booth page shows "
        "it now (published, not cancelled, not closed-door)."
    ),
)
async def staff_forums(
    company_id: str, who: Exhibitor, store: Store, pool: Pool
) -> list[StaffForumActivity]:
    if not await _is_staff(store, company_id, who):
        raise Forbidden(
            f"only the staff of {company_id} see its forums in preparation",
            code="not_company_staff",
        )
    return await staff_activities(pool, company_id)


@router.get("/companies/{company_id}/booth/items", summary="every item, for the company's staff")
async def staff_items(
    company_id: str,
    who: Exhibitor,
    store: Store,
    pool: Pool,
    status: Literal["draft", "published", "unpublished"] | None = None,
    kind: ItemKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[StaffItem]:
    if not await _is_staff(store, company_id, who):
        raise Forbidden(f"only the staff of {company_id} see its drafts", code="not_company_staff")
    rows = await pool.fetch(
        f"""SELECT item_id, kind, status, content::text AS content, published_at, updated_at,
                   revision, review, public_content IS NOT NULL AND status = 'published'
                   AS public, moderated_by, moderation_reason
            FROM {showcase.schema}.items
            WHERE company_id = $1 AND ($2::text IS NULL OR status = $2)
              AND ($3::text IS NULL OR kind = $3)
            ORDER BY updated_at DESC LIMIT $4""",
        company_id,
        status,
        kind,
        limit,
    )
    return [
        StaffItem(
            **_page_item({**dict(r), "content": json.loads(r["content"])}).model_dump(),
            status=r["status"],
            revision=r["revision"],
            review=r["review"],
            public=r["public"],
            moderated_by=r["moderated_by"],
            moderation_reason=r["moderation_reason"],
        )
        for r in rows
    ]


# --- moderation (在线布展审核) ----------------------------------------------------------------


@router.get(
    "/moderation/booth-items",
    tags=["moderation"],
    summary="revisions awaiting the organiser's review, oldest first",
)
async def review_queue(
    who: Recruiter,
    pool: Pool,
    company_id: str | None = None,
    kind: ItemKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReviewEntry]:
    rows = await pool.fetch(
        f"""SELECT item_id, company_id, kind, revision, content::text AS content,
                   public_content::text AS public_content, submitted_at
            FROM {showcase.schema}.items
            WHERE review = 'pending' AND ($1::text IS NULL OR company_id = $1)
              AND ($2::text IS NULL OR kind = $2)
            ORDER BY submitted_at LIMIT $3""",
        company_id,
        kind,
        limit,
    )
    return [
        ReviewEntry(
            **{
                **dict(r),
                "content": json.loads(r["content"]),
                "public_content": (
                    json.loads(r["public_content"]) if r["public_content"] is not None else None
                ),
            }
        )
        for r in rows
    ]


async def _moderate(
    store: EventStore, command: ApproveItem | ReturnItem | TakeDownItem, context: CommandContext
) -> ItemView:
    outcome = await handlers.review_item(store, command, context)
    return changed_item(outcome, command.item_id)


@router.post(
    "/booth-items/{item_id}/approve",
    tags=["moderation"],
    summary="approve the revision reviewed: it goes public (409 if revised since)",
)
async def approve_item(item_id: str, body: Approval, acting: AsRecruiter) -> ItemView:
    command = ApproveItem(
        item_id=_item(item_id), revision=body.revision, asked_by=actor(acting.who)
    )
    return await _moderate(acting.store, command, acting.context)


@router.post(
    "/booth-items/{item_id}/return",
    tags=["moderation"],
    summary="return the revision to the company with a reason; the public version stays",
)
async def return_item(item_id: str, body: Return, acting: AsRecruiter) -> ItemView:
    command = ReturnItem(
        item_id=_item(item_id),
        revision=body.revision,
        reason=body.reason,
        asked_by=actor(acting.who),
    )
    return await _moderate(acting.store, command, acting.context.because(body.reason))


@router.post(
    "/booth-items/{item_id}/take-down",
    tags=["moderation"],
    summary="hide a public item at once, recording who and why",
)
async def take_down_item(item_id: str, body: TakeDown, acting: AsRecruiter) -> ItemView:
    command = TakeDownItem(item_id=_item(item_id), reason=body.reason, asked_by=actor(acting.who))
    return await _moderate(acting.store, command, acting.context.because(body.reason))
