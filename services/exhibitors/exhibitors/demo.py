"""The demo edition (deploy/demo/edition-2021.yaml): the article's companies as exhibitors.

Idempotent: every demo stream has a fixed id, and one that exists is left alone, so a second
`make run` adds nothing and a newer demo only adds what is new. What it loads:
- each company once (a valid credit code or registration number) with a staff member
  `demo-<slug>-staff`, taking part in ciftis-2021; the Digital Services Zone companies are
  approved and placed by theme, forum organisers wait in the review queue, Tesla is returned
  for changes; a few took part online or offline in ciftis-2020 too, so the statistics show
  growth;
- booth pages for Huawei, Qi An Xin and Meituan: profile, news, gallery, a brochure, an
  online activity, a poster;
- cards, an accepted exchange and a lead for Huawei; slots, a booked and an awaited meeting;
- two agreements signed online (云签约), one announced as a result of the edition.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from fairline_events.blobs import BlobStore, blob_store
from fairline_events.context import CommandContext
from fairline_events.service import Runtime
from fairline_events.store import EventStore
from fairline_events.transact import CommandHandler
from fairline_events.values import slug

from . import handlers
from .api.common import read
from .domain.agreements import AGREEMENT, AnnounceAgreement, Money, Party, SignAgreement
from .domain.application import APPLICATION
from .domain.booth import (
    ITEM,
    ActivityContent,
    ApproveItem,
    DocumentContent,
    DraftItem,
    ImageContent,
    NewsContent,
    PosterContent,
    ProfileContent,
    PublishItem,
    RecordUpload,
    ServiceContent,
    profile_item_id,
)
from .domain.cards import (
    CARD,
    EXCHANGE,
    AcceptCards,
    CardDetails,
    RequestCards,
    SaveCard,
    exchange_id,
)
from .domain.commands import (
    ApproveApplication,
    ChangeParticipation,
    ReturnApplication,
    StartReview,
    SubmitApplication,
    TakePart,
)
from .domain.company import COMPANY, JoinEdition, RegisterCompany
from .domain.edition import EDITION, SetReviewSla
from .domain.leads import (
    LEAD,
    LeadSource,
    MoveLead,
    NoteLead,
    OpenLeadFromSource,
    PlanNextAction,
    lead_id,
)
from .domain.meetings import MEETING, SLOT, BookSlot, OfferSlot, Period, RequestMeeting
from .domain.values import (
    Actor,
    CompanyDetails,
    CompanyIdentity,
    ContactPerson,
    credit_code_check_char,
)

ORGANISER = Actor(person="demo-loader", recruiter=True)
"""The demo acts as the organiser's recruitment team, which may act for any company."""

THEME_SECTORS = {
    "governance": "digital governance",
    "experience": "digital experience",
    "transformation": "digital transformation",
    "trust": "digital trust",
}
EARLIER = "ciftis-2020"
AT_2020 = {"Huawei": "offline", "Alibaba": "both", "Bank of China": "offline", "PwC": "online"}
SHOWCASES = ("Huawei", "Qi An Xin", "Meituan")
VISITOR = "demo-visitor"


def demo_file() -> Path:
    configured = os.environ.get("FAIRLINE_DEMO_FILE")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "demo" / "edition-2021.yaml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("deploy/demo/edition-2021.yaml not found; set FAIRLINE_DEMO_FILE")


def demo_credit_code(slug: str) -> str:
    """A valid, made-up unified social credit code, the same on every run."""
    digits = str(int(hashlib.sha256(slug.encode()).hexdigest(), 16))[:9]
    first = "91110000" + digits
    return first + credit_code_check_char(first)


def tiny_png(rgb: tuple[int, int, int]) -> bytes:
    """A real 1x1 PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes(rgb))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def tiny_pdf(title: str) -> bytes:
    text = title.encode("ascii", "replace")
    return (
        b"%PDF-1.4\n% "
        + text
        + b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


class Loader:
    def __init__(self, store: EventStore, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs
        self.context = CommandContext.system("demo-loader", reason="demo edition")
        self.written = 0
        self.now = datetime.now(UTC)

    async def exists(self, stream_id: str) -> bool:
        return bool(await self.store.stream_version(stream_id))

    async def run(self, handler: CommandHandler[Any], *commands: Any) -> None:
        """The service's own handlers, one command after another."""
        for command in commands:
            outcome = await handler(self.store, command, self.context)
            self.written += len(outcome.envelopes)


