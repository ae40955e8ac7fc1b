"""The shared code type: what every service's edition, room, tier or hotel code accepts."""

from __future__ import annotations

from typing import Annotated

import pytest
from fairline_events.values import SLUG, Slug, code, slug
from pydantic import BaseModel, ValidationError


class Asked(BaseModel):
    edition: Annotated[str, code("edition", "ciftis-2021", longest=11)]
    room: Annotated[str, code("room", "cncc-301")]
    zone: Slug | None = None


def test_a_code_is_trimmed_and_lower_cased() -> None:
    asked = Asked(edition=" CIFTIS-2021 ", room="Cncc-301", zone="Digital-Services")
    assert (asked.edition, asked.room, asked.zone) == (
        "ciftis-2021",
        "cncc-301",
        "digital-services",
    )


@pytest.mark.parametrize("edition", ["ciftis--2021", "-ciftis", "ciftis_2021", "ciftis 2021",
                                     "", "ciftis-20211"])  # fmt: skip
def test_anything_but_words_joined_by_single_dashes_within_its_length_is_refused(
    edition: str,
) -> None:
    with pytest.raises(ValidationError) as refused:
        Asked(edition=edition, room="cncc-301")
    assert "expected an edition code such as ciftis-2021" in str(refused.value)


def test_the_refusal_names_the_kind_of_code_or_says_what_a_code_is() -> None:
    with pytest.raises(ValidationError) as refused:
        Asked(edition="ciftis-2021", room="301/B", zone="x" * 65)
    assert "expected a room code such as cncc-301" in str(refused.value)
    assert "expected a code of lower-case letters, digits and dashes" in str(refused.value)


@pytest.mark.parametrize(
    ("name", "made"),
    [
        ("Bank of China", "bank-of-china"),
        ("JD.com", "jd-com"),
        (
            "  Provinces and Regions, HK, Macao and Taiwan ",
            "provinces-and-regions-hk-macao-and-taiwan",
        ),
        ("Société Générale & Co.", "soci-t-g-n-rale-co"),
    ],
)
def test_a_name_makes_one_valid_code_whichever_service_makes_it(name: str, made: str) -> None:
    assert slug(name) == made and SLUG.match(made)
