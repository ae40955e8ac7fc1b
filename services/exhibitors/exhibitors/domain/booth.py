"""The online booth page (展台): an exhibitor's face all year, long after the fair closes.

Its items: the profile, exhibitor news (展商新闻), gallery images (图片集), downloadable
documents (资料下载), booth activities (展台活动, scheduled online or at the booth) and
posters (展台海报). Each item is its own stream (`booth-item-<id>`; the profile's id is
fixed per company) and is drafted, then published, unpublished, published again; it may be
revised at any time. Files are named by content hash (see fairline_events.blobs) and must
fit their kind: type and size limits per kind.

Moderation (在线布展审核): nothing reaches the public before the organiser has seen it. Each
revision of an item's content is numbered; publishing (or revising a published item)
submits the current revision for review, and the organiser approves that revision or
returns it with a reason. The public sees the last approved revision while the item is
published, so an edit stays private until approved and the approved version stays visible
meanwhile. A takedown hides the item at once (it becomes unpublished and its approval is
withdrawn), recording who and why; it goes public again only through a new review. An
approval names the revision the moderator saw: a revision made in between is a 409.

A file is usable only by the company that uploaded it: each upload is recorded on the
company's `company-files-<company>` stream, and an item may name only the company's own
files. A hash the company never uploaded is "not found", whether or not another company
has it, so the answer tells nothing about other companies' files.

A download of a published document by someone outside the company is recorded once per
visitor and document (`download-<id>`, the id derived from both: it may become a lead) and
counted in the visitor's own window (`downloads-<person>`), which limits how many documents
a visitor downloads per hour (429).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Annotated, ClassVar, Literal, assert_never

from fairline_events.blobs import BlobPolicy, BlobRef
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .aggregate import Aggregate, Decision
from .company import Company, require_staff
from .events import registry
from .values import Asked, Identifier, Name, Note, Sector, Text

MiB = 1024 * 1024
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)
POLICIES = {
    "logo": BlobPolicy("a logo", 2 * MiB, IMAGE_TYPES),
    "image": BlobPolicy("a gallery image", 5 * MiB, IMAGE_TYPES),
    "poster": BlobPolicy("a poster", 10 * MiB, IMAGE_TYPES),
    "document": BlobPolicy("a document", 20 * MiB, DOCUMENT_TYPES),
}
UPLOADS = BlobPolicy.union("an upload", POLICIES.values())
"""What the upload endpoint takes at all; each item kind then checks its own limits."""

LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S+$", max_length=500)
]

ItemKind = Literal["profile", "news", "image", "document", "activity", "poster", "service"]
ItemStatus = Literal["new", "draft", "published", "unpublished"]
Review = Literal["none", "pending", "approved", "returned"]
"""Where the current revision stands with the organiser's moderators."""


class _Content(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProfileContent(_Content):
    kind: Literal["profile"] = "profile"
    introduction: LongText
    introduction_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)] = ""
    website: Url | None = None
    logo: BlobRef | None = None


class NewsContent(_Content):
    kind: Literal["news"] = "news"
    title: Name
    body: LongText


class ImageContent(_Content):
    kind: Literal["image"] = "image"
    title: Name
    caption: Note = ""
    file: BlobRef


class DocumentContent(_Content):
    kind: Literal["document"] = "document"
    title: Name
    description: Note = ""
    file: BlobRef


class ActivityContent(_Content):
    """A booth activity: a launch, a live demo, a talk, online or at the booth."""

    kind: Literal["activity"] = "activity"
    title: Name
    description: Note = ""
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    where: Literal["online", "booth"]
    link: Url | None = None
    """Where to join when online."""

    @model_validator(mode="after")
    def _sensible(self) -> ActivityContent:
        if self.ends_at <= self.starts_at:
            raise ValueError("an activity ends after it starts")
        if self.where == "online" and self.link is None:
            raise ValueError("an online activity needs a link to join")
        return self


class PosterContent(_Content):
    kind: Literal["poster"] = "poster"
    title: Name
    file: BlobRef


