"""The online booth page (展台): an exhibitor's face all year, long after the fair closes.

Its items: the profile, exhibitor news (展商新闻), gallery images (图片集), downloadable
documents (资料下载), booth activities (展台活动, scheduled online or at the booth) and
posters (展台海报). Each item is its own stream (`booth-item-<id>`; the profile's id is
fixed per company) and is drafted, then published, unpublished, published again; it may be
revised at any time, a published one in place. Files are named by content hash (see
fairline_events.blobs) and must fit their kind: type and size limits per kind.

A download of a published document by someone outside the company is recorded
(`download-<id>`, one stream each): it may become a lead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Literal, assert_never

from fairline_events.blobs import BlobPolicy, BlobRef
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .aggregate import Aggregate
from .company import Company, require_staff
from .events import registry
from .values import Asked, Identifier, Name, Note

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

ItemKind = Literal["profile", "news", "image", "document", "activity", "poster"]
ItemStatus = Literal["new", "draft", "published", "unpublished"]


class _Content(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProfileContent(_Content):
    kind: Literal["profile"] = "profile"
    introduction: LongText
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


BoothContent = Annotated[
    ProfileContent | NewsContent | ImageContent | DocumentContent | ActivityContent | PosterContent,
    Field(discriminator="kind"),
]


def profile_item_id(company_id: str) -> str:
    return f"profile-{company_id}"


def check_files(content: BoothContent) -> None:
    """Each file fits its kind (413 too large, 415 wrong type)."""
    match content:
        case ImageContent() | DocumentContent() | PosterContent():
            POLICIES[content.kind].check(content.file)
        case ProfileContent(logo=logo) if logo is not None:
            POLICIES["logo"].check(logo)
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


ItemCommandType = DraftItem | ReviseItem | PublishItem | UnpublishItem


class SaveProfile(Asked):
    """Write the booth's profile: drafted the first time, revised after."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company_id: Identifier
    content: BoothContent


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
            return [BoothItemRevised(item_id=iid, content=content)]
        case PublishItem():
            _require(state, ("draft", "unpublished"), "publish")
            return [BoothItemPublished(item_id=iid)]
        case UnpublishItem():
            _require(state, ("published",), "unpublish")
            return [BoothItemUnpublished(item_id=iid)]
        case _:
            assert_never(command)


def evolve(state: BoothItem, event: DomainEvent) -> BoothItem:
    match event:
        case BoothItemDrafted():
            return replace(
                state, status="draft", company_id=event.company_id, content=event.content
            )
        case BoothItemRevised():
            return replace(state, content=event.content)
        case BoothItemPublished():
            return replace(state, status="published")
        case BoothItemUnpublished():
            return replace(state, status="unpublished")
        case _:
            return state


ITEM: Aggregate[BoothItem] = Aggregate("booth-item-", initial_item, evolve)

EDITS = "edit its booth"


def draft(command: DraftItem, *, item: BoothItem, company: Company) -> list[DomainEvent]:
    """Only the company's staff (or the recruitment team) draft its booth's items."""
    require_staff(company, command.asked_by, EDITS)
    return decide(command, item)


def change(
    command: ReviseItem | PublishItem | UnpublishItem,
    *,
    item: BoothItem,
    company: Company | None,
) -> list[DomainEvent]:
    """Revise, publish or unpublish an item of a company whose staff asks."""
    if item.company_id is None or company is None:
        raise NotFound(f"booth item {item.item_id} not found", code="item_not_found")
    require_staff(company, command.asked_by, EDITS)
    return decide(command, item)


def save_profile(command: SaveProfile, *, item: BoothItem, company: Company) -> list[DomainEvent]:
    require_staff(company, command.asked_by, EDITS)
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


# --- a download ----------------------------------------------------------------------------


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


def record_download(
    command: RecordDownload, *, download: Download, company: Company
) -> list[DomainEvent]:
    """A document downloaded by someone outside the company (a lead source); the company's
    own staff and the recruitment team download without a trace."""
    by = command.asked_by
    if by is not None and (company.is_staff(by.person) or by.recruiter):
        return []
    return decide_download(command, download)
