"""Every command of the service: which streams its decision reads, then the decision.

A handler reads inside the command's transaction: `await streams(KIND, id)` and
`streams.all(...)` lock the streams the command writes before reading them, `also=` and
`streams.peek(...)` read the ones it only consults (the company's staff list, a card). A
stream found from another's state (a meeting's slot, a lead found from its source) is read
after it, in the same attempt; a concurrent change makes the whole plan run again. The
rule itself is a pure function in `domain/`, called with named states; the handler
returns the events of each stream it writes, `{stream_id: events}` (see the README for why
a mapping rather than events that name their stream).

Routes, the demo and the tests (`fairline_events.testing.given`) call these same handlers.
"""

from __future__ import annotations

from collections.abc import Iterable

from fairline_events.transact import Streams, command_handler

from .domain import agreements, application, booth, cards, company, edition, leads, meetings
from .domain.aggregate import Decision
from .domain.agreements import AGREEMENT, AnnounceAgreement, SignAgreement
from .domain.application import APPLICATION
from .domain.booth import (
    DOWNLOAD,
    FILES,
    ITEM,
    CompanyFiles,
    DraftItem,
    RecordDownload,
    RecordUpload,
    SaveProfile,
)
from .domain.booth import (
    WINDOW as DOWNLOAD_WINDOW,
)
from .domain.cards import CARD, EXCHANGE, WINDOW, AcceptCards, DeclineCards, RequestCards, SaveCard
from .domain.commands import (
    ApplicantCommand,
    ApproveApplication,
    AssignReviewer,
    ChangeParticipation,
    RegisterExhibitor,
    RejectApplication,
    ReturnApplication,
    StartReview,
    TakePart,
)
from .domain.company import COMPANY, IDENTIFIER, Company, RegisterCompany, StaffCommand
from .domain.edition import EDITION, SetReviewSla
from .domain.leads import LEAD, FollowUp, OpenLeadFromSource, Source
from .domain.meetings import (
    AGENDA,
    MEETING,
    SLOT,
    Agenda,
    BookSlot,
    Meeting,
    MeetingChange,
    OfferSlot,
    RequestMeeting,
    Slot,
    WithdrawSlot,
)

# --- companies and their participations ----------------------------------------------------


@command_handler
async def register_company(command: RegisterCompany, streams: Streams) -> Decision:
    keys = company.identifier_keys(command.identity, command.details.country_or_region)
    *claims, registered = await streams.all(
        *((IDENTIFIER, IDENTIFIER.stream(key)) for key in keys),
        (COMPANY, COMPANY.stream(command.company_id)),
    )
    return company.register(command, claims=claims, company=registered)


@command_handler
async def change_company(command: StaffCommand, streams: Streams) -> Decision:
    stream = COMPANY.stream(command.company_id)
    return {stream: company.change(command, company=await streams(COMPANY, stream))}


@command_handler
async def register_exhibitor(command: RegisterExhibitor, streams: Streams) -> Decision:
    assert command.company_id is not None, "a registration names its new company"
    keys = company.identifier_keys(command.identity, command.company.country_or_region)
    *claims, registered, draft = await streams.all(
        *((IDENTIFIER, IDENTIFIER.stream(key)) for key in keys),
        (COMPANY, COMPANY.stream(command.company_id)),
        (APPLICATION, APPLICATION.stream(command.application_id)),
    )
    return application.register_exhibitor(
        command, application=draft, company=registered, claims=claims
    )


@command_handler
async def take_part(command: TakePart, streams: Streams) -> Decision:
    joining, draft = await streams.all(
        (COMPANY, COMPANY.stream(command.company_id)),
        (APPLICATION, APPLICATION.stream(command.application_id)),
    )
    return application.take_part(command, company=joining, application=draft)


@command_handler
async def change_application(command: ApplicantCommand, streams: Streams) -> Decision:
    stream = APPLICATION.stream(command.application_id)
    changed = await streams(APPLICATION, stream)
    owner = await _company(streams, changed.company_id)
    return {stream: application.change_by_applicant(command, application=changed, company=owner)}


ReviewCommand = (
    StartReview
    | ApproveApplication
    | RejectApplication
    | ReturnApplication
    | AssignReviewer
    | ChangeParticipation
)


@command_handler
async def review_application(command: ReviewCommand, streams: Streams) -> Decision:
    stream = APPLICATION.stream(command.application_id)
    return {stream: application.decide(command, await streams(APPLICATION, stream))}