class ServiceContent(_Content):
    """A service or product the exhibitor promotes (产品和服务推广), in a services-trade
    sector of the fair's fixed taxonomy, so visitors find it by sector all year."""

    kind: Literal["service"] = "service"
    title: Name
    title_en: Note = ""
    sector: Sector
    description: Note = ""
    description_en: Note = ""
    image: BlobRef | None = None


BoothContent = Annotated[
    ProfileContent
    | NewsContent
    | ImageContent
    | DocumentContent
    | ActivityContent
    | PosterContent
    | ServiceContent,
    Field(discriminator="kind"),
]


def files_of(content: BoothContent) -> Iterator[BlobRef]:
    """The files an item's content names."""
    for name in ("file", "logo", "image"):
        ref = getattr(content, name, None)
        if isinstance(ref, BlobRef):
            yield ref


def profile_item_id(company_id: str) -> str:
    return f"profile-{company_id}"


def check_files(content: BoothContent) -> None:
    """Each file fits its kind (413 too large, 415 wrong type)."""
    match content:
        case ImageContent() | DocumentContent() | PosterContent():
            POLICIES[content.kind].check(content.file)
        case ProfileContent(logo=logo) if logo is not None:
            POLICIES["logo"].check(logo)
        case ServiceContent(image=image) if image is not None:
            POLICIES["image"].check(image)
        case _:
            pass


# --- commands ------------------------------------------------------------------------------


class ItemCommand(Asked):
    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: Identifier


class DraftItem(ItemCommand):
    company_id: Identifier
    content: BoothContent


class ReviseItem(ItemCommand):
    content: BoothContent


class PublishItem(ItemCommand):
    pass


class UnpublishItem(ItemCommand):
    pass


class ApproveItem(ItemCommand):
    """The organiser lets the revision it reviewed go public."""

    revision: int = Field(ge=1, le=2**31 - 1)


class ReturnItem(ItemCommand):
    """The organiser sends the revision back to the company with a reason."""

    revision: int = Field(ge=1, le=2**31 - 1)
    reason: Text


class TakeDownItem(ItemCommand):
    """The organiser hides a public item at once."""

    reason: Text


ModerationCommand = ApproveItem | ReturnItem | TakeDownItem
ItemCommandType = DraftItem | ReviseItem | PublishItem | UnpublishItem | ModerationCommand


class SaveProfile(Asked):
    """Write the booth's profile: drafted the first time, revised after."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company_id: Identifier
    content: BoothContent


class RecordUpload(Asked):
    model_config = ConfigDict(frozen=True, extra="forbid")

    company_id: Identifier
    file: BlobRef


class RecordDownload(Asked):
    model_config = ConfigDict(frozen=True, extra="forbid")

    download_id: Identifier
    company_id: Identifier
    item_id: Identifier
    person: Identifier


# --- events --------------------------------------------------------------------------------


class ItemEvent(DomainEvent):
    item_id: Identifier


@registry.event("exhibitors.BoothItemDrafted", version=1)
class BoothItemDrafted(ItemEvent):
    company_id: Identifier
    content: BoothContent


@registry.event("exhibitors.BoothItemRevised", version=1)
class BoothItemRevised(ItemEvent):
    content: BoothContent


@registry.event("exhibitors.BoothItemPublished", version=1)
class BoothItemPublished(ItemEvent):
    pass


@registry.event("exhibitors.BoothItemUnpublished", version=1)
class BoothItemUnpublished(ItemEvent):
    pass


@registry.event("exhibitors.BoothItemSubmitted", version=1)
class BoothItemSubmitted(ItemEvent):
    """A revision goes to the organiser's moderators (on publishing, or on revising a
    published item)."""

    revision: int


@registry.event("exhibitors.BoothItemApproved", version=1)
class BoothItemApproved(ItemEvent):
    """The revision the moderator saw is what the public sees while the item is published."""

    revision: int
    content: BoothContent
    moderator: Identifier


@registry.event("exhibitors.BoothItemReturned", version=1)
class BoothItemReturned(ItemEvent):
    revision: int
    moderator: Identifier
    reason: Text


@registry.event("exhibitors.BoothItemTakenDown", version=1)
class BoothItemTakenDown(ItemEvent):
    moderator: Identifier
    reason: Text


@registry.event("exhibitors.FileUploaded", version=1)
class FileUploaded(DomainEvent):
    """A company uploaded a file: from now on its items may name it."""

    company_id: Identifier
    file: BlobRef


@registry.event("exhibitors.DownloadCounted", version=1)
class DownloadCounted(DomainEvent):
    """A visitor downloaded a document, counted in the visitor's hourly window."""

    person: Identifier
    item_id: Identifier
    at: AwareDatetime


