"""A package's booth discount, granted or refused by the booths service.

The request is a `sponsorship.BenefitRequested` naming the sponsor's exhibitor; the booths
service's sponsorship policy lowers the price of that exhibitor's booth contracts by the
benefit's percent (`booths.BoothPriceAdjusted` on each booth, naming the package) and
answers on `booths.events`, each answer naming the package, the benefit and the request it
answers: `booths.SponsorDiscountGranted` delivers the benefit (contracts and prices as
proof), `booths.SponsorDiscountRefused` fails it with the booths service's own reason.

It decodes only those two events, with its own models reading only the fields it uses.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict

from .answers import confirmed, refused

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
    discount_bp: int
    contracts: list[Adjusted]


@consumed.event("booths.SponsorDiscountRefused", version=1)
class SponsorDiscountRefused(Answer):
    reason: str


booths = Projection(
    name="sponsorship_booths",
    topics=["booths.events"],
    registry=consumed,
    tables_sql="SELECT 1;",
)


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
    await confirmed(tx, env, "booths", package_id=e.package_id, benefit_no=e.benefit_no,
                    proof=proof, attempt=e.attempt)  # fmt: skip


@booths.on(SponsorDiscountRefused)
async def discount_refused(e: SponsorDiscountRefused, env: Envelope, tx: ReadModel) -> None:
    await refused(tx, env, "booths", package_id=e.package_id, benefit_no=e.benefit_no,
                  reason=e.reason, attempt=e.attempt)  # fmt: skip
