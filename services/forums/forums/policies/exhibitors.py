"""Which companies may organise: the exhibitors service's approvals, turned into commands.

The core's approved-exhibitors policy (`fairline_events.approved_exhibitors`: its own models
of the exhibitors' events, its `applications` table, the runner's transaction), as booths'
admissions use it; what is forums' own is what they become. An approval appends
`forums.ExhibitorApproved`, a withdrawal `forums.ExhibitorWithdrawn`, through the same
handlers as everything else, atomically with the consumed offset; both are idempotent, so a
redelivery or a rebuild changes nothing twice.
"""

from __future__ import annotations

from fairline_events.approved_exhibitors import Application, approved_exhibitors
from fairline_events.policy import PolicyCommands

from ..domain.commands import ApproveExhibitor, WithdrawExhibitor
from ..domain.events import registry as forums_registry
from ..handlers import approve_exhibitor, withdraw_exhibitor


async def _approve(application: Application, commands: PolicyCommands) -> None:
    command = ApproveExhibitor(
        exhibitor_id=application.application_id,
        edition_code=application.edition_code,
        applicant=application.applicant,
        name_zh=application.name_zh,
        name_en=application.name_en,
    )
    await commands.run(approve_exhibitor, command)


async def _withdraw(application_id: str, reason: str, commands: PolicyCommands) -> None:
    command = WithdrawExhibitor(exhibitor_id=application_id, reason=reason)
    await commands.run(withdraw_exhibitor, command)


exhibitors = approved_exhibitors(
    name="forums_exhibitors",
    registry=forums_registry,
    actor="system:exhibitors-policy",
    on_approved=_approve,
    on_withdrawn=_withdraw,
)