@command_handler
async def set_review_sla(command: SetReviewSla, streams: Streams) -> Decision:
    stream = EDITION.stream(command.edition_code)
    return {stream: edition.decide(command, await streams(EDITION, stream))}


# --- the booth page ------------------------------------------------------------------------


@command_handler
async def record_upload(command: RecordUpload, streams: Streams) -> Decision:
    stream = FILES.stream(command.company_id)
    files, owner = await streams.all(
        (FILES, stream), also=[(COMPANY, COMPANY.stream(command.company_id))]
    )
    return {stream: booth.record_upload(command, files=files, company=owner)}


@command_handler
async def draft_item(command: DraftItem, streams: Streams) -> Decision:
    stream = ITEM.stream(command.item_id)
    item, owner, files = await streams.all(
        (ITEM, stream),
        also=[
            (COMPANY, COMPANY.stream(command.company_id)),
            (FILES, FILES.stream(command.company_id)),
        ],
    )
    return {stream: booth.draft(command, item=item, company=owner, files=files)}


@command_handler
async def change_item(
    command: booth.ReviseItem | booth.PublishItem | booth.UnpublishItem, streams: Streams
) -> Decision:
    stream = ITEM.stream(command.item_id)
    item = await streams(ITEM, stream)
    owner = await _company(streams, item.company_id)
    files: CompanyFiles | None = None
    if isinstance(command, booth.ReviseItem) and item.company_id is not None:
        files = await streams.peek(FILES, FILES.stream(item.company_id))
    return {stream: booth.change(command, item=item, company=owner, files=files)}


@command_handler
async def review_item(command: booth.ModerationCommand, streams: Streams) -> Decision:
    """The organiser's moderation: approve or return a revision, take an item down."""
    stream = ITEM.stream(command.item_id)
    return {stream: booth.review(command, item=await streams(ITEM, stream))}


@command_handler
async def save_profile(command: SaveProfile, streams: Streams) -> Decision:
    stream = ITEM.stream(booth.profile_item_id(command.company_id))
    item, owner, files = await streams.all(
        (ITEM, stream),
        also=[
            (COMPANY, COMPANY.stream(command.company_id)),
            (FILES, FILES.stream(command.company_id)),
        ],
    )
    return {stream: booth.save_profile(command, item=item, company=owner, files=files)}


@command_handler
async def record_download(command: RecordDownload, streams: Streams) -> Decision:
    download, window, owner = await streams.all(
        (DOWNLOAD, DOWNLOAD.stream(command.download_id)),
        (DOWNLOAD_WINDOW, DOWNLOAD_WINDOW.stream(command.person)),
        also=[(COMPANY, COMPANY.stream(command.company_id))],
    )
    return booth.record_download(
        command, download=download, window=window, company=owner, now=streams.now
    )


# --- business cards ------------------------------------------------------------------------


@command_handler
async def save_card(command: SaveCard, streams: Streams) -> Decision:
    stream = CARD.stream(command.person)
    return {stream: cards.decide_card(command, await streams(CARD, stream))}


@command_handler
async def request_cards(command: RequestCards, streams: Streams) -> Decision:
    exchange, window, recipient_company, own_card = await streams.all(
        (EXCHANGE, EXCHANGE.stream(command.exchange_id)),
        (WINDOW, WINDOW.stream(command.requester)),
        also=[
            (COMPANY, COMPANY.stream(command.company_id)),
            (CARD, CARD.stream(command.requester)),
        ],
    )
    return cards.request(
        command,
        company=recipient_company,
        requester_card=own_card,
        exchange=exchange,
        window=window,
        now=streams.now,
    )


@command_handler
async def answer_cards(command: AcceptCards | DeclineCards, streams: Streams) -> Decision:
    stream = EXCHANGE.stream(command.exchange_id)
    exchange, own_card = await streams.all(
        (EXCHANGE, stream), also=[(CARD, CARD.stream(command.by))]
    )
    return {stream: cards.answer(command, exchange=exchange, own_card=own_card)}


# --- leads ---------------------------------------------------------------------------------


@command_handler
async def open_lead(command: OpenLeadFromSource, streams: Streams) -> Decision:
    owner = await streams.peek(COMPANY, COMPANY.stream(command.company_id))
    source = await _source(streams, command)
    # the lead's id follows from whom the source put the company in touch with
    contact = leads.contact_of(command, company=owner, source=source)
    stream = LEAD.stream(leads.lead_id(command.company_id, contact))
    lead = await streams(LEAD, stream)
    today = streams.now.date()
    return {stream: leads.open_lead(command, company=owner, source=source, lead=lead, today=today)}