async def load_demo(runtime: Runtime) -> int:
    assert runtime.store is not None
    blobs = blob_store(runtime.pool)
    try:
        demo = Loader(runtime.store, blobs)
        data: dict[str, Any] = yaml.safe_load(demo_file().read_text(encoding="utf-8"))
        edition = data["edition"]["code"]
        if not await demo.exists(EDITION.stream(edition)):
            await demo.run(handlers.set_review_sla, SetReviewSla(edition_code=edition, hours=72))
        for company in data["exhibitors_named_in_article"]:
            await _company(demo, company, edition)
        for name in SHOWCASES:
            await _showcase(demo, name)
        await _cards_and_lead(demo)
        await _meetings(demo)
        await _agreements(demo, edition)
        return demo.written
    finally:
        await blobs.aclose()  # an S3 client's connections


def _ids(name: str) -> tuple[str, str, str]:
    named = slug(name)
    return f"co-demo-{named}", f"demo-{named}", f"demo-{named}-staff"


async def _company(demo: Loader, company: dict[str, Any], edition: str) -> None:
    name_en = company["name"]["en"]
    named = slug(name_en)
    company_id, application_id, staff = _ids(name_en)
    theme: str | None = company.get("theme")
    country = company["country"]
    details = CompanyDetails(
        name_zh=company["name"]["zh"],
        name_en=name_en,
        country_or_region=country,
        sector=THEME_SECTORS.get(theme or "", company.get("role", "services")),
    )
    identity = (
        CompanyIdentity(credit_code=demo_credit_code(named))
        if country == "CN"
        else CompanyIdentity(registration_number=f"DEMO-{named.upper()}")
    )
    if not await demo.exists(COMPANY.stream(company_id)):
        registration = RegisterCompany(
            company_id=company_id, identity=identity, details=details, owner=staff
        )
        await demo.run(handlers.register_company, registration)

    earlier_mode = AT_2020.get(name_en)
    if earlier_mode:
        await _participate(
            demo,
            company_id,
            f"{application_id}-2020",
            EARLIER,
            details,
            staff,
            earlier_mode,
            approve=True,
        )

    if not await demo.exists(APPLICATION.stream(application_id)):
        await _participate(
            demo,
            company_id,
            application_id,
            edition,
            details,
            staff,
            "both" if theme else "online",
            approve=bool(theme),
            submit=True,
        )
        if theme:
            placement = ChangeParticipation(
                application_id=application_id,
                venue="cncc",
                zone="digital-services",
                theme=theme,
            )
            await demo.run(handlers.review_application, placement)
        elif name_en == "Tesla":
            await demo.run(
                handlers.review_application,
                StartReview(application_id=application_id, reviewer="demo-reviewer"),
                ReturnApplication(
                    application_id=application_id,
                    reviewer="demo-reviewer",
                    reason="add the launch programme and the booth contact",
                ),
            )
    else:
        # Demo data from before companies existed: link the company to its participation.
        state, _ = await read(demo.store, COMPANY, company_id)
        if edition not in state.editions:
            join = JoinEdition(
                company_id=company_id,
                edition_code=edition,
                application_id=application_id,
                asked_by=ORGANISER,
            )
            await demo.run(handlers.change_company, join)


async def _participate(
    demo: Loader,
    company_id: str,
    application_id: str,
    edition: str,
    details: CompanyDetails,
    staff: str,
    mode: str,
    *,
    approve: bool,
    submit: bool = True,
) -> None:
    if await demo.exists(APPLICATION.stream(application_id)):
        return
    taking_part = TakePart(
        company_id=company_id,
        edition_code=edition,
        application_id=application_id,
        participation_mode=mode,
        contact=ContactPerson(
            name=f"{details.name_en} fair desk",
            email=f"fair@{slug(details.name_en)}.example.com",
            phone="+86 10 8437 0000",
        ),
        applicant=staff,
        asked_by=ORGANISER,
    )
    await demo.run(handlers.take_part, taking_part)
    if submit:
        submission = SubmitApplication(application_id=application_id, asked_by=ORGANISER)
        await demo.run(handlers.change_application, submission)
    if approve:
        await demo.run(
            handlers.review_application,
            StartReview(application_id=application_id, reviewer="demo-reviewer"),
            ApproveApplication(
                application_id=application_id, reviewer="demo-reviewer", note="demo"
            ),
        )


