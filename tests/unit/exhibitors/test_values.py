"""What an exhibitor may type into the registration form, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from exhibitors.domain.commands import (
    EditApplication,
    RegisterExhibitor,
    RejectApplication,
    ReturnApplication,
    WithdrawApplication,
)
from exhibitors.domain.events import ApplicationEdited
from exhibitors.domain.values import CompanyProfile, ContactPerson
from pydantic import ValidationError

COMPANY: dict[str, Any] = {
    "name_zh": "华为",
    "name_en": "Huawei",
    "country_or_region": "CN",
    "sector": "telecom and computing services",
    "participation_mode": "both",
}
CONTACT: dict[str, Any] = {
    "name": "王芳",
    "email": "wang.fang@example.cn",
    "phone": "+86 10 1234 5678",
}


def company(**changes: Any) -> CompanyProfile:
    return CompanyProfile.model_validate(COMPANY | changes)


def contact(**changes: Any) -> ContactPerson:
    return ContactPerson.model_validate(CONTACT | changes)


def test_a_complete_profile_is_accepted_and_trimmed() -> None:
    profile = company(name_en="  Huawei  ", country_or_region=" hk ")
    assert profile.name_en == "Huawei"
    assert profile.country_or_region == "HK"
    assert contact(email="  wang.fang@example.cn ").email == "wang.fang@example.cn"


@pytest.mark.parametrize("field", ["name_zh", "name_en", "sector"])
@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_company_names_and_sector_cannot_be_blank(field: str, blank: str) -> None:
    with pytest.raises(ValidationError) as exc:
        company(**{field: blank})
    assert exc.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("code", ["CN", "US", "GB", "HK", "MO", "TW"])
def test_countries_and_regions_use_two_letter_codes(code: str) -> None:
    assert company(country_or_region=code).country_or_region == code


@pytest.mark.parametrize("code", ["", "C", "CHN", "China", "中国", "C1", "C-N", "U.S."])
def test_other_country_spellings_are_refused(code: str) -> None:
    with pytest.raises(ValidationError, match="country_or_region"):
        company(country_or_region=code)


@pytest.mark.parametrize("mode", ["offline", "online", "both"])
def test_participation_modes(mode: str) -> None:
    assert company(participation_mode=mode).participation_mode == mode


def test_an_unknown_participation_mode_is_refused() -> None:
    with pytest.raises(ValidationError, match="participation_mode"):
        company(participation_mode="hybrid")


@pytest.mark.parametrize(
    "email",
    [
        "",
        "wang",
        "wang@",
        "@example.cn",
        "wang@example",
        "wang fang@example.cn",
        "a@b@c.cn",
        "wang@.cn",
        "wang@example..cn",
    ],
)
def test_bad_emails_are_refused(email: str) -> None:
    with pytest.raises(ValidationError, match="email"):
        contact(email=email)


@pytest.mark.parametrize("phone", ["", "call me", "123", "+86-10-abc-5678", "++86 10 1234"])
def test_bad_phone_numbers_are_refused(phone: str) -> None:
    with pytest.raises(ValidationError, match="phone"):
        contact(phone=phone)


def test_the_contact_person_needs_a_name() -> None:
    with pytest.raises(ValidationError, match="name"):
        contact(name="  ")


def test_unknown_fields_are_refused_rather_than_dropped() -> None:
    with pytest.raises(ValidationError, match="website"):
        CompanyProfile.model_validate(COMPANY | {"website": "https://example.cn"})


def test_registration_needs_a_well_formed_edition_code() -> None:
    ok = RegisterExhibitor(
        application_id="app-1", edition_code=" CIFTIS-2021 ", company=company(), contact=contact()
    )
    assert ok.edition_code == "ciftis-2021"
    with pytest.raises(ValidationError, match="edition_code"):
        RegisterExhibitor(
            application_id="app-1", edition_code="ciftis 2021", company=company(), contact=contact()
        )


@pytest.mark.parametrize("command", [RejectApplication, ReturnApplication])
@pytest.mark.parametrize("reason", ["", "   "])
def test_rejecting_or_returning_needs_a_reason(command: Any, reason: str) -> None:
    with pytest.raises(ValidationError, match="reason"):
        command(application_id="app-1", reviewer="rev-li", reason=reason)


def test_withdrawing_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="reason"):
        WithdrawApplication(application_id="app-1", reason=" ")


def test_an_edit_is_validated_like_a_registration() -> None:
    with pytest.raises(ValidationError, match="contact_email"):
        EditApplication(application_id="app-1", contact_email="not-an-email")
    with pytest.raises(ValidationError, match="country_or_region"):
        EditApplication(application_id="app-1", country_or_region="CHN")


def test_an_edited_event_must_carry_a_change() -> None:
    with pytest.raises(ValidationError, match="at least one field"):
        ApplicationEdited(application_id="app-1")
