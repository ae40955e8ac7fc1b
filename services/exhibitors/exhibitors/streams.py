"""Where each aggregate lives: its stream names and its decider (initial, decide, evolve)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fairline_events.decider import Decider
from fairline_events.transact import Step, step

from .domain import (
    agreements,
    application,
    booth,
    cards,
    company,
    edition,
    leads,
    meetings,
)
from .domain.application import Application
from .domain.company import (
    ClaimIdentifier,
    Company,
    CompanyCommandType,
    IdentifierClaim,
    RegisterCompany,
)
from .domain.edition import Edition
from .domain.values import CompanyDetails, CompanyIdentity

APPLICATION = "application-"
COMPANY = "company-"
COMPANY_CODE = "company-code-"


def application_stream(application_id: str) -> str:
    return f"{APPLICATION}{application_id}"


def company_stream(company_id: str) -> str:
    return f"{COMPANY}{company_id}"


def identifier_stream(key: str) -> str:
    return f"{COMPANY_CODE}{key}"


applications: Decider[Any, Application] = Decider(
    initial=lambda s: application.initial_application(s.removeprefix(APPLICATION)),
    decide=application.decide,
    evolve=application.evolve,
)

companies: Decider[Any, Company] = Decider(
    initial=lambda s: company.initial_company(s.removeprefix(COMPANY)),
    decide=company.decide,
    evolve=company.evolve,
)

identifiers: Decider[Any, IdentifierClaim] = Decider(
    initial=lambda s: company.initial_identifier(s.removeprefix(COMPANY_CODE)),
    decide=company.decide_claim,
    evolve=company.evolve_claim,
)


def company_registration(
    company_id: str,
    identity: CompanyIdentity | None,
    details: CompanyDetails,
    owner: str,
    *then: CompanyCommandType,
) -> list[Step[Any]]:
    """The steps that register a company: claim each official identifier, then the company.

    The claims are new streams appended at version 0 in the same transaction: a code held by
    another company is a 409 `company_exists`, never a second company.
    """
    keys = identity.keys(details.country_or_region) if identity else []
    claims = [
        step(identifiers, identifier_stream(k), ClaimIdentifier(key=k, company_id=company_id))
        for k in keys
    ]
    register = RegisterCompany(
        company_id=company_id, identity=identity, details=details, owner=owner
    )
    return [*claims, step(companies, company_stream(company_id), register, *then)]


EDITION = "edition-"


def edition_stream(edition_code: str) -> str:
    return f"{EDITION}{edition_code}"


editions: Decider[Any, Edition] = Decider(
    initial=lambda s: edition.initial_edition(s.removeprefix(EDITION)),
    decide=edition.decide,
    evolve=edition.evolve,
)


MEETING = "meeting-"
AGENDA = "agenda-"
SLOT = "slot-"


def meeting_stream(meeting_id: str) -> str:
    return f"{MEETING}{meeting_id}"


def agenda_stream(person: str) -> str:
    return f"{AGENDA}{person}"


def slot_stream(slot_id: str) -> str:
    return f"{SLOT}{slot_id}"


def meetings_at(now: datetime) -> Decider[Any, meetings.Meeting]:
    return Decider(
        initial=lambda s: meetings.initial_meeting(s.removeprefix(MEETING)),
        decide=lambda c, s: meetings.decide(c, s, now),
        evolve=meetings.evolve,
    )


agendas: Decider[Any, meetings.Agenda] = Decider(
    initial=lambda s: meetings.initial_agenda(s.removeprefix(AGENDA)),
    decide=meetings.decide_agenda,
    evolve=meetings.evolve_agenda,
)


def slots_at(now: datetime) -> Decider[Any, meetings.Slot]:
    return Decider(
        initial=lambda s: meetings.initial_slot(s.removeprefix(SLOT)),
        decide=lambda c, s: meetings.decide_slot(c, s, now),
        evolve=meetings.evolve_slot,
    )


CARD = "business-card-"
CARD_EXCHANGE = "card-exchange-"
CARD_REQUESTS = "card-requests-"


def card_stream(person: str) -> str:
    return f"{CARD}{person}"


def exchange_stream(exchange_id: str) -> str:
    return f"{CARD_EXCHANGE}{exchange_id}"


def window_stream(requester: str) -> str:
    return f"{CARD_REQUESTS}{requester}"


card_decider: Decider[Any, cards.Card] = Decider(
    initial=lambda s: cards.initial_card(s.removeprefix(CARD)),
    decide=cards.decide_card,
    evolve=cards.evolve_card,
)
exchanges: Decider[Any, cards.Exchange] = Decider(
    initial=lambda s: cards.initial_exchange(s.removeprefix(CARD_EXCHANGE)),
    decide=cards.decide_exchange,
    evolve=cards.evolve_exchange,
)


def windows(limit: cards.RateLimit) -> Decider[Any, cards.RequestWindow]:
    return Decider(
        initial=lambda s: cards.initial_window(s.removeprefix(CARD_REQUESTS)),
        decide=lambda c, s: cards.decide_window(c, s, limit),
        evolve=cards.evolve_window,
    )


LEAD = "lead-"


def lead_stream(lead_id: str) -> str:
    return f"{LEAD}{lead_id}"


def leads_on(today: date) -> Decider[Any, leads.Lead]:
    return Decider(
        initial=lambda s: leads.initial_lead(s.removeprefix(LEAD)),
        decide=lambda c, s: leads.decide(c, s, today),
        evolve=leads.evolve,
    )


BOOTH_ITEM = "booth-item-"
DOWNLOAD = "download-"


def item_stream(item_id: str) -> str:
    return f"{BOOTH_ITEM}{item_id}"


def download_stream(download_id: str) -> str:
    return f"{DOWNLOAD}{download_id}"


items: Decider[Any, booth.BoothItem] = Decider(
    initial=lambda s: booth.initial_item(s.removeprefix(BOOTH_ITEM)),
    decide=booth.decide,
    evolve=booth.evolve,
)
downloads: Decider[Any, booth.Download] = Decider(
    initial=lambda s: booth.initial_download(s.removeprefix(DOWNLOAD)),
    decide=booth.decide_download,
    evolve=booth.evolve_download,
)


AGREEMENT = "agreement-"


def agreement_stream(agreement_id: str) -> str:
    return f"{AGREEMENT}{agreement_id}"


def agreements_on(today: date) -> Decider[Any, agreements.Agreement]:
    return Decider(
        initial=lambda s: agreements.initial_agreement(s.removeprefix(AGREEMENT)),
        decide=lambda c, s: agreements.decide(c, s, today),
        evolve=agreements.evolve,
    )