@registry.event("exhibitors.DocumentDownloaded", version=1)
class DocumentDownloaded(DomainEvent):
    download_id: Identifier
    company_id: Identifier
    item_id: Identifier
    person: Identifier


# --- an item -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoothItem:
    item_id: str
    status: ItemStatus = "new"
    company_id: str | None = None
    content: BoothContent | None = None
    """The company's working copy (its latest revision)."""
    revision: int = 0
    review: Review = "none"
    approved: BoothContent | None = None
    """The revision the organiser last approved: public while the item is published."""
    approved_revision: int = 0
    returned_reason: str | None = None
    taken_down_reason: str | None = None

    @property
    def public(self) -> BoothContent | None:
        """What a visitor sees of this item: nothing unless published and approved."""
        return self.approved if self.status == "published" else None


def initial_item(item_id: str) -> BoothItem:
    return BoothItem(item_id=item_id)


def decide(command: ItemCommandType, state: BoothItem) -> list[DomainEvent]:
    iid = state.item_id
    if isinstance(command, DraftItem):
        if state.status != "new":
            raise Conflict(f"booth item {iid} exists already; revise it", code="item_exists")
        check_files(command.content)
        return [
            BoothItemDrafted(item_id=iid, company_id=command.company_id, content=command.content)
        ]
    if state.status == "new" or state.content is None:
        raise NotFound(f"booth item {iid} not found", code="item_not_found")
    match command:
        case ReviseItem(content=content):
            if content.kind != state.content.kind:
                raise DomainError(
                    f"booth item {iid} is a {state.content.kind}, not a {content.kind}",
                    code="kind_mismatch",
                )
            if content == state.content:
                return []
            check_files(content)
            revised: list[DomainEvent] = [BoothItemRevised(item_id=iid, content=content)]
            if state.status == "published":  # the edit waits for review; the public keeps
                revised.append(BoothItemSubmitted(item_id=iid, revision=state.revision + 1))
            return revised
        case PublishItem():
            _require(state, ("draft", "unpublished"), "publish")
            publish: list[DomainEvent] = [BoothItemPublished(item_id=iid)]
            if state.approved_revision != state.revision:  # not seen by a moderator yet
                publish.append(BoothItemSubmitted(item_id=iid, revision=state.revision))
            return publish
        case UnpublishItem():
            _require(state, ("published",), "unpublish")
            return [BoothItemUnpublished(item_id=iid)]
        case ApproveItem() | ReturnItem() | TakeDownItem():
            return moderate(command, state)
        case _:
            assert_never(command)


def moderate(command: ModerationCommand, state: BoothItem) -> list[DomainEvent]:
    """The organiser's review of one item (the caller has checked who asks)."""
    iid = state.item_id
    moderator = command.asked_by.person if command.asked_by is not None else "organiser"
    if isinstance(command, TakeDownItem):
        if state.public is None:
            raise DomainError(
                f"booth item {iid} is not public; nothing to take down", code="not_public"
            )
        return [BoothItemTakenDown(item_id=iid, moderator=moderator, reason=command.reason)]
    if state.review != "pending":
        raise DomainError(
            f"booth item {iid} awaits no review (it is {state.review})",
            code="not_awaiting_review",
        )
    if command.revision != state.revision:
        raise Conflict(
            f"booth item {iid} was revised since revision {command.revision}: review"
            f" revision {state.revision}",
            code="revised_since_review",
            revision=state.revision,
        )
    assert state.content is not None
    if isinstance(command, ApproveItem):
        return [
            BoothItemApproved(
                item_id=iid, revision=state.revision, content=state.content, moderator=moderator
            )
        ]
    return [
        BoothItemReturned(
            item_id=iid, revision=state.revision, moderator=moderator, reason=command.reason
        )
    ]


