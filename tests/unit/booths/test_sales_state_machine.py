"""Any sequence of sales commands keeps every invariant of the booths and the accounts.

Hypothesis drives hold, release, reserve, pay, confirm, cancel, expire, move, the waitlist
(join, claim, decline, lapse) and withdrawals in any order and at any time, and after every
step checks what a sales desk relies on: a booth has at most one exhibitor, the accounts
agree with the booths, the hold cap holds, and no fen is lost or made up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import hypothesis.strategies as st
from booths.domain import booth as booth_rules
from booths.domain.account import ACCOUNT, Account, account_stream
from booths.domain.booth import BOOTH, CONTRACTED, Booth, booth_stream, stage
from booths.domain.catalogue import CATALOGUE, Catalogue, edition_stream
from booths.domain.commands import (
    CancelContract,
    ClaimOffer,
    ConfirmBooth,
    DeclineOffer,
    ExpireHold,
    HoldBooth,
    JoinWaitlist,
    LapseOffer,
    MoveContract,
    RecordPayment,
    ReleaseHold,
    ReserveBooth,
    WithdrawExhibitor,
)
from booths.domain.events import (
    BoothAdded,
    BoothConfirmed,
    BoothHeld,
    BoothOffered,
    BoothReserved,
    ContractCancelled,
    ContractFlagged,
    ContractMovedIn,
    ContractMovedOut,
    DepositPaid,
    HallCertified,
    HoldExpired,
    HoldReleased,
    OfferLapsed,
    PaidInFull,
    PaymentReceived,
)
from booths.domain.waitlist import WAITLIST, Waitlist, waitlist_stream
from booths.handlers import (
    cancel_contract,
    change_waitlist,
    claim_offer,
    confirm_booth,
    decline_offer,
    expire_hold,
    hold_booth,
    lapse_offer,
    move_contract,
    record_payment,
    release_hold,
    reserve_booth,
    withdraw_exhibitor,
)
from fairline_events.errors import DomainError
from fairline_events.registry import DomainEvent
from fairline_events.testing import given
from fairline_events.transact import CommandHandler
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from unit.booths.factories import EDITION, OPENED, T0, added, admitted, spec

BOOTHS = ["E1-101", "E1-102", "E1-103", "E1-104", "SG1-001"]
EXHIBITORS = ["ex-a", "ex-b", "ex-c", "ex-late"]
"""ex-late is admitted only when a rule says so; until then it may not hold."""
CAP = 3

CONTRACT = frozenset(CONTRACTED)
LEGAL_FROM: dict[type[DomainEvent], frozenset[str]] = {
    BoothAdded: frozenset({"unlisted"}),
    BoothHeld: frozenset({"free", "offered"}),
    HoldReleased: frozenset({"held"}),
    HoldExpired: frozenset({"held"}),
    BoothReserved: frozenset({"held"}),
    PaymentReceived: frozenset({"reserved", "deposit_paid"}),
    DepositPaid: frozenset({"reserved"}),
    PaidInFull: frozenset({"reserved", "deposit_paid"}),
    BoothConfirmed: frozenset({"paid_in_full"}),
    ContractCancelled: CONTRACT,
    ContractFlagged: CONTRACT,
    ContractMovedOut: CONTRACT,
    ContractMovedIn: frozenset({"free"}),
    BoothOffered: frozenset({"free"}),
    OfferLapsed: frozenset({"offered"}),
}
"""The status a booth must be in for each event: any history is a path through these."""

booths = st.sampled_from(BOOTHS)
exhibitors = st.sampled_from(EXHIBITORS)


class SalesFloor(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = given(
            *OPENED,
            added("E1-101"),
            added("E1-102", spec(booth_type="raw_space", area="36", sides="corner")),
            added("E1-103", spec(area="12.5", sides="island")),
            added("E1-104", spec(zone="finance", booth_type="outdoor", area="20")),
            added("SG1-001", spec(hall="SG1", zone="finance", booth_type="raw_space", area="54")),
            *(admitted(e) for e in EXHIBITORS if e != "ex-late"),
        )
        self.now = T0
        self.contracts = 0
        self.refused: dict[str, int] = {}

    # --- helpers --------------------------------------------------------------------------

    def attempt(self, handler: CommandHandler[Any], command: object) -> list[DomainEvent]:
        try:
            return self.world.when(handler, command, at=self.now)
        except DomainError as exc:
            self.refused[exc.code] = self.refused.get(exc.code, 0) + 1
            return []

    def booth(self, code: str) -> Booth:
        return self.world.state(BOOTH, booth_stream(EDITION, code))

    def account(self, exhibitor: str) -> Account:
        return self.world.state(ACCOUNT, account_stream(exhibitor))

    def waitlist(self, zone: str) -> Waitlist:
        return self.world.state(WAITLIST, waitlist_stream(EDITION, zone))

    def catalogue(self) -> Catalogue:
        return self.world.state(CATALOGUE, edition_stream(EDITION))

    def freeing_state(self, code: str) -> tuple[Booth, Account, Waitlist] | None:
        b = self.booth(code)
        if b.holder is None or b.spec is None:
            return None
        return b, self.account(b.holder), self.waitlist(b.spec.zone_code)

    # --- rules ----------------------------------------------------------------------------

    @rule(hours=st.sampled_from([1, 6, 24, 49, 73]))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule()
    def the_park_hall_is_certified(self) -> None:
        if not self.catalogue().hall("SG1").sellable:
            self.world.given(
                HallCertified(edition_code=EDITION, hall_code="SG1", certificate_no="BJ-1")
            )

    @rule()
    def a_late_exhibitor_is_approved(self) -> None:
        if self.account("ex-late").status == "unknown":
            self.world.given(admitted("ex-late"))

    @rule(code=booths, exhibitor=exhibitors)
    def hold(self, code: str, exhibitor: str) -> None:
        command = HoldBooth(edition_code=EDITION, booth_code=code, exhibitor_id=exhibitor)
        self.attempt(hold_booth, command)

    def in_status(self, *statuses: str) -> list[str]:
        return [c for c, b in self.all_booths().items() if b.status in statuses]

    def pick(self, data: st.DataObject, *statuses: str) -> str:
        """A booth in one of `statuses`: the rule's precondition made sure there is one."""
        return data.draw(st.sampled_from(self.in_status(*statuses)))

    @precondition(lambda self: bool(self.in_status("held")))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        code = self.pick(data, "held")
        state = self.freeing_state(code)
        if state is None:
            return
        command = ReleaseHold(edition_code=EDITION, booth_code=code, reason="changed plans")
        self.attempt(release_hold, command)

    @precondition(lambda self: bool(self.in_status("held")))
    @rule(data=st.data())
    def expire(self, data: st.DataObject) -> None:
        code = self.pick(data, "held")
        state = self.freeing_state(code)
        if state is None:
            return
        command = ExpireHold(edition_code=EDITION, booth_code=code)
        self.attempt(expire_hold, command)

    @precondition(lambda self: bool(self.in_status("held")))
    @rule(data=st.data())
    def reserve(self, data: st.DataObject) -> None:
        code = self.pick(data, "held")
        b = self.booth(code)
        if b.holder is None:
            return
        self.contracts += 1
        command = ReserveBooth(
            edition_code=EDITION, booth_code=code, contract_id=f"c-{self.contracts}"
        )
        self.attempt(reserve_booth, command)

    @precondition(lambda self: bool(self.in_status("reserved", "deposit_paid")))
    @rule(data=st.data(), share=st.sampled_from([1, 2, 3, 10]), extra=st.sampled_from([0, 0, 1]))
    def pay(self, data: st.DataObject, share: int, extra: int) -> None:
        code = self.pick(data, "reserved", "deposit_paid")
        b = self.booth(code)
        outstanding = b.contract.outstanding_fen if b.contract else 1000
        amount = max(outstanding // share + extra, 1)
        self.contracts += 1
        command = RecordPayment(
            edition_code=EDITION,
            booth_code=code,
            amount_fen=amount,
            reference=f"r-{self.contracts}",
        )
        self.attempt(record_payment, command)

    @precondition(lambda self: bool(self.in_status("paid_in_full")))
    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        code = self.pick(data, "paid_in_full")
        command = ConfirmBooth(edition_code=EDITION, booth_code=code)
        self.attempt(confirm_booth, command)

    @precondition(lambda self: bool(self.in_status(*CONTRACTED)))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        code = self.pick(data, *CONTRACTED)
        state = self.freeing_state(code)
        if state is None:
            return
        command = CancelContract(edition_code=EDITION, booth_code=code, reason="budget")
        self.attempt(cancel_contract, command)

    @precondition(lambda self: bool(self.in_status(*CONTRACTED)))
    @rule(data=st.data(), to=booths)
    def move(self, data: st.DataObject, to: str) -> None:
        code = self.pick(data, *CONTRACTED)
        state = self.freeing_state(code)
        if state is None:
            return
        command = MoveContract(edition_code=EDITION, booth_code=code, to_booth_code=to, reason="x")
        self.attempt(move_contract, command)

    @rule(data=st.data(), zone=st.sampled_from(["digital-trust", "finance"]))
    def join_waitlist(self, data: st.DataObject, zone: str) -> None:
        line = self.waitlist(zone).line
        exhibitor = data.draw(st.sampled_from([e for e in EXHIBITORS if e not in line] or ["ex-a"]))
        command = JoinWaitlist(edition_code=EDITION, zone_code=zone, exhibitor_id=exhibitor)
        self.attempt(change_waitlist, command)

    @precondition(lambda self: bool(self.in_status("offered")))
    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        code = self.pick(data, "offered")
        b = self.booth(code)
        if b.holder is None:
            return
        command = ClaimOffer(edition_code=EDITION, booth_code=code)
        self.attempt(claim_offer, command)

    @precondition(lambda self: bool(self.in_status("offered")))
    @rule(data=st.data())
    def decline(self, data: st.DataObject) -> None:
        code = self.pick(data, "offered")
        state = self.freeing_state(code)
        if state is None:
            return
        command = DeclineOffer(edition_code=EDITION, booth_code=code)
        self.attempt(decline_offer, command)

    @precondition(lambda self: bool(self.in_status("offered")))
    @rule(data=st.data())
    def lapse(self, data: st.DataObject) -> None:
        code = self.pick(data, "offered")
        b = self.booth(code)
        if b.spec is None:
            return
        command = LapseOffer(edition_code=EDITION, booth_code=code)
        self.attempt(lapse_offer, command)

    @precondition(lambda self: self.now > T0)
    @rule(exhibitor=st.sampled_from(["ex-c", "ex-late"]))
    def withdraw(self, exhibitor: str) -> None:
        command = WithdrawExhibitor(exhibitor_id=exhibitor, reason="withdrew")
        self.attempt(withdraw_exhibitor, command)

    # --- invariants -----------------------------------------------------------------------

    def all_booths(self) -> dict[str, Booth]:
        return {code: self.booth(code) for code in BOOTHS}

    @invariant()
    def each_booth_is_in_one_consistent_state(self) -> None:
        for code, b in self.all_booths().items():
            if b.status == "free":
                assert b.holder is None and b.contract is None, code
            elif b.status == "held":
                assert b.holder and b.hold_quote and b.hold_expires_at and b.contract is None
            elif b.status == "offered":
                assert b.holder and b.offer_until and b.contract is None
            else:
                assert b.status in CONTRACTED and b.contract is not None
                assert b.holder == b.contract.exhibitor_id

    @invariant()
    def every_booth_history_is_a_legal_path(self) -> None:
        for code in BOOTHS:
            state = booth_rules.initial(booth_stream(EDITION, code))
            for event in self.world.events_of(booth_stream(EDITION, code)):
                allowed = LEGAL_FROM[type(event)]
                assert state.status in allowed, (code, type(event).__name__, state.status)
                state = booth_rules.evolve(state, event)

    @invariant()
    def accounts_agree_with_the_booths(self) -> None:
        booths_now = self.all_booths()
        for exhibitor in EXHIBITORS:
            account = self.account(exhibitor)
            held = {
                c for c, b in booths_now.items() if b.status == "held" and b.holder == exhibitor
            }
            assert account.holds == held, (exhibitor, account.holds, held)
            contracted = {
                b.contract.contract_id: c
                for c, b in booths_now.items()
                if b.contract is not None and b.contract.exhibitor_id == exhibitor
            }
            assert account.contracts == contracted
            assert len(account.holds) <= CAP

    @invariant()
    def only_admitted_exhibitors_hold(self) -> None:
        for b in self.all_booths().values():
            if b.status == "held":
                assert b.holder is not None
                assert self.account(b.holder).status == "admitted"

    @invariant()
    def a_contract_is_on_one_booth_only(self) -> None:
        ids = [b.contract.contract_id for b in self.all_booths().values() if b.contract]
        assert len(ids) == len(set(ids))

    @invariant()
    def payments_match_the_stage_of_each_contract(self) -> None:
        for b in self.all_booths().values():
            if b.contract is None:
                continue
            expected = stage(b.contract.paid_fen, b.contract.terms)
            if b.status == "confirmed":
                assert expected == "paid_in_full"
            else:
                assert b.status == expected, (b.status, expected)

    @invariant()
    def no_fen_is_lost_or_made_up(self) -> None:
        every = [e for events in self.world.streams.values() for e in events]
        received = sum(e.amount_fen for e in every if isinstance(e, PaymentReceived))
        on_contracts = sum(b.contract.paid_fen for b in self.all_booths().values() if b.contract)
        on_cancelled = sum(e.paid_fen for e in every if isinstance(e, ContractCancelled))
        assert received == on_contracts + on_cancelled

    @invariant()
    def no_one_waits_twice_in_a_line(self) -> None:
        for zone in ["digital-trust", "finance"]:
            line = self.waitlist(zone).line
            assert len(line) == len(set(line))


SalesFloor.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSalesFloor = SalesFloor.TestCase


class Choose:
    """Stands in for Hypothesis' data object in the scripted walk: draws the named booth."""

    def __init__(self, code: str) -> None:
        self.code = code

    def draw(self, _: object) -> str:
        return self.code


def test_the_machine_exercises_the_whole_flow() -> None:
    """A scripted walk through the same machine: every kind of step succeeds at least once."""
    floor = SalesFloor()
    floor.hold("E1-101", "ex-a")
    floor.reserve(Choose("E1-101"))
    floor.pay(Choose("E1-101"), 1, 0)
    floor.confirm(Choose("E1-101"))
    floor.move(Choose("E1-101"), "E1-102")
    floor.join_waitlist(Choose("ex-b"), "digital-trust")
    floor.cancel(Choose("E1-102"))
    assert floor.booth("E1-102").holder == "ex-b"
    floor.claim(Choose("E1-102"))
    floor.time_passes(73)
    floor.expire(Choose("E1-102"))
    floor.hold("E1-103", "ex-c")
    floor.withdraw("ex-c")
    assert floor.refused == {}
    assert floor.booth("E1-103").status == "free"
    floor.accounts_agree_with_the_booths()
    floor.no_fen_is_lost_or_made_up()
