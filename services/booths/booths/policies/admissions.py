"""Who may buy: the exhibitors service's approvals and withdrawals, turned into commands.

The core's approved-exhibitors policy (`fairline_events.approved_exhibitors`: its own models
of the exhibitors' events, its `applications` table, the runner's transaction) does the
learning; what is booths' own is what they become. An approval admits the exhibitor's
account with the company details it registered; a withdrawal closes it, releases its holds
and flags its contracts, through the same handlers as the API, atomically with the consumed
offset and idempotently, so a redelivery or a rebuild changes nothing twice.
"""

from __future__ import annotations

from fairline_events.approved_exhibitors import Application, approved_exhibitors
from fairline_events.policy import PolicyCommands

from ..domain.commands import AdmitExhibitor, WithdrawExhibitor
from ..domain.events import registry as booths_registry
from ..handlers import admit_exhibitor, withdraw_exhibitor


async def _admit(application: Application, commands: PolicyCommands) -> None:
    command = AdmitExhibitor(
        edition_code=application.edition_code,
        exhibitor_id=application.application_id,
        applicant=application.applicant,
        name_zh=application.name_zh,
        name_en=application.name_en,
        country_or_region=application.country_or_region,
        participation_mode=application.participation_mode,
    )
    await commands.run(admit_exhibitor, command)


async def _withdraw(application_id: str, reason: str, commands: PolicyCommands) -> None:
    """Close the account, release its holds and flag its contracts, in one append."""
    command = WithdrawExhibitor(exhibitor_id=application_id, reason=reason)
    await commands.run(withdraw_exhibitor, command)


admissions = approved_exhibitors(
    name="booths_admissions",
    registry=booths_registry,
    actor="system:admissions",
    on_approved=_admit,
    on_withdrawn=_withdraw,
)