def evolve(state: BoothItem, event: DomainEvent) -> BoothItem:
    match event:
        case BoothItemDrafted():
            return replace(
                state,
                status="draft",
                company_id=event.company_id,
                content=event.content,
                revision=1,
            )
        case BoothItemRevised():
            return replace(state, content=event.content, revision=state.revision + 1, review="none")
        case BoothItemPublished():
            return replace(state, status="published")
        case BoothItemUnpublished():
            return replace(state, status="unpublished")
        case BoothItemSubmitted():
            return replace(state, review="pending", returned_reason=None)
        case BoothItemApproved():
            return replace(
                state,
                review="approved",
                approved=event.content,
                approved_revision=event.revision,
                taken_down_reason=None,
            )
        case BoothItemReturned():
            return replace(state, review="returned", returned_reason=event.reason)
        case BoothItemTakenDown():
            return replace(
                state,
                status="unpublished",
                review="none",
                approved=None,
                approved_revision=0,
                taken_down_reason=event.reason,
            )
        case _:
            return state


ITEM: Aggregate[BoothItem] = Aggregate("booth-item-", initial_item, evolve)

EDITS = "edit its booth"


def draft(
    command: DraftItem, *, item: BoothItem, company: Company, files: CompanyFiles
) -> list[DomainEvent]:
    """Only the company's staff (or the recruitment team) draft its booth's items, with the
    company's own files."""
    require_staff(company, command.asked_by, EDITS)
    require_own_files(command.content, files)
    return decide(command, item)


def change(
    command: ReviseItem | PublishItem | UnpublishItem,
    *,
    item: BoothItem,
    company: Company | None,
    files: CompanyFiles | None = None,
) -> list[DomainEvent]:
    """Revise, publish or unpublish an item of a company whose staff asks."""
    if item.company_id is None or company is None:
        raise NotFound(f"booth item {item.item_id} not found", code="item_not_found")
    require_staff(company, command.asked_by, EDITS)
    if isinstance(command, ReviseItem):
        require_own_files(command.content, files or CompanyFiles(item.company_id))
    return decide(command, item)


def review(command: ModerationCommand, *, item: BoothItem) -> list[DomainEvent]:
    """Approve, return or take down: the organiser's moderators only."""
    if command.asked_by is None or not command.asked_by.recruiter:
        raise Forbidden("only the organiser's moderators review booth items", code="not_organiser")
    if item.company_id is None:
        raise NotFound(f"booth item {item.item_id} not found", code="item_not_found")
    return decide(command, item)


def save_profile(
    command: SaveProfile, *, item: BoothItem, company: Company, files: CompanyFiles
) -> list[DomainEvent]:
    require_staff(company, command.asked_by, EDITS)
    require_own_files(command.content, files)
    if item.status == "new":
        return decide(
            DraftItem(item_id=item.item_id, company_id=command.company_id, content=command.content),
            item,
        )
    return decide(ReviseItem(item_id=item.item_id, content=command.content), item)


def _require(state: BoothItem, allowed: tuple[ItemStatus, ...], action: str) -> None:
    if state.status not in allowed:
        raise DomainError(
            f"cannot {action} booth item {state.item_id}: it is {state.status}",
            code="illegal_transition",
            **{"from": state.status, "command": action},
        )


# --- a company's files -----------------------------------------------------------------------


@dataclass(frozen=True)
class CompanyFiles:
    company_id: str
    files: Mapping[str, BlobRef] = field(default_factory=dict)
    """By content hash: what the company uploaded."""


def initial_files(company_id: str) -> CompanyFiles:
    return CompanyFiles(company_id=company_id)


