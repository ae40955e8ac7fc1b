"""Names that would render as nothing or reorder the text around them are refused."""

from __future__ import annotations

import pytest
from exhibitors.domain.events import ExhibitorRegistered
from exhibitors.domain.events import registry as exhibitors
from exhibitors.domain.values import CompanyProfile, ContactPerson
from fairline_events.names import readable
from hotels.api.common import GuestDetails
from pydantic import ValidationError


@pytest.mark.parametrize(
    "name",
    [
        "\u200b\u200b",  # zero-width spaces only
        "\u200d\u2060",  # a joiner and a word joiner
        "\ufeffHuawei",  # a byte-order mark
        "Huawei\u202egpj.exe",  # right-to-left override
        "\u2067Huawei\u2069",  # an isolate
        "\u202bHuawei\u202c",  # an embedding
        "Hua\x07wei",  # a control character
        "\u0301\u0301",  # combining marks only
    ],
)
def test_a_name_that_renders_empty_or_reorders_text_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        readable(name)
    with pytest.raises(ValidationError):
        CompanyProfile(
            name_zh=name,
            name_en="Huawei",
            country_or_region="CN",
            sector="digital trust",
            participation_mode="both",
        )
    with pytest.raises(ValidationError):
        GuestDetails(name=name)


@pytest.mark.parametrize(
    "name", ["华为技术有限公司", "Ω-Systems", "क्षि", "O'Brien & Sons", "👩\u200d💻 Lab"]
)
def test_names_in_every_script_pass(name: str) -> None:
    assert readable(name) == name
    assert GuestDetails(name=name).name == name


def test_an_event_recorded_before_the_rule_still_reads_back() -> None:
    event = ExhibitorRegistered.model_construct(
        application_id="app-1",
        applicant="u-1",
        edition_code="ciftis-2021",
        company=CompanyProfile.model_construct(
            name_zh="\u200b",
            name_en="\u200b",
            country_or_region="CN",
            sector="digital trust",
            participation_mode="both",
        ),
        contact=ContactPerson(
            name="Wang Fang", email="wang.fang@example.com", phone="+86 10 1234 5678"
        ),
    )
    name, version, data = exhibitors.encode(event)
    decoded = exhibitors.decode(name, version, data)
    assert isinstance(decoded, ExhibitorRegistered) and decoded.company.name_zh == "\u200b"
