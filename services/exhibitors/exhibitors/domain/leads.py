"""Leads (商机跟进): an opportunity an exhibitor follows up, from first touch to won or lost.

One lead per company and contact (`lead-<id>`, the id derived from both): a card exchange,
a meeting or a document download with that person opens it; opening it again is a conflict
naming the lead. The pipeline:

    new ─▶ contacted ─▶ qualified ─▶ negotiating ─▶ won
     └──────────┴────────────┴─────────────┴──────▶ lost

Open leads move to any other stage but back to `new` (skipping is fine, so is stepping back
from negotiating to qualified); won and lost are final. A lead has an owner (a staff
member), notes, and a next action with its date, which is never in the past.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal, assert_never

from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent
from pydantic import BaseModel, ConfigDict

from .aggregate import Aggregate
from .booth import Download
from .cards import Exchange
from .company import Company, require_staff
from .events import registry
from .meetings import Meeting
from .values import Asked, Identifier, Text

Stage = Literal["new", "contacted", "qualified", "negotiating", "won", "lost"]
STAGES: tuple[Stage, ...] = ("new", "contacted", "qualified", "negotiating", "won", "lost")
CLOSED: frozenset[Stage] = frozenset({"won", "lost"})
SourceKind = Literal["card_exchange", "meeting", "download"]


def lead_id(company_id: str, contact: str) -> str:
    return "ld-" + hashlib.sha256(f"{company_id}\n{contact}".encode()).hexdigest()[:24]


class LeadSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SourceKind
    ref: Identifier
    """The exchange, meeting or download id."""


# --- commands ------------------------------------------------------------------------------


class LeadCommand(Asked):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lead_id: Identifier
    by: Identifier


class OpenLead(LeadCommand):
    company_id: Identifier
    contact: Identifier
    source: LeadSource
    owner: Identifier


class MoveLead(LeadCommand):
    stage: Stage


class ChangeLeadOwner(LeadCommand):
    owner: Identifier


class NoteLead(LeadCommand):
    text: Text


class PlanNextAction(LeadCommand):
    due_on: date | None
    """None clears the next action."""
    action: Text | None = None


LeadCommandType = OpenLead | MoveLead | ChangeLeadOwner | NoteLead | PlanNextAction
FollowUp = MoveLead | ChangeLeadOwner | NoteLead | PlanNextAction


class OpenLeadFromSource(Asked):
    """Open a lead on whoever `source` put the company in touch with (its id follows)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company_id: Identifier
    source: LeadSource
    owner: Identifier
    by: Identifier


# --- events --------------------------------------------------------------------------------


class LeadEvent(DomainEvent):
    lead_id: Identifier


@registry.event("exhibitors.LeadOpened", version=1)
class LeadOpened(LeadEvent):
    company_id: Identifier
    contact: Identifier
    source: LeadSource
    owner: Identifier


@registry.event("exhibitors.LeadStageChanged", version=1)
class LeadStageChanged(LeadEvent):
    from_stage: Stage
    to_stage: Stage


@registry.event("exhibitors.LeadOwnerChanged", version=1)
class LeadOwnerChanged(LeadEvent):
    owner: Identifier


@registry.event("exhibitors.LeadNoted", version=1)
class LeadNoted(LeadEvent):
    by: Identifier
    text: Text


@registry.event("exhibitors.LeadNextActionPlanned", version=1)
class LeadNextActionPlanned(LeadEvent):
    due_on: date | None
    action: Text | None = None


# --- the lead ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    by: str
    text: str


@dataclass(frozen=True)
class Lead:
    lead_id: str
    opened: bool = False
    company_id: str | None = None
    contact: str | None = None
    source: LeadSource | None = None
    owner: str | None = None
    stage: Stage = "new"
    notes: tuple[Note, ...] = ()
    next_action_on: date | None = None
    next_action: str | None = None


def initial_lead(lead_id: str) -> Lead:
    return Lead(lead_id=lead_id)


