"""Companies across editions, told as given / when / then."""

from __future__ import annotations

from functools import reduce

import pytest
from exhibitors.domain.company import (
    AddStaffMember,
    ChangeCompanyDetails,
    ClaimIdentifier,
    Company,
    CompanyDetailsChanged,
    CompanyIdentifierClaimed,
    CompanyJoinedEdition,
    CompanyRegistered,
    JoinEdition,
    RegisterCompany,
    RemoveStaffMember,
    StaffMemberAdded,
    StaffMemberRemoved,
    decide,
    decide_claim,
    evolve,
    evolve_claim,
    initial_company,
    initial_identifier,
)
from exhibitors.domain.values import (
    CompanyDetails,
    CompanyIdentity,
    credit_code_check_char,
)
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent
from pydantic import ValidationError

CO = "co-1"
HUAWEI = CompanyDetails(
    name_zh="华为", name_en="Huawei", country_or_region="CN", sector="digital transformation"
)
CODE = "914403001922038216"
REGISTERED = CompanyRegistered(
    company_id=CO, identity=CompanyIdentity(credit_code=CODE), details=HUAWEI, owner="wang"
)
WANG = StaffMemberAdded(company_id=CO, person="wang")


def given(*events: DomainEvent) -> Company:
    return reduce(evolve, events, initial_company(CO))


def test_registering_makes_the_registrant_its_first_staff_member() -> None:
    command = RegisterCompany(
        company_id=CO, identity=CompanyIdentity(credit_code=CODE), details=HUAWEI, owner="wang"
    )
    events = decide(command, given())
    assert events == [REGISTERED, WANG]
    state = given(*events)
    assert state.registered and state.staff == {"wang"} and state.details == HUAWEI
    with pytest.raises(Conflict):
        decide(command, state)


def test_commands_on_an_unknown_company_are_not_found() -> None:
    with pytest.raises(NotFound) as exc:
        decide(AddStaffMember(company_id=CO, person="li"), given())
    assert exc.value.code == "company_not_found"


def test_one_participation_per_edition() -> None:
    join = JoinEdition(company_id=CO, edition_code="ciftis-2021", application_id="app-1")
    events = decide(join, given(REGISTERED, WANG))
    assert events == [
        CompanyJoinedEdition(company_id=CO, edition_code="ciftis-2021", application_id="app-1")
    ]
    with pytest.raises(Conflict) as exc:
        decide(join.model_copy(update={"application_id": "app-2"}), given(REGISTERED, *events))
    assert exc.value.code == "already_participating"
    assert exc.value.details["application_id"] == "app-1"
    next_year = JoinEdition(company_id=CO, edition_code="ciftis-2022", application_id="app-3")
    assert decide(next_year, given(REGISTERED, *events))


def test_details_changes_record_only_what_changed() -> None:
    change = ChangeCompanyDetails(company_id=CO, name_en="Huawei Technologies", name_zh="华为")
    assert decide(change, given(REGISTERED)) == [
        CompanyDetailsChanged(company_id=CO, name_en="Huawei Technologies")
    ]
    assert decide(ChangeCompanyDetails(company_id=CO, name_en="Huawei"), given(REGISTERED)) == []


def test_staff_come_and_go_but_the_last_one_stays() -> None:
    state = given(REGISTERED, WANG)
    assert decide(AddStaffMember(company_id=CO, person="wang"), state) == []
    added = decide(AddStaffMember(company_id=CO, person="li"), state)
    state = given(REGISTERED, WANG, *added)
    assert state.staff == {"wang", "li"}
    removed = decide(RemoveStaffMember(company_id=CO, person="wang"), state)
    assert removed == [StaffMemberRemoved(company_id=CO, person="wang")]
    state = given(REGISTERED, WANG, *added, *removed)
    with pytest.raises(DomainError) as exc:
        decide(RemoveStaffMember(company_id=CO, person="li"), state)
    assert exc.value.code == "last_staff_member"
    with pytest.raises(NotFound):
        decide(RemoveStaffMember(company_id=CO, person="zhao"), state)


def test_an_identifier_is_claimed_once() -> None:
    key = CompanyIdentity(credit_code=CODE).keys("CN")[0]
    free = initial_identifier(key)
    claimed = decide_claim(ClaimIdentifier(key=key, company_id=CO), free)
    assert claimed == [CompanyIdentifierClaimed(key=key, company_id=CO)]
    held = evolve_claim(free, claimed[0])
    assert decide_claim(ClaimIdentifier(key=key, company_id=CO), held) == []
    with pytest.raises(Conflict) as exc:
        decide_claim(ClaimIdentifier(key=key, company_id="co-2"), held)
    assert exc.value.code == "company_exists" and exc.value.details["company_id"] == CO


def test_credit_codes_are_normalised_and_checked() -> None:
    assert CompanyIdentity(credit_code=" 9144-0300-1922-0382-16 ").credit_code == CODE
    assert credit_code_check_char(CODE[:17]) == CODE[17]
    for bad in ["91440300192203821", "914403001922038217", "9144030019220382I6", ""]:
        with pytest.raises(ValidationError):
            CompanyIdentity(credit_code=bad)
    with pytest.raises(ValidationError, match="credit code or a registration number"):
        CompanyIdentity()


def test_registration_numbers_are_unique_within_a_country() -> None:
    identity = CompanyIdentity(registration_number=" hrb 12345 ")
    assert identity.keys("DE") == ["reg-DE-HRB12345"]
    both = CompanyIdentity(credit_code=CODE, registration_number="HRB12345")
    assert both.keys("CN") == [f"uscc-{CODE}", "reg-CN-HRB12345"]
