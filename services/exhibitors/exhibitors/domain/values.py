"""Value objects of exhibitor registration (展商注册): validated, immutable, no I/O."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fairline_events.names import Readable
from fairline_events.values import Slug as Slug  # a zone or other code, e.g. `laozihao`
from fairline_events.values import code
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

ParticipationMode = Literal["offline", "online", "both"]
"""How a company takes part: at the venues (线下), in the online showcase (线上), or both."""

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Readable
]
"""A name shown to people: never empty on screen, never reordering the text around it."""
"""A person's or company's name: trimmed, never blank."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
"""A reason or other free text that must say something."""

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
"""Free text that may be left empty."""

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
"""An opaque id: an application id, a reviewer's staff id."""


class Actor(BaseModel):
    """Who asks for a command, as the rules that depend on it see them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person: Identifier
    recruiter: bool = False
    """On the organiser's recruitment team, which may act for any company."""


class Asked(BaseModel):
    """A command some rule allows only to some people (a company's staff, its applicant).

    Who asked never becomes part of an event (it is left out of `model_dump`); the events'
    metadata name the actor already. Left out, nobody in particular asks, and such a rule
    refuses.
    """

    asked_by: Actor | None = Field(default=None, exclude=True)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]+$")


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("not an email address (expected name@domain.tld)")
    return value


def _country_or_region(value: str) -> str:
    value = value.strip().upper()
    if not _COUNTRY.match(value):
        raise ValueError("expected a two-letter ISO 3166 code such as CN, US, HK, MO or TW")
    return value


def _phone(value: str) -> str:
    value = value.strip()
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or not 5 <= digits <= 20:
        raise ValueError("not a phone number (digits, spaces, +, -, parentheses)")
    return value


EditionCode = Annotated[str, code("edition", "ciftis-2021", longest=32)]
"""An edition (届) of the fair, e.g. `ciftis-2021`."""
Email = Annotated[str, AfterValidator(_email)]
CountryOrRegion = Annotated[str, AfterValidator(_country_or_region)]
"""ISO 3166-1 alpha-2, upper case; HK, MO and TW name the regions of 港澳台."""
Phone = Annotated[str, AfterValidator(_phone)]


class CompanyProfile(BaseModel):
    """The exhibiting company as it registers for an edition."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name_zh: Name
    name_en: Name
    country_or_region: CountryOrRegion
    sector: Name
    participation_mode: ParticipationMode


class ContactPerson(BaseModel):
    """Who the organiser talks to about the application."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    email: Email
    phone: Phone


# --- companies (企业) ----------------------------------------------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_REGISTRATION = re.compile(r"^[A-Z0-9][A-Z0-9/.\-]{2,39}$")


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015, mod 31)."""
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def _credit_code(value: str) -> str:
    value = re.sub(r"[\s\-]", "", value).upper()
    if len(value) != 18 or any(ch not in _USCC_CHARS for ch in value):
        raise ValueError(
            "a unified social credit code (统一社会信用代码) has 18 characters: digits and"
            " upper-case letters except I, O, S, V and Z"
        )
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValueError("the unified social credit code's check character does not match")
    return value


def _registration_number(value: str) -> str:
    value = re.sub(r"\s", "", value).upper()
    if not _REGISTRATION.match(value):
        raise ValueError("a registration number has 3-40 letters, digits, '/', '.' or '-'")
    return value


CreditCode = Annotated[str, AfterValidator(_credit_code)]
"""统一社会信用代码: 18 characters with a mod-31 check character; spaces and dashes dropped."""
RegistrationNumber = Annotated[str, AfterValidator(_registration_number)]
"""A company registration number outside mainland China, unique within its country."""


class CompanyIdentity(BaseModel):
    """What makes a company the same company across editions: at least one official number."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credit_code: CreditCode | None = None
    registration_number: RegistrationNumber | None = None

    @model_validator(mode="after")
    def _something(self) -> CompanyIdentity:
        if self.credit_code is None and self.registration_number is None:
            raise ValueError("give a unified social credit code or a registration number")
        return self

    def keys(self, country_or_region: str) -> list[str]:
        """The identifiers no other company may hold; registration numbers are per country."""
        keys = []
        if self.credit_code is not None:
            keys.append(f"uscc-{self.credit_code}")
        if self.registration_number is not None:
            keys.append(f"reg-{country_or_region}-{self.registration_number}")
        return keys


class CompanyDetails(BaseModel):
    """A company as it stays from one edition to the next (names, home, sector)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name_zh: Name
    name_en: Name
    country_or_region: CountryOrRegion
    sector: Name


# --- taking part in an edition (参展) -------------------------------------------------------

Venue = Literal["cncc", "shougang"]
"""国家会议中心 (CNCC, main venue) or 首钢园 (Shougang Park)."""

Theme = Literal["governance", "experience", "transformation", "trust"]
"""The Digital Services Zone's four themes: 数字治理, 数字体验, 数字转型, 数字信任."""

DIGITAL_SERVICES_ZONE = "digital-services"
"""The zone code of 数字服务专区, the only zone whose exhibitors carry a theme."""


# --- services-trade sectors (服务贸易领域) ---------------------------------------------------

Sector = Literal[
    "telecom-it",
    "finance",
    "culture-tourism",
    "education",
    "sport",
    "health",
    "environment",
    "engineering-consulting",
]
"""The fair's fixed taxonomy of services-trade sectors: its eight themed exhibitions
(八大专题展)."""
