"""Value objects of exhibitor registration (展商注册): validated, immutable, no I/O."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

ParticipationMode = Literal["offline", "online", "both"]
"""How a company takes part: at the venues (线下), in the online showcase (线上), or both."""

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A person's or company's name: trimmed, never blank."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
"""A reason or other free text that must say something."""

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
"""Free text that may be left empty."""

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
"""An opaque id: an application id, a reviewer's staff id."""

_EDITION = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]+$")


def _edition_code(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 32 or not _EDITION.match(value):
        raise ValueError("expected an edition code such as ciftis-2021")
    return value


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


EditionCode = Annotated[str, AfterValidator(_edition_code)]
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
