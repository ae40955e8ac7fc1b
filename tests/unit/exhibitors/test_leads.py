"""The lead pipeline, told as given / when / then."""

from __future__ import annotations

from datetime import date, timedelta
from functools import reduce

import pytest
from exhibitors.domain.leads import (
    STAGES,
    ChangeLeadOwner,
    Lead,
    LeadNextActionPlanned,
    LeadNoted,
    LeadOpened,
    LeadOwnerChanged,
    LeadSource,
    LeadStageChanged,
    MoveLead,
    NoteLead,
    OpenLead,
    PlanNextAction,
    decide,
    evolve,
    initial_lead,
    lead_id,
)
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

TODAY = date(2021, 9, 3)
LID = lead_id("co-1", "visitor")
OPENED = LeadOpened(
    lead_id=LID,
    company_id="co-1",
    contact="visitor",
    source=LeadSource(kind="card_exchange", ref="cx-1"),
    owner="wang",
)


def lead(*events: DomainEvent) -> Lead:
    return reduce(evolve, events, initial_lead(LID))


def at_stage(stage: str) -> Lead:
    if stage == "new":
        return lead(OPENED)
    return lead(OPENED, LeadStageChanged(lead_id=LID, from_stage="new", to_stage=stage))


def test_one_lead_per_company_and_contact() -> None:
    assert lead_id("co-1", "visitor") != lead_id("co-2", "visitor")
    command = OpenLead(
        lead_id=LID,
        by="wang",
        company_id="co-1",
        contact="visitor",
        source=LeadSource(kind="meeting", ref="m-1"),
        owner="wang",
    )
    assert decide(command, lead(), TODAY)[0].model_dump()["contact"] == "visitor"
    with pytest.raises(Conflict) as exc:
        decide(command, lead(OPENED), TODAY)
    assert exc.value.code == "lead_exists" and exc.value.details["lead_id"] == LID
    with pytest.raises(NotFound):
        decide(MoveLead(lead_id=LID, by="wang", stage="contacted"), lead(), TODAY)


@pytest.mark.parametrize("start", ["new", "contacted", "qualified", "negotiating"])
@pytest.mark.parametrize("target", STAGES)
def test_open_leads_move_anywhere_but_back_to_new(start: str, target: str) -> None:
    state = at_stage(start)
    command = MoveLead(lead_id=LID, by="wang", stage=target)
    if target == start:
        assert decide(command, state, TODAY) == []
    elif target == "new":
        with pytest.raises(DomainError) as exc:
            decide(command, state, TODAY)
        assert exc.value.code == "illegal_transition"
    else:
        assert decide(command, state, TODAY) == [
            LeadStageChanged(lead_id=LID, from_stage=start, to_stage=target)
        ]


@pytest.mark.parametrize("closed", ["won", "lost"])
@pytest.mark.parametrize("target", ["new", "contacted", "qualified", "negotiating"])
def test_won_and_lost_are_final(closed: str, target: str) -> None:
    with pytest.raises(DomainError) as exc:
        decide(MoveLead(lead_id=LID, by="wang", stage=target), at_stage(closed), TODAY)
    assert exc.value.code == "illegal_transition"


def test_owner_notes_and_next_action() -> None:
    state = lead(OPENED)
    assert decide(ChangeLeadOwner(lead_id=LID, by="wang", owner="wang"), state, TODAY) == []
    assert decide(ChangeLeadOwner(lead_id=LID, by="wang", owner="li"), state, TODAY) == [
        LeadOwnerChanged(lead_id=LID, owner="li")
    ]
    noted = decide(NoteLead(lead_id=LID, by="li", text="wants a demo"), state, TODAY)
    assert noted == [LeadNoted(lead_id=LID, by="li", text="wants a demo")]
    plan = PlanNextAction(lead_id=LID, by="li", due_on=TODAY, action="call back")
    planned = decide(plan, state, TODAY)
    assert planned == [LeadNextActionPlanned(lead_id=LID, due_on=TODAY, action="call back")]
    state = lead(OPENED, *noted, *planned)
    assert (state.next_action_on, state.next_action, len(state.notes)) == (TODAY, "call back", 1)
    assert decide(plan, state, TODAY) == []
    cleared = decide(PlanNextAction(lead_id=LID, by="li", due_on=None), state, TODAY)
    assert lead(OPENED, *planned, *cleared).next_action is None


def test_next_actions_are_due_today_or_later_and_say_what() -> None:
    yesterday = PlanNextAction(
        lead_id=LID, by="li", due_on=TODAY - timedelta(days=1), action="call"
    )
    with pytest.raises(DomainError) as exc:
        decide(yesterday, lead(OPENED), TODAY)
    assert exc.value.code == "next_action_in_the_past"
    with pytest.raises(DomainError) as exc:
        decide(PlanNextAction(lead_id=LID, by="li", due_on=TODAY), lead(OPENED), TODAY)
    assert exc.value.code == "next_action_missing"
    with pytest.raises(DomainError) as exc:
        decide(
            PlanNextAction(lead_id=LID, by="li", due_on=TODAY, action="call"),
            at_stage("won"),
            TODAY,
        )
    assert exc.value.code == "lead_closed"


def test_closing_a_lead_clears_its_next_action() -> None:
    planned = LeadNextActionPlanned(lead_id=LID, due_on=TODAY, action="send the contract")
    won = LeadStageChanged(lead_id=LID, from_stage="new", to_stage="won")
    assert lead(OPENED, planned, won).next_action_on is None
