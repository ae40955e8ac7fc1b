"""What selling a sponsorship package and booking an ad placement share: an offer or a hold
that lapses at its deadline, and payments in fen never past the price. Each aggregate keeps
its own words and states (a package is offered and contracted, a booking held and
confirmed) and its own order of checks; the deadline and the money are decided here once.
"""

from __future__ import annotations

from datetime import datetime

from fairline_events.errors import DomainError


def past(deadline: datetime | None, now: datetime) -> bool:
    """An offer's or a hold's deadline has come (none set: it never lapses)."""
    return deadline is not None and deadline <= now


def within_price(*, amount_fen: int, price_fen: int, paid_fen: int) -> None:
    """A payment that would take the total past the price is refused, saying what is due."""
    due = price_fen - paid_fen
    if paid_fen + amount_fen > price_fen:
        raise DomainError(
            f"{due} fen are due; {amount_fen} is more", code="overpayment", due_fen=due
        )
