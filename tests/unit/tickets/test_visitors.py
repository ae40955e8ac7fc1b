"""Visitors: who may self-register, who reviews whom, erasure."""

from __future__ import annotations

import pytest
from fairline_events.errors import DomainError
from fairline_events.shredding import new_key, seal, unseal
from fairline_events.testing import given
from tickets.domain.commands import EraseVisitor, NewVisitor, ReviewVisitor
from tickets.domain.events import VisitorApproved, VisitorErased
from tickets.domain.visitor import VISITOR, visitor_stream
from tickets.handlers import erase_visitor, register_visitor, review_visitor

from .history import EDITION, visitor


def new(visitor_id: str, cls: str, by_organiser: bool = False) -> NewVisitor:
    key = new_key()
    return NewVisitor.model_validate(
        {
            "visitor_id": visitor_id,
            "edition_code": EDITION,
            "account": "acct-1",
            "visitor_class": cls,
            "key_id": "vk-1",
            "key": key,
            "name": seal(key, "vk-1", "name", "Li Lei"),
            "document_type": "resident_id",
            "document_number": seal(key, "vk-1", "document_number", "110105199001010011"),
            "phone": seal(key, "vk-1", "phone", "+86 138 0000 0000"),
            "organisation": None,
            "country_region": "CN",
            "by_organiser": by_organiser,
        }
    )


def test_public_visitors_are_approved_at_once_trade_and_media_wait_for_review() -> None:
    desk = given()
    for visitor_id, cls, status in [
        ("p", "public", "approved"),
        ("t", "trade", "pending"),
        ("m", "media", "pending"),
    ]:
        desk.when(register_visitor, new(visitor_id, cls))
        assert desk.state(VISITOR, visitor_stream(visitor_id)).status == status


def test_guests_and_staff_are_registered_by_the_organiser_only() -> None:
    with pytest.raises(DomainError) as refused:
        given().when(register_visitor, new("g", "guest"))
    assert refused.value.code == "invitation_only"
    assert given().when(register_visitor, new("g", "guest", by_organiser=True))


def test_the_press_centre_accredits_media_and_not_trade_visitors() -> None:
    desk = given(
        visitor("m", cls="media", approved=False), visitor("t", cls="trade", approved=False)
    )
    approve = ReviewVisitor(visitor_id="m", approve=True, reviewer="press_centre")
    assert [type(e) for e in desk.when(review_visitor, approve)] == [VisitorApproved]
    with pytest.raises(DomainError) as refused:
        desk.when(
            review_visitor, ReviewVisitor(visitor_id="t", approve=True, reviewer="press_centre")
        )
    assert refused.value.code == "not_your_review"
    with pytest.raises(DomainError) as refused:
        desk.when(
            review_visitor, ReviewVisitor(visitor_id="t", approve=False, reviewer="organiser")
        )
    assert refused.value.code == "reason_required"


def test_erasure_names_the_key_to_destroy_once() -> None:
    desk = given(visitor("v-1"))
    events = desk.when(erase_visitor, EraseVisitor(visitor_id="v-1"))
    assert events == [VisitorErased(visitor_id="v-1", key_id="vk-v-1")]
    assert desk.when(erase_visitor, EraseVisitor(visitor_id="v-1")) == []


def test_a_sealed_field_opens_only_as_itself() -> None:
    key = new_key()
    sealed = seal(key, "vk-1", "name", "Li Lei")
    assert unseal(key, sealed, "name") == "Li Lei"
    with pytest.raises(ValueError):
        unseal(key, sealed, "phone")