def evolve_files(state: CompanyFiles, event: DomainEvent) -> CompanyFiles:
    if isinstance(event, FileUploaded):
        return replace(state, files={**state.files, event.file.sha256: event.file})
    return state


FILES: Aggregate[CompanyFiles] = Aggregate("company-files-", initial_files, evolve_files)


def record_upload(
    command: RecordUpload, *, files: CompanyFiles, company: Company
) -> list[DomainEvent]:
    """The company's staff uploaded a file; uploading the same bytes again changes nothing."""
    require_staff(company, command.asked_by, "upload its files")
    if command.file.sha256 in files.files:
        return []
    return [FileUploaded(company_id=command.company_id, file=command.file)]


def require_own_files(content: BoothContent, files: CompanyFiles) -> None:
    """Every file the content names was uploaded by the company itself; any other hash is
    not found, exactly as a hash nobody uploaded (nothing leaks about other companies)."""
    for ref in files_of(content):
        if files.files.get(ref.sha256) != ref:
            raise NotFound(f"file {ref.sha256} not found; upload it first", code="file_not_found")


# --- a download ----------------------------------------------------------------------------

DOWNLOADS_PER_HOUR = 30
"""Documents a visitor may download in any hour (a repeat counts too)."""


class DownloadsLimited(DomainError):
    status = 429
    code = "rate_limited"
    headers: ClassVar[Mapping[str, str]] = {"Retry-After": "60"}


def download_id(item_id: str, person: str) -> str:
    """One download record per visitor and document, however often they download it."""
    return "dl-" + hashlib.sha256(f"{item_id}\x1f{person}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Download:
    download_id: str
    company_id: str | None = None
    item_id: str | None = None
    person: str | None = None


def initial_download(download_id: str) -> Download:
    return Download(download_id=download_id)


def decide_download(command: RecordDownload, state: Download) -> list[DomainEvent]:
    if state.person is not None:
        raise Conflict(f"download {state.download_id} is recorded already", code="download_exists")
    return [DocumentDownloaded(**command.model_dump())]


def evolve_download(state: Download, event: DomainEvent) -> Download:
    if isinstance(event, DocumentDownloaded):
        return replace(
            state, company_id=event.company_id, item_id=event.item_id, person=event.person
        )
    return state


DOWNLOAD: Aggregate[Download] = Aggregate("download-", initial_download, evolve_download)


@dataclass(frozen=True)
class DownloadWindow:
    person: str
    recent: tuple[datetime, ...] = ()
    """The latest downloads' times, oldest first (as many as the limit needs)."""


def initial_window(person: str) -> DownloadWindow:
    return DownloadWindow(person=person)


def evolve_window(state: DownloadWindow, event: DomainEvent) -> DownloadWindow:
    if isinstance(event, DownloadCounted):
        return replace(state, recent=(*state.recent, event.at)[-DOWNLOADS_PER_HOUR:])
    return state


WINDOW: Aggregate[DownloadWindow] = Aggregate("downloads-", initial_window, evolve_window)


def record_download(
    command: RecordDownload,
    *,
    download: Download,
    window: DownloadWindow,
    company: Company,
    now: datetime,
) -> Decision:
    """A document downloaded by someone outside the company: counted in the visitor's window
    (at most DOWNLOADS_PER_HOUR an hour, else 429), recorded once per visitor and document
    (a lead source). The company's own staff and the recruitment team download untraced."""
    by = command.asked_by
    if by is not None and (company.is_staff(by.person) or by.recruiter):
        return {}
    in_window = [t for t in window.recent if t > now - timedelta(hours=1)]
    if len(in_window) >= DOWNLOADS_PER_HOUR:
        raise DownloadsLimited(
            f"at most {DOWNLOADS_PER_HOUR} downloads an hour; try again later",
            limit=DOWNLOADS_PER_HOUR,
        )
    counted = DownloadCounted(person=command.person, item_id=command.item_id, at=now)
    first: list[DomainEvent] = (
        [] if download.person is not None else decide_download(command, download)
    )
    return {
        WINDOW.stream(command.person): [counted],
        DOWNLOAD.stream(command.download_id): first,
    }
