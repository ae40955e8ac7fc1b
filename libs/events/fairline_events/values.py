"""Value types every service shares: the codes people type and systems key on.

A code (an edition, a room, a tier, a hotel…) is lower-case letters and digits in words
joined by single dashes, `ciftis-2021`; what is typed is trimmed and lower-cased first, so
` CIFTIS-2021 ` is the same code. Each service names its own codes with `code(...)`, which
says in the refusal what kind of code was expected and gives an example.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NOT_IN_A_CODE = re.compile(r"[^a-z0-9]+")


def code(kind: str | None = None, example: str = "", *, longest: int = 40) -> AfterValidator:
    """A code of `kind` (e.g. `edition`, example `ciftis-2021`) at most `longest` long."""
    if kind is None:
        expected = "a code of lower-case letters, digits and dashes"
    else:
        article = "an" if kind[:1] in "aeiou" else "a"
        expected = f"{article} {kind} code such as {example}"

    def check(value: str) -> str:
        value = value.strip().lower()
        if len(value) > longest or not SLUG.match(value):
            raise ValueError(f"expected {expected}")
        return value

    return AfterValidator(check)


Slug = Annotated[str, code(longest=64)]
"""Any code, e.g. `digital-services`, `country-exhibitions`, `laozihao`."""


def slug(name: str) -> str:
    """A code made from a name, `Bank of China` → `bank-of-china`: every run of anything but
    a-z and digits becomes one dash. The demos make ids from the demo file's names with it,
    so one company has the same id in every service (the forums' launch organiser is the
    exhibitors' application `demo-<slug>`)."""
    return NOT_IN_A_CODE.sub("-", name.lower()).strip("-")