async def _source(streams: Streams, command: OpenLeadFromSource) -> Source:
    kind, ref = command.source.kind, command.source.ref
    if kind == "card_exchange":
        return await streams.peek(EXCHANGE, EXCHANGE.stream(ref))
    if kind == "meeting":
        return await streams.peek(MEETING, MEETING.stream(ref))
    return await streams.peek(DOWNLOAD, DOWNLOAD.stream(ref))


@command_handler
async def follow_up_lead(command: FollowUp, streams: Streams) -> Decision:
    stream = LEAD.stream(command.lead_id)
    lead = await streams(LEAD, stream)
    owner = await _company(streams, lead.company_id)
    today = streams.now.date()
    return {stream: leads.follow_up(command, lead=lead, company=owner, today=today)}


# --- meetings ------------------------------------------------------------------------------


@command_handler
async def offer_slot(command: OfferSlot, streams: Streams) -> Decision:
    stream = SLOT.stream(command.slot_id)
    slot, host_company = await streams.all(
        (SLOT, stream), also=[(COMPANY, COMPANY.stream(command.company_id))]
    )
    return {stream: meetings.offer_slot(command, slot=slot, company=host_company, now=streams.now)}


@command_handler
async def withdraw_slot(command: WithdrawSlot, streams: Streams) -> Decision:
    stream = SLOT.stream(command.slot_id)
    slot = await streams(SLOT, stream)
    host_company = await _company(streams, slot.company_id)
    return {
        stream: meetings.withdraw_slot(command, slot=slot, company=host_company, now=streams.now)
    }


@command_handler
async def book_slot(command: BookSlot, streams: Streams) -> Decision:
    slot, meeting = await streams.all(
        (SLOT, SLOT.stream(command.slot_id)), (MEETING, MEETING.stream(command.meeting_id))
    )
    # whose agendas follow from the slot: its host's, and the guest's
    agendas = await _agendas(streams, (command.guest, slot.host))
    return meetings.book_slot(command, slot=slot, meeting=meeting, agendas=agendas, now=streams.now)


@command_handler
async def request_meeting(command: RequestMeeting, streams: Streams) -> Decision:
    meeting, host_company = await streams.all(
        (MEETING, MEETING.stream(command.meeting_id)),
        also=[(COMPANY, COMPANY.stream(command.company_id))],
    )
    agendas = await _agendas(streams, (command.organiser, command.invitee))
    return meetings.request_meeting(
        command, company=host_company, meeting=meeting, agendas=agendas, now=streams.now
    )


@command_handler
async def change_meeting(command: MeetingChange, streams: Streams) -> Decision:
    meeting = await streams(MEETING, MEETING.stream(command.meeting_id))
    slot: Slot | None = None
    if meeting.slot_id is not None:  # freed when the meeting no longer holds it
        slot = await streams(SLOT, SLOT.stream(meeting.slot_id))
    agendas = await _agendas(streams, meeting.parties())
    return meetings.change_meeting(
        command, meeting=meeting, slot=slot, agendas=agendas, now=streams.now
    )


async def _agendas(streams: Streams, people: Iterable[str]) -> dict[str, Agenda]:
    """The agendas of a meeting's parties, locked together (nobody is in two meetings)."""
    wanted = list(dict.fromkeys(person for person in people if person))
    states = await streams.all(*((AGENDA, AGENDA.stream(person)) for person in wanted))
    return dict(zip(wanted, states, strict=True))


# --- agreements ----------------------------------------------------------------------------


@command_handler
async def sign_agreement(command: SignAgreement, streams: Streams) -> Decision:
    stream = AGREEMENT.stream(command.agreement_id)
    agreement, signer = await streams.all(
        (AGREEMENT, stream), also=[(COMPANY, COMPANY.stream(command.company_id))]
    )
    meeting: Meeting | None = None
    if command.meeting_id is not None:
        meeting = await streams.peek(MEETING, MEETING.stream(command.meeting_id))
    today = streams.now.date()
    return {
        stream: agreements.sign(
            command, agreement=agreement, company=signer, meeting=meeting, today=today
        )
    }


@command_handler
async def announce_agreement(command: AnnounceAgreement, streams: Streams) -> Decision:
    stream = AGREEMENT.stream(command.agreement_id)
    agreement = await streams(AGREEMENT, stream)
    return {stream: agreements.decide(command, agreement, today=streams.now.date())}


async def _company(streams: Streams, company_id: str | None) -> Company | None:
    """The company another stream's state names, read only (None when it names none)."""
    if company_id is None:
        return None
    return await streams.peek(COMPANY, COMPANY.stream(company_id))
