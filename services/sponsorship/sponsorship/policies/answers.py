"""How another service's answer settles a benefit: the shared half of every benefit's leg.

A confirmation delivers the benefit (with the other service's proof), a refusal fails it
(with the other service's own reason), a move of what delivered it revises the proof, a
cancellation of what delivered it withdraws it (with who cancelled it there, when and why),
each as a command on the package's stream, appended in the projection runner's transaction
(atomically with the consumed offset). All are idempotent (a delivered or failed benefit
stays so; an answer to an older request, or a move or cancellation of an older delivery,
changes nothing), so a redelivery, a rebuild or a restart of either side settles nothing
twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from fairline_events.envelope import Envelope
from fairline_events.errors import DomainError
from fairline_events.policy import policy_commands
from fairline_events.projection import ReadModel
from fairline_events.transact import CommandHandler

from ..domain.commands import DeliverBenefit, FailBenefit, ReviseProof, WithdrawBenefit
from ..domain.events import registry as sponsorship_registry
from ..handlers import deliver_benefit, fail_benefit, revise_proof, withdraw_benefit

C = TypeVar("C")


async def _settle(
    tx: ReadModel, env: Envelope, service: str, handler: CommandHandler[C], command: C
) -> None:
    """Run the command that settles the benefit, as `service`'s policy; a package cancelled
    meanwhile refuses it (nothing left to deliver, fail, revise or take back): nothing to do."""
    commands = policy_commands(
        tx, sponsorship_registry, env, actor=f"system:{service}-policy", source=service
    )
    try:
        await commands.run(handler, command)
    except DomainError:
        return


async def confirmed(
    tx: ReadModel, env: Envelope, service: str, *, package_id: str, benefit_no: int,
    proof: str, attempt: int | None = None,
) -> None:  # fmt: skip
    command = DeliverBenefit(package_id=package_id, benefit_no=benefit_no, proof=proof[:1000],
                             confirmed_by=service, attempt=attempt)  # fmt: skip
    await _settle(tx, env, service, deliver_benefit, command)


async def refused(
    tx: ReadModel, env: Envelope, service: str, *, package_id: str, benefit_no: int,
    reason: str, attempt: int | None = None,
) -> None:  # fmt: skip
    command = FailBenefit(package_id=package_id, benefit_no=benefit_no, reason=reason[:1000],
                          attempt=attempt)  # fmt: skip
    await _settle(tx, env, service, fail_benefit, command)


async def withdrawn(
    tx: ReadModel, env: Envelope, service: str, *, package_id: str, benefit_no: int,
    attempt: int, reason: str, withdrawn_by: str, withdrawn_at: datetime,
) -> None:  # fmt: skip
    """What delivered the benefit (the request `attempt`'s delivery) was taken back by
    `withdrawn_by` at `service`, at `withdrawn_at`, for `reason`."""
    command = WithdrawBenefit(package_id=package_id, benefit_no=benefit_no, attempt=attempt,
                              service=service, withdrawn_by=withdrawn_by[:200],
                              withdrawn_at=withdrawn_at, reason=reason[:1000])  # fmt: skip
    await _settle(tx, env, service, withdraw_benefit, command)


async def moved(
    tx: ReadModel, env: Envelope, service: str, *, package_id: str, benefit_no: int,
    attempt: int, proof: str,
) -> None:  # fmt: skip
    """What delivered the benefit (the request `attempt`'s delivery) moved at `service`: the
    checklist shows `proof`, its new place and time."""
    command = ReviseProof(package_id=package_id, benefit_no=benefit_no, attempt=attempt,
                          service=service, proof=proof[:1000])  # fmt: skip
    await _settle(tx, env, service, revise_proof, command)
