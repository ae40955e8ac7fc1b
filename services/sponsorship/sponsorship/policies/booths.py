"""A package's booth discount, granted or refused by the booths service.

The request is a `sponsorship.BenefitRequested` naming the sponsor's exhibitor; the booths
service's sponsorship policy lowers the price of that exhibitor's booth contracts by the
benefit's percent (`booths.BoothPriceAdjusted` on each booth, naming the package) and
answers on `booths.events`, each answer naming the package, the benefit and the request it
answers: `booths.SponsorDiscountGranted` delivers the benefit (contracts and prices as
proof), `booths.SponsorDiscountRefused` fails it with the booths service's own reason.

Once every contract the discount lowered is cancelled (`booths.ContractCancelled`; a
contract keeps its id and its discount when it moves), the benefit is withdrawn, with who
cancelled the last one, when and why; the team may then ask for it again. While one
discounted contract stands, the discount is still delivered. The answer travels on its
request's stream and each cancellation on its booth's, so they may arrive in either order:
the read model keeps the contracts each delivery lowered and every contract cancelled, and
whichever event completes the picture withdraws. Both handlers first take a lock on the
company, so two of its events applied at once (two workers) still see each other.

It decodes only those three events, with its own models reading only the fields it uses.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict

from .answers import confirmed, refused, withdrawn

consumed = EventRegistry()


class Answer(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    package_id: str
    benefit_no: int
    attempt: int


class Adjusted(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    contract_id: str
    booth_code: str
    price_before_fen: int
    price_after_fen: int


@consumed.event("booths.SponsorDiscountGranted", version=1)
class SponsorDiscountGranted(Answer):
    exhibitor_id: str
    discount_bp: int
    contracts: list[Adjusted]


@consumed.event("booths.SponsorDiscountRefused", version=1)
class SponsorDiscountRefused(Answer):
    reason: str


@consumed.event("booths.ContractCancelled", version=1)
class ContractCancelled(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    contract_id: str
    exhibitor_id: str
    reason: str


TABLES_SQL = """
CREATE TABLE IF NOT EXISTS discounted_contracts (
    package_id  text NOT NULL,
    benefit_no  int  NOT NULL,
    attempt     int  NOT NULL,
    contract_id text NOT NULL,
    PRIMARY KEY (package_id, benefit_no, attempt, contract_id)
);
CREATE INDEX IF NOT EXISTS discounted_contracts_by_contract
    ON discounted_contracts (contract_id);
CREATE TABLE IF NOT EXISTS cancelled_contracts (
    contract_id  text PRIMARY KEY,
    cancelled_by text NOT NULL,
    cancelled_at timestamptz NOT NULL,
    why          text NOT NULL
);
"""

booths = Projection(
    name="sponsorship_booths",
    topics=["booths.events"],
    registry=consumed,
    tables_sql=TABLES_SQL,
)


async def _one_company_at_a_time(tx: ReadModel, exhibitor_id: str) -> None:
    # two int keys: apart from the event store's (one bigint key) locks on streams
    await tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('sponsorship_booths'), hashtext($1))",
        exhibitor_id,
    )


async def _withdraw_if_none_stands(
    tx: ReadModel, env: Envelope, package_id: str, benefit_no: int, attempt: int
) -> None:
    lowered = await tx.fetch(
        """SELECT d.contract_id, c.cancelled_by, c.cancelled_at, c.why
           FROM discounted_contracts d LEFT JOIN cancelled_contracts c USING (contract_id)
           WHERE d.package_id = $1 AND d.benefit_no = $2 AND d.attempt = $3
           ORDER BY c.cancelled_at, d.contract_id""",
        package_id, benefit_no, attempt,
    )  # fmt: skip
    if not lowered or any(c["cancelled_at"] is None for c in lowered):
        return
    last = lowered[-1]
    why = "; ".join(f"contract {c['contract_id']}: {c['why']}" for c in lowered)
    reason = f"booths cancelled every contract the discount lowered ({why})"
    await withdrawn(tx, env, "booths", package_id=package_id, benefit_no=benefit_no,
                    attempt=attempt, withdrawn_by=last["cancelled_by"],
                    withdrawn_at=last["cancelled_at"], reason=reason)  # fmt: skip


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


@booths.on(SponsorDiscountGranted)
async def discount_granted(e: SponsorDiscountGranted, env: Envelope, tx: ReadModel) -> None:
    lowered = "; ".join(
        f"booth {c.booth_code} (contract {c.contract_id})"
        f" {_yuan(c.price_before_fen)} → {_yuan(c.price_after_fen)}"
        for c in e.contracts
    )
    proof = f"booths discount of {e.discount_bp / 100:g}%: {lowered}"
    await _one_company_at_a_time(tx, e.exhibitor_id)
    await confirmed(tx, env, "booths", package_id=e.package_id, benefit_no=e.benefit_no,
                    proof=proof, attempt=e.attempt)  # fmt: skip
    await tx.executemany(
        """INSERT INTO discounted_contracts (package_id, benefit_no, attempt, contract_id)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        [(e.package_id, e.benefit_no, e.attempt, c.contract_id) for c in e.contracts],
    )
    # contracts cancelled before this answer reached us
    await _withdraw_if_none_stands(tx, env, e.package_id, e.benefit_no, e.attempt)


@booths.on(SponsorDiscountRefused)
async def discount_refused(e: SponsorDiscountRefused, env: Envelope, tx: ReadModel) -> None:
    await refused(tx, env, "booths", package_id=e.package_id, benefit_no=e.benefit_no,
                  reason=e.reason, attempt=e.attempt)  # fmt: skip


@booths.on(ContractCancelled)
async def contract_cancelled(e: ContractCancelled, env: Envelope, tx: ReadModel) -> None:
    await _one_company_at_a_time(tx, e.exhibitor_id)
    await tx.execute(
        """INSERT INTO cancelled_contracts (contract_id, cancelled_by, cancelled_at, why)
           VALUES ($1, $2, $3, $4) ON CONFLICT (contract_id) DO NOTHING""",
        e.contract_id, env.actor, env.occurred_at, e.reason,
    )  # fmt: skip
    deliveries = await tx.fetch(
        """SELECT DISTINCT package_id, benefit_no, attempt FROM discounted_contracts
           WHERE contract_id = $1 ORDER BY package_id, benefit_no, attempt""",
        e.contract_id,
    )
    for d in deliveries:
        await _withdraw_if_none_stands(tx, env, d["package_id"], d["benefit_no"], d["attempt"])