def decide(command: LeadCommandType, state: Lead, today: date) -> list[DomainEvent]:
    lid = state.lead_id
    if isinstance(command, OpenLead):
        if state.opened:
            raise Conflict(
                f"{command.contact} is a lead of this company already ({lid}, {state.stage})",
                code="lead_exists",
                lead_id=lid,
                stage=state.stage,
            )
        return [
            LeadOpened(
                lead_id=lid,
                company_id=command.company_id,
                contact=command.contact,
                source=command.source,
                owner=command.owner,
            )
        ]
    if not state.opened:
        raise NotFound(f"lead {lid} not found", code="lead_not_found")
    match command:
        case MoveLead(stage=stage):
            if stage == state.stage:
                return []
            if state.stage in CLOSED or stage == "new":
                raise DomainError(
                    f"a lead does not move from {state.stage} to {stage}",
                    code="illegal_transition",
                    **{"from": state.stage, "to": stage},
                )
            return [LeadStageChanged(lead_id=lid, from_stage=state.stage, to_stage=stage)]
        case ChangeLeadOwner(owner=owner):
            return [] if owner == state.owner else [LeadOwnerChanged(lead_id=lid, owner=owner)]
        case NoteLead(by=by, text=text):
            return [LeadNoted(lead_id=lid, by=by, text=text)]
        case PlanNextAction(due_on=due_on, action=action):
            if due_on is not None:
                if state.stage in CLOSED:
                    raise DomainError(
                        f"lead {lid} is {state.stage}: nothing left to do", code="lead_closed"
                    )
                if due_on < today:
                    raise DomainError(
                        "the next action is due today or later",
                        code="next_action_in_the_past",
                        due_on=due_on.isoformat(),
                    )
                if not action:
                    raise DomainError("say what the next action is", code="next_action_missing")
            else:
                action = None
            if (due_on, action) == (state.next_action_on, state.next_action):
                return []
            return [LeadNextActionPlanned(lead_id=lid, due_on=due_on, action=action)]
        case _:
            assert_never(command)


def evolve(state: Lead, event: DomainEvent) -> Lead:
    match event:
        case LeadOpened():
            return replace(
                state,
                opened=True,
                company_id=event.company_id,
                contact=event.contact,
                source=event.source,
                owner=event.owner,
            )
        case LeadStageChanged():
            closed = event.to_stage in CLOSED
            return replace(
                state,
                stage=event.to_stage,
                next_action_on=None if closed else state.next_action_on,
                next_action=None if closed else state.next_action,
            )
        case LeadOwnerChanged():
            return replace(state, owner=event.owner)
        case LeadNoted():
            return replace(state, notes=(*state.notes, Note(event.by, event.text)))
        case LeadNextActionPlanned():
            return replace(state, next_action_on=event.due_on, next_action=event.action)
        case _:
            return state


LEAD: Aggregate[Lead] = Aggregate("lead-", initial_lead, evolve)

SEES = "see its leads"

Source = Exchange | Meeting | Download
"""What a lead may come from: an accepted card exchange, a confirmed meeting, a download."""


def open_lead(
    command: OpenLeadFromSource, *, company: Company, source: Source, lead: Lead, today: date
) -> list[DomainEvent]:
    """The company's staff open a lead on the person a source put them in touch with."""
    contact = contact_of(command, company=company, source=source)
    opening = OpenLead(
        lead_id=lead.lead_id,
        by=command.by,
        company_id=command.company_id,
        contact=contact,
        source=command.source,
        owner=command.owner,
    )
    return decide(opening, lead, today)


def contact_of(command: OpenLeadFromSource, *, company: Company, source: Source) -> str:
    """Who the source puts the company in touch with; refuses sources that do not."""
    require_staff(company, command.asked_by, SEES)
    cid = company.company_id
    if not company.is_staff(command.owner):
        raise DomainError(f"{command.owner} is not on the staff of {cid}", code="owner_not_staff")
    kind, ref = command.source.kind, command.source.ref
    parties: tuple[str, ...]
    status: str
    match source:
        case Exchange():
            if source.status == "new":
                raise NotFound(f"card exchange {ref} not found", code="source_not_found")
            owner, status, parties, needed = (
                source.company_id,
                source.status,
                source.parties(),
                "accepted",
            )
        case Meeting():
            if source.status == "new":
                raise NotFound(f"meeting {ref} not found", code="source_not_found")
            owner, status, parties, needed = (
                source.company_id,
                source.status,
                source.parties(),
                "confirmed",
            )
        case Download():
            if source.company_id is None or source.person is None:
                raise NotFound(f"download {ref} not found", code="source_not_found")
            owner, status, parties, needed = (
                source.company_id,
                "recorded",
                (source.person,),
                "recorded",
            )
    if owner != cid:
        raise DomainError(
            f"{kind} {ref} belongs to another company", code="source_of_another_company"
        )
    if status != needed:
        raise _not_eligible(f"{kind} {ref} is {status}, not {needed}")
    outside = [p for p in parties if not company.is_staff(p)]
    if not outside:
        raise _not_eligible(f"{kind} {ref} is between the company's own staff")
    return outside[0]


def _not_eligible(message: str, **details: Any) -> DomainError:
    return DomainError(message, code="source_not_eligible", **details)


def follow_up(
    command: FollowUp, *, lead: Lead, company: Company | None, today: date
) -> list[DomainEvent]:
    """The company's staff move a lead along, hand it over, note it, plan what comes next."""
    if not lead.opened or company is None:
        raise NotFound(f"lead {lead.lead_id} not found", code="lead_not_found")
    require_staff(company, command.asked_by, SEES)
    if isinstance(command, ChangeLeadOwner) and not company.is_staff(command.owner):
        raise DomainError(
            f"{command.owner} is not on the staff of {company.company_id}", code="owner_not_staff"
        )
    return decide(command, lead, today)
