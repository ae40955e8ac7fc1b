"""Prices with provenance: quotes in whole fen, rule versions, early bird, fee tiers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from booths.domain import pricing
from booths.domain.commands import PublishPriceList
from booths.domain.events import BoothsEvent, PriceListPublished, registry
from booths.domain.pricing import prices_stream
from booths.domain.values import BoothSpec, CancellationTier, ContractTerms, Rate
from booths.handlers import publish_price_list
from fairline_events.errors import DomainError, NotFound
from fairline_events.testing import given
from unit.booths.factories import EDITION, OPENED, PRICES, T0, spec

DEADLINE = datetime(2021, 6, 30, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("booth_spec", "at", "total", "deposit"),
    [
        # 9 m² shell scheme at 1 500 CNY/m², row, early bird −10 %
        (spec(), T0, 1_215_000, 364_500),
        (spec(), DEADLINE, 1_215_000, 364_500),
        (spec(), DEADLINE + timedelta(seconds=1), 1_350_000, 405_000),
        # 36 m² raw space in the Digital Trust zone at its own rate, corner +10 %
        (
            spec(booth_type="raw_space", area="36", sides="corner"),
            DEADLINE + timedelta(days=1),
            5_148_000,
            1_544_400,
        ),
        # raw space elsewhere takes the rate for any zone; island +20 %
        (
            spec(zone="finance", booth_type="raw_space", area="54", sides="island"),
            DEADLINE + timedelta(days=1),
            7_776_000,
            2_332_800,
        ),
        # a fraction of a fen rounds half up: 12.55 m² × 150 000 fen = 1 882 500
        (spec(area="12.55", sides="peninsula"), DEADLINE + timedelta(days=1), 2_164_875, 649_463),
    ],
)
def test_a_quote_shows_every_line_in_whole_fen(
    booth_spec: BoothSpec, at: datetime, total: int, deposit: int
) -> None:
    quote = pricing.quote(booth_spec, PRICES, at)
    assert quote.total_fen == total
    assert quote.deposit_fen == deposit
    assert quote.base_fen + quote.surcharge_fen - quote.discount_fen == quote.total_fen
    assert quote.rule_version == 1
    assert quote.quoted_on == at.date()


def test_a_booth_type_without_a_rate_cannot_be_quoted() -> None:
    rules = PRICES.model_copy(update={"rates": (Rate(booth_type="raw_space", fen_per_m2=1),)})
    with pytest.raises(DomainError) as exc:
        pricing.quote(spec(), rules, T0)
    assert exc.value.code == "no_price_for_booth"
    assert exc.value.details["booth_type"] == "shell_scheme"


def test_each_publication_is_a_new_version_and_old_ones_stay() -> None:
    world = given(*OPENED)
    command = PublishPriceList(
        edition_code=EDITION,
        note="mid-year revision",
        rates=(Rate(booth_type="shell_scheme", fen_per_m2=160_000),),
    )
    [v2] = world.when(publish_price_list, command)
    assert isinstance(v2, PriceListPublished) and v2.version == 2
    prices = world.state(pricing.PRICES, prices_stream(EDITION))
    assert prices.current.version == 2
    assert prices.version(1) == PRICES
    with pytest.raises(NotFound) as exc:
        prices.version(3)
    assert exc.value.code == "price_list_not_found"


def test_a_price_list_with_two_rates_for_the_same_booth_is_refused() -> None:
    command = PublishPriceList(
        edition_code=EDITION,
        note="typo",
        rates=(
            Rate(booth_type="outdoor", fen_per_m2=1),
            Rate(booth_type="outdoor", fen_per_m2=2),
        ),
    )
    with pytest.raises(DomainError) as exc:
        given(*OPENED).when(publish_price_list, command)
    assert exc.value.code == "duplicate_rate"


def test_an_early_bird_discount_needs_a_deadline() -> None:
    command = PublishPriceList(
        edition_code=EDITION,
        note="x",
        rates=(Rate(booth_type="outdoor", fen_per_m2=1),),
        early_bird_discount_bp=500,
    )
    with pytest.raises(DomainError) as exc:
        given(*OPENED).when(publish_price_list, command)
    assert exc.value.code == "early_bird_deadline"


def test_a_requote_keeps_the_original_day_and_early_bird() -> None:
    original = pricing.quote(spec(), PRICES, T0)
    moved = pricing.requote(spec(area="18"), PRICES, original)
    assert moved.early_bird and moved.quoted_on == T0.date()
    assert moved.total_fen == 2 * original.total_fen


def test_fee_tiers_count_days_before_opening() -> None:
    terms = ContractTerms(
        contract_id="c-1",
        exhibitor_id="ex",
        quote=pricing.quote(spec(), PRICES, T0),
        opens_on=date(2021, 9, 2),
        cancellation=(
            CancellationTier(days_before_opening=0, fee_bp=5_000),
            CancellationTier(days_before_opening=90, fee_bp=1_000),
        ),
    )
    assert terms.fee_bp(date(2021, 1, 1)) == 1_000
    assert terms.fee_bp(date(2021, 6, 5)) == 5_000
    assert terms.fee_bp(date(2021, 9, 3)) == 10_000


def test_every_event_round_trips_through_json_and_names_its_stream() -> None:
    for name in registry.names():
        assert name.startswith("booths.")
    event = PRICES
    kind, version, payload = registry.encode(event)
    assert registry.decode(kind, version, json.loads(json.dumps(payload))) == event
    assert isinstance(event, BoothsEvent) and event.stream_id() == f"prices-{EDITION}"
    assert pricing.quote(spec(), PRICES, T0).area_m2 == Decimal("9")
