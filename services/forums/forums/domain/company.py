"""An exhibitor as this service knows it: learnt from the exhibitors service's events.

A company organiser must be an approved exhibitor of the edition. The forums service never
asks the exhibitors' database: its policy (`policies/exhibitors.py`) turns the exhibitors'
approvals and withdrawals into these streams, and a proposal reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fairline_events.decider import Fold
from fairline_events.errors import Forbidden
from fairline_events.registry import DomainEvent

from .commands import ApproveExhibitor, WithdrawExhibitor
from .events import ExhibitorApproved, ExhibitorWithdrawn


@dataclass(frozen=True)
class Exhibitor:
    exhibitor_id: str
    edition_code: str | None = None
    applicant: str | None = None
    name_zh: str = ""
    name_en: str = ""
    approved: bool = False
    withdrawn: bool = False


def exhibitor_stream(exhibitor_id: str) -> str:
    return f"exhibitor-{exhibitor_id}"


def initial(stream_id: str) -> Exhibitor:
    return Exhibitor(exhibitor_id=stream_id.removeprefix("exhibitor-"))


def evolve(exhibitor: Exhibitor, event: DomainEvent) -> Exhibitor:
    match event:
        case ExhibitorApproved():
            return replace(
                exhibitor,
                edition_code=event.edition_code,
                applicant=event.applicant,
                name_zh=event.name_zh,
                name_en=event.name_en,
                approved=True,
                withdrawn=False,
            )
        case ExhibitorWithdrawn():
            return replace(exhibitor, withdrawn=True)
    return exhibitor


EXHIBITOR: Fold[Exhibitor] = Fold(initial, evolve)


def approve(command: ApproveExhibitor, *, exhibitor: Exhibitor) -> list[DomainEvent]:
    """Idempotent: a redelivered approval changes nothing."""
    if exhibitor.approved and not exhibitor.withdrawn:
        return []
    return [ExhibitorApproved(**command.model_dump())]


def withdraw(command: WithdrawExhibitor, *, exhibitor: Exhibitor) -> list[DomainEvent]:
    if exhibitor.withdrawn:
        return []
    return [ExhibitorWithdrawn(exhibitor_id=command.exhibitor_id, reason=command.reason)]


def require_organising_exhibitor(
    exhibitor: Exhibitor, *, edition_code: str, by: str, on_behalf: bool
) -> None:
    """A company organises only as an approved exhibitor of the edition, and proposes only
    through its own staff (the applicant) unless the forums team proposes for it."""
    if not exhibitor.approved or exhibitor.withdrawn or exhibitor.edition_code != edition_code:
        raise Forbidden(
            f"company {exhibitor.exhibitor_id} is not an approved exhibitor of {edition_code};"
            " a company organises forums and launches once the exhibitors service approves it",
            code="not_an_approved_exhibitor",
            exhibitor_id=exhibitor.exhibitor_id,
        )
    if not on_behalf and exhibitor.applicant != by:
        raise Forbidden(
            f"only the staff of exhibitor {exhibitor.exhibitor_id} propose in its name",
            code="not_your_company",
            exhibitor_id=exhibitor.exhibitor_id,
        )