async def _showcase(demo: Loader, name: str) -> None:
    company_id, _, _ = _ids(name)
    profile_id = profile_item_id(company_id)
    if await demo.exists(ITEM.stream(profile_id)):
        return
    logo = await demo.blobs.put(tiny_png((200, 16, 46)), "image/png")
    photo = await demo.blobs.put(tiny_png((30, 90, 160)), "image/png")
    brochure = await demo.blobs.put(tiny_pdf(f"{name} brochure"), "application/pdf")
    for file in (logo, photo, brochure):  # the company's own files, usable in its items
        await demo.run(
            handlers.record_upload,
            RecordUpload(company_id=company_id, file=file, asked_by=ORGANISER),
        )
    start = (demo.now + timedelta(days=7)).replace(hour=2, minute=0, second=0, microsecond=0)
    contents: list[tuple[str, Any]] = [
        (
            profile_id,
            ProfileContent(
                introduction=f"{name} at the China International Fair for Trade in Services: "
                "our digital services, online all year.",
                website=f"https://{slug(name)}.example.com",
                logo=logo,
            ),
        ),
        (
            f"demo-news-{slug(name)}",
            NewsContent(
                title=f"{name} at CIFTIS 2021",
                body="Visit our booth in the Digital Services Zone at the CNCC, or online.",
            ),
        ),
        (
            f"demo-image-{slug(name)}",
            ImageContent(title="Our booth", caption="CNCC, Digital Services Zone", file=photo),
        ),
        (f"demo-document-{slug(name)}", DocumentContent(title=f"{name} brochure", file=brochure)),
        (
            f"demo-activity-{slug(name)}",
            ActivityContent(
                title="Live product demo",
                description="Cloud negotiation welcome after the demo.",
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                where="online",
                link=f"https://meet.example.com/{slug(name)}",
            ),
        ),
        (
            f"demo-poster-{slug(name)}",
            PosterContent(title="数字开启未来，服务促进发展", file=logo),
        ),
        (
            f"demo-service-{slug(name)}",
            ServiceContent(
                title=f"{name} 云服务",
                title_en=f"{name} cloud services",
                sector="telecom-it",
                description="面向企业的数字化服务。",
                description_en="Digital services for enterprises, all year.",
            ),
        ),
    ]
    for item_id, content in contents:
        if await demo.exists(ITEM.stream(item_id)):
            continue
        draft = DraftItem(
            item_id=item_id, company_id=company_id, content=content, asked_by=ORGANISER
        )
        await demo.run(handlers.draft_item, draft)
        await demo.run(handlers.change_item, PublishItem(item_id=item_id, asked_by=ORGANISER))
        # the organiser's moderators review what goes public (在线布展审核)
        approval = ApproveItem(item_id=item_id, revision=1, asked_by=ORGANISER)
        await demo.run(handlers.review_item, approval)


