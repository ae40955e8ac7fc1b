"""An exhibitor's account with booth sales: admission, open holds, contracts.

Admission comes from the exhibitors service (an approved application); the account's stream
is appended in the same transaction as the booth's whenever a hold or contract opens or
closes, so the cap on concurrent holds is checked against a version nobody else changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from fairline_events.decider import Fold
from fairline_events.errors import Forbidden
from fairline_events.registry import DomainEvent

from .commands import AdmitExhibitor
from .events import (
    ExhibitorAdmitted,
    ExhibitorContractClosed,
    ExhibitorContractMoved,
    ExhibitorContractOpened,
    ExhibitorHoldClosed,
    ExhibitorHoldOpened,
    ExhibitorWithdrawn,
)


@dataclass(frozen=True)
class Account:
    exhibitor_id: str
    status: Literal["unknown", "admitted", "withdrawn"] = "unknown"
    edition_code: str | None = None
    applicant: str | None = None
    name_zh: str = ""
    name_en: str = ""
    holds: frozenset[str] = frozenset()
    contracts: dict[str, str | None] = field(default_factory=dict)
    """contract id -> booth code (None for an online package)."""


def account_stream(exhibitor_id: str) -> str:
    """One stream per exhibitor: the hold cap is the account's expected version."""
    return f"exhibitor-{exhibitor_id}"


NOBODY = "-"
"""The account read for a booth nobody holds: its decision refuses before it matters."""


def initial(stream_id: str) -> Account:
    return Account(exhibitor_id=stream_id.removeprefix("exhibitor-"))


def require_admitted(account: Account, edition_code: str) -> None:
    """Only exhibitors approved for this edition hold or buy."""
    if account.status == "withdrawn":
        raise Forbidden(
            f"exhibitor {account.exhibitor_id} withdrew from the edition",
            code="exhibitor_withdrawn",
        )
    if account.status != "admitted" or account.edition_code != edition_code:
        raise Forbidden(
            f"exhibitor {account.exhibitor_id} is not approved for {edition_code}",
            code="exhibitor_not_approved",
        )


def require_acting_for(account: Account, by: str | None) -> None:
    """A company user acts only for its own exhibitor; staff (by=None) for any."""
    if by is not None and by != account.applicant:
        raise Forbidden(
            f"user {by} does not act for exhibitor {account.exhibitor_id}",
            code="not_your_exhibitor",
        )


def decide(command: AdmitExhibitor, account: Account) -> list[DomainEvent]:
    if account.status != "unknown":
        return []  # admitted already (a redelivered approval), or withdrawn for good
    return [
        ExhibitorAdmitted(
            exhibitor_id=command.exhibitor_id,
            edition_code=command.edition_code,
            applicant=command.applicant,
            name_zh=command.name_zh,
            name_en=command.name_en,
            country_or_region=command.country_or_region,
            participation_mode=command.participation_mode,
        )
    ]


def evolve(account: Account, event: DomainEvent) -> Account:
    match event:
        case ExhibitorAdmitted():
            return replace(
                account,
                status="admitted",
                edition_code=event.edition_code,
                applicant=event.applicant,
                name_zh=event.name_zh,
                name_en=event.name_en,
            )
        case ExhibitorWithdrawn():
            return replace(account, status="withdrawn", holds=frozenset())
        case ExhibitorHoldOpened():
            return replace(account, holds=account.holds | {event.booth_code})
        case ExhibitorHoldClosed():
            return replace(account, holds=account.holds - {event.booth_code})
        case ExhibitorContractOpened():
            return replace(
                account, contracts={**account.contracts, event.contract_id: event.booth_code}
            )
        case ExhibitorContractClosed():
            contracts = dict(account.contracts)
            contracts.pop(event.contract_id, None)
            return replace(account, contracts=contracts)
        case ExhibitorContractMoved():
            return replace(
                account, contracts={**account.contracts, event.contract_id: event.to_booth_code}
            )
        case _:
            return account


ACCOUNT = Fold(initial, evolve)
