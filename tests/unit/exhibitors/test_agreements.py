"""Signed agreements (云签约): signed once, announced once, never dated in the future."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from exhibitors.domain.agreements import (
    AgreementAnnounced,
    AgreementSigned,
    AnnounceAgreement,
    Money,
    Party,
    SignAgreement,
    decide,
    evolve,
    initial_agreement,
)
from exhibitors.domain.events import registry
from fairline_events.errors import Conflict, DomainError, NotFound
from pydantic import ValidationError

TODAY = date(2021, 9, 5)
SIGN = SignAgreement(
    agreement_id="a1",
    company_id="co-1",
    edition_code="ciftis-2021",
    counterparties=[Party(name="Demo Bank", country_or_region="CN")],
    subject="AI computing centre",
    value=Money(amount=Decimal("12500000.00"), currency="CNY"),
    signed_on=TODAY,
)


def test_signed_then_announced_once() -> None:
    [signed] = decide(SIGN, initial_agreement("a1"), TODAY)
    assert isinstance(signed, AgreementSigned) and signed.value.amount == Decimal("12500000")
    state = evolve(initial_agreement("a1"), signed)
    with pytest.raises(Conflict):
        decide(SIGN, state, TODAY)
    [announced] = decide(AnnounceAgreement(agreement_id="a1", by="ops"), state, TODAY)
    assert announced == AgreementAnnounced(agreement_id="a1", by="ops")
    with pytest.raises(DomainError) as exc:
        decide(AnnounceAgreement(agreement_id="a1", by="ops"), evolve(state, announced), TODAY)
    assert exc.value.code == "illegal_transition"
    with pytest.raises(NotFound):
        decide(AnnounceAgreement(agreement_id="a1", by="ops"), initial_agreement("a1"), TODAY)


def test_agreements_are_recorded_once_signed() -> None:
    later = SIGN.model_copy(update={"signed_on": TODAY + timedelta(days=1)})
    with pytest.raises(DomainError) as exc:
        decide(later, initial_agreement("a1"), TODAY)
    assert exc.value.code == "signed_in_the_future"


@pytest.mark.parametrize(
    "value",
    [
        {"amount": "0", "currency": "CNY"},
        {"amount": "1.001", "currency": "CNY"},
        {"amount": "5", "currency": "yuan"},
    ],
)
def test_values_are_positive_amounts_in_iso_currencies(value: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Money.model_validate(value)


def test_the_value_survives_storage_exactly() -> None:
    [signed] = decide(SIGN, initial_agreement("a1"), TODAY)
    name, version, data = registry.encode(signed)
    assert registry.decode(name, version, json.loads(json.dumps(data))) == signed