async def _cards_and_lead(demo: Loader) -> None:
    company_id, _, staff = _ids("Huawei")
    cards = {
        VISITOR: CardDetails(
            name="Li Lei",
            title="Head of procurement",
            organisation="Demo Bank",
            country_or_region="CN",
            email="li.lei@demo-bank.example.com",
            phone="+86 10 6666 8888",
        ),
        staff: CardDetails(
            name="Wang Fang",
            title="Business development",
            organisation="Huawei",
            country_or_region="CN",
            email="wang.fang@huawei.example.com",
            phone="+86 755 2878 0808",
        ),
    }
    for person, card in cards.items():
        if not await demo.exists(CARD.stream(person)):
            await demo.run(handlers.save_card, SaveCard(person=person, card=card))
    xid = exchange_id(VISITOR, staff)
    if not await demo.exists(EXCHANGE.stream(xid)):
        request = RequestCards(
            exchange_id=xid,
            requester=VISITOR,
            recipient=staff,
            company_id=company_id,
            message="We met at the Huawei booth",
        )
        await demo.run(handlers.request_cards, request)
        await demo.run(handlers.answer_cards, AcceptCards(exchange_id=xid, by=staff))
    lid = lead_id(company_id, VISITOR)
    if not await demo.exists(LEAD.stream(lid)):
        opening = OpenLeadFromSource(
            company_id=company_id,
            source=LeadSource(kind="card_exchange", ref=xid),
            owner=staff,
            by=staff,
            asked_by=ORGANISER,
        )
        await demo.run(handlers.open_lead, opening)
        await demo.run(
            handlers.follow_up_lead,
            MoveLead(lead_id=lid, by=staff, stage="contacted", asked_by=ORGANISER),
            NoteLead(
                lead_id=lid,
                by=staff,
                text="Interested in the AI computing centre for the bank",
                asked_by=ORGANISER,
            ),
            PlanNextAction(
                lead_id=lid,
                by=staff,
                due_on=demo.now.date() + timedelta(days=3),
                action="Send the cloud pricing",
                asked_by=ORGANISER,
            ),
        )


async def _meetings(demo: Loader) -> None:
    company_id, _, staff = _ids("Huawei")
    day = (demo.now + timedelta(days=2)).replace(hour=2, minute=0, second=0, microsecond=0)
    for n in range(3):
        slot_id = f"slot-demo-huawei-{n + 1}"
        if await demo.exists(SLOT.stream(slot_id)):
            continue
        start = day + timedelta(minutes=45 * n)
        offer = OfferSlot(
            slot_id=slot_id,
            company_id=company_id,
            host=staff,
            kind="booth" if n < 2 else "online",
            period=Period(start=start, end=start + timedelta(minutes=30)),
            location="CNCC, Digital Services Zone" if n < 2 else "cloud meeting room",
            asked_by=ORGANISER,
        )
        await demo.run(handlers.offer_slot, offer)
    booked = "mtg-demo-huawei-visitor"
    if not await demo.exists(MEETING.stream(booked)):
        slot, _ = await read(demo.store, SLOT, "slot-demo-huawei-1")
        if slot.status == "open" and slot.period is not None and slot.period.start > demo.now:
            book = BookSlot(
                slot_id=slot.slot_id,
                meeting_id=booked,
                guest=VISITOR,
                subject="AI computing for a bank",
            )
            await demo.run(handlers.book_slot, book)
    qax_company, _, qax_staff = _ids("Qi An Xin")
    invited = "mtg-demo-qianxin-visitor"
    if not await demo.exists(MEETING.stream(invited)):
        start = day + timedelta(days=1)
        request = RequestMeeting(
            meeting_id=invited,
            company_id=qax_company,
            kind="online",
            organiser=qax_staff,
            invitee=VISITOR,
            period=Period(start=start, end=start + timedelta(hours=1)),
            subject="Privacy computing for banks",
            location="cloud negotiation room",
        )
        await demo.run(handlers.request_meeting, request)


async def _agreements(demo: Loader, edition: str) -> None:
    deals = [
        ("agr-demo-huawei-bank", "Huawei", "Demo Bank", "AI computing centre", "12500000", True),
        (
            "agr-demo-alibaba-county",
            "Alibaba",
            "Demo County",
            "Digital village platform",
            "3800000",
            False,
        ),
    ]
    for agreement_id, name, counterparty, subject, amount, announce in deals:
        if await demo.exists(AGREEMENT.stream(agreement_id)):
            continue
        company_id, _, _ = _ids(name)
        await demo.run(
            handlers.sign_agreement,
            SignAgreement(
                agreement_id=agreement_id,
                company_id=company_id,
                edition_code=edition,
                counterparties=[Party(name=counterparty, country_or_region="CN")],
                subject=subject,
                value=Money(amount=Decimal(amount), currency="CNY"),
                signed_on=demo.now.date(),
                asked_by=ORGANISER,
            ),
        )
        if announce:
            announcement = AnnounceAgreement(agreement_id=agreement_id, by="demo-reviewer")
            await demo.run(handlers.announce_agreement, announcement)
