"""Construction review of raw space, and online booth packages."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from booths.domain.account import ACCOUNT, account_stream
from booths.domain.commands import (
    ApproveDesign,
    HoldBooth,
    OrderOnlineBooth,
    RecordOnlinePayment,
    ReserveBooth,
    ReturnDesign,
    SubmitDesign,
)
from booths.domain.construction import DESIGN, Design, design_stream
from booths.domain.events import (
    DesignApproved,
    DesignReturned,
    DesignSubmitted,
    ExhibitorContractOpened,
    OnlineBoothOrdered,
    OnlinePackageDefined,
)
from booths.domain.online import ONLINE, online_stream
from booths.domain.values import Contractor, Drawing, Material
from booths.handlers import (
    hold_booth,
    order_online_booth,
    record_online_payment,
    reserve_booth,
    review_design,
)
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from fairline_events.testing import Scenario, given
from unit.booths.factories import EDITION, OPENED, T0, added, admitted, spec

HUAWEI = "app-huawei"


def contracted_raw_space() -> Scenario:
    world = given(
        *OPENED,
        added("E1-102", spec(booth_type="raw_space", area="36")),
        added("E1-101"),
        admitted(HUAWEI),
        admitted("app-jd"),
    )
    hold = HoldBooth(edition_code=EDITION, booth_code="E1-102", exhibitor_id=HUAWEI)
    world.when(hold_booth, hold, at=T0)
    reserve = ReserveBooth(edition_code=EDITION, booth_code="E1-102", contract_id="c-1")
    world.when(reserve_booth, reserve, at=T0)
    return world


def submission(booth: str = "E1-102", exhibitor: str = HUAWEI) -> SubmitDesign:
    return SubmitDesign(
        edition_code=EDITION,
        booth_code=booth,
        exhibitor_id=exhibitor,
        contractor=Contractor(name="北京搭建工程有限公司", licence_no="BJ-123"),
        drawings=(Drawing(title="plan", url="https://files.example.com/plan.pdf"),),
        materials=(
            Material(name="aluminium truss", reusable=True),
            Material(name="bamboo panels", low_carbon=True, reusable=True),
            Material(name="vinyl print"),
        ),
    )


def design(world: Scenario, booth: str = "E1-102") -> Design:
    return world.state(DESIGN, design_stream(EDITION, booth))


def review(
    world: Scenario,
    command: SubmitDesign | ApproveDesign | ReturnDesign,
    now: datetime = T0,
    booth: str = "E1-102",
) -> list[DomainEvent]:
    assert command.booth_code == booth
    return world.when(review_design, command, at=now)


def test_designs_are_versioned_and_reviewed() -> None:
    world = contracted_raw_space()
    [v1] = review(world, submission())
    assert isinstance(v1, DesignSubmitted) and v1.version == 1
    assert sum(m.low_carbon for m in v1.materials) == 1
    with pytest.raises(Conflict) as busy:
        review(world, submission())
    assert busy.value.code == "design_under_review"
    returned = ReturnDesign(
        edition_code=EDITION,
        booth_code="E1-102",
        version=1,
        reviewer="ops-1",
        comments="fire exits",
    )
    [r] = review(world, returned)
    assert isinstance(r, DesignReturned)
    [v2] = review(world, submission())
    assert isinstance(v2, DesignSubmitted) and v2.version == 2
    with pytest.raises(Conflict) as stale:
        review(world, returned)
    assert stale.value.code == "design_not_pending"
    approve = ApproveDesign(edition_code=EDITION, booth_code="E1-102", version=2, reviewer="ops-1")
    [a] = review(world, approve)
    assert isinstance(a, DesignApproved)
    state = design(world)
    assert state.status == "approved" and [v.version for v in state.versions] == [1, 2]


def test_only_the_contracted_exhibitor_submits_before_the_deadline_for_raw_space() -> None:
    world = contracted_raw_space()
    with pytest.raises(Forbidden) as other:
        review(world, submission(exhibitor="app-jd"))
    assert other.value.code == "not_your_booth"
    with pytest.raises(DomainError) as late:
        review(world, submission(), now=T0 + timedelta(days=80))
    assert late.value.code == "design_deadline_passed"
    with pytest.raises(DomainError) as shell:
        review(world, submission(booth="E1-101"), booth="E1-101")
    assert shell.value.code == "design_not_required"


def test_online_packages_are_unbounded_and_priced_by_tier() -> None:
    world = given(
        *OPENED,
        admitted(HUAWEI),
        OnlinePackageDefined(edition_code=EDITION, tier="A", name_zh="A类", name_en="Tier A"),
    )
    orders = []
    for n in range(3):
        command = OrderOnlineBooth(
            edition_code=EDITION, order_id=f"o-{n}", exhibitor_id=HUAWEI, tier="A"
        )
        events = world.when(order_online_booth, command, at=T0)
        orders.append(events)
    [ordered, opened] = orders[0]
    assert isinstance(ordered, OnlineBoothOrdered) and ordered.price_fen == 3_000_000
    assert ordered.rule_version == 1
    assert isinstance(opened, ExhibitorContractOpened) and opened.booth_code is None
    assert len(world.state(ACCOUNT, account_stream(HUAWEI)).contracts) == 3
    assert world.state(ONLINE, online_stream(EDITION, "o-0")).paid_fen == 0

    pay = RecordOnlinePayment(
        edition_code=EDITION, order_id="o-0", amount_fen=3_000_001, reference="r"
    )
    with pytest.raises(DomainError) as exc:
        world.when(record_online_payment, pay)
    assert exc.value.code == "payment_exceeds_balance"
    unknown = OrderOnlineBooth(edition_code=EDITION, order_id="o-9", exhibitor_id=HUAWEI, tier="Z")
    with pytest.raises(NotFound):
        world.when(order_online_booth, unknown, at=T0)
