"""Online booths (线上展台): packages by tier, unbounded, each order its own small contract.

No inventory to run out of, so no per-unit stream: each order is a stream of its own
(ordered, then payments), and the exhibitor's account records the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

from . import pricing
from .account import Account, require_acting_for, require_admitted
from .commands import OrderOnlineBooth, RecordOnlinePayment
from .events import ExhibitorContractOpened, OnlineBoothOrdered, OnlinePaymentReceived
from .sales import Market
from .values import EditionStreams


@dataclass(frozen=True)
class OnlineOrder:
    edition_code: str
    order_id: str
    ordered: OnlineBoothOrdered | None = None
    paid_fen: int = 0
    references: tuple[str, ...] = ()


online_stream = EditionStreams("online")
"""One stream per order: online booths are unbounded, so there is no per-unit stream."""


def initial(stream_id: str) -> OnlineOrder:
    edition, order_id = online_stream.parts(stream_id)
    return OnlineOrder(edition_code=edition, order_id=order_id)


def order(
    command: OrderOnlineBooth,
    *,
    state: OnlineOrder,
    account: Account,
    market: Market,
    now: datetime,
) -> list[DomainEvent]:
    if state.ordered is not None:
        raise Conflict(f"order {state.order_id} exists", code="order_exists")
    require_admitted(account, state.edition_code)
    require_acting_for(account, command.by)
    if command.tier not in market.catalogue.packages:
        raise NotFound(f"no online package {command.tier}", code="package_not_found")
    rules = market.prices.current
    return [
        OnlineBoothOrdered(
            edition_code=state.edition_code,
            order_id=state.order_id,
            exhibitor_id=account.exhibitor_id,
            tier=command.tier,
            price_fen=pricing.online_price(command.tier, rules),
            rule_version=rules.version,
        ),
        ExhibitorContractOpened(
            exhibitor_id=account.exhibitor_id, contract_id=state.order_id, booth_code=None
        ),
    ]


def pay(command: RecordOnlinePayment, *, state: OnlineOrder) -> list[DomainEvent]:
    if state.ordered is None:
        raise NotFound(f"order {state.order_id} not found", code="order_not_found")
    if command.reference in state.references:
        return []
    outstanding = state.ordered.price_fen - state.paid_fen
    if command.amount_fen > outstanding:
        raise DomainError(
            f"the payment exceeds the {outstanding} fen outstanding",
            code="payment_exceeds_balance",
            outstanding_fen=outstanding,
        )
    return [
        OnlinePaymentReceived(
            edition_code=state.edition_code,
            order_id=state.order_id,
            amount_fen=command.amount_fen,
            reference=command.reference,
            paid_total_fen=state.paid_fen + command.amount_fen,
        )
    ]


def evolve(state: OnlineOrder, event: DomainEvent) -> OnlineOrder:
    match event:
        case OnlineBoothOrdered():
            return replace(state, ordered=event)
        case OnlinePaymentReceived():
            return replace(
                state,
                paid_fen=event.paid_total_fen,
                references=(*state.references, event.reference),
            )
        case _:
            return state


ONLINE = Fold(initial, evolve)
