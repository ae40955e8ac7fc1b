"""Names people and companies are shown by: refused when they would render as nothing or
reorder the text around them (finding 9 of issue 11).

A name made only of zero-width characters, a byte-order mark, or one carrying a bidirectional
override, embedding or isolate (which can make "gpj.exe" read as "exe.jpg", or flip a
directory line) is refused with a 422. Joiners inside a name with letters stay: scripts
need them. Events recorded before the rule are read back as they were (`RECORDED`), so an
old name never makes a stream unreadable.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo

RECORDED: dict[str, Any] = {"recorded": True}
"""The validation context of an event read back from the store."""

REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI,
PDI)."""

VISIBLE = ("L", "N", "P", "S")
"""Unicode categories that draw something: letters, numbers, punctuation, symbols."""


def readable(value: str) -> str:
    """`value` when it shows and keeps its order; ValueError saying why not."""
    if "\ufeff" in value:
        raise ValueError("a name cannot contain a byte-order mark (U+FEFF)")
    if reordering := sorted(REORDERING.intersection(value)):
        codes = ", ".join(f"U+{ord(c):04X}" for c in reordering)
        raise ValueError(f"a name cannot contain bidirectional controls ({codes})")
    categories = [unicodedata.category(c) for c in value]
    if any(c == "Cc" for c in categories):
        raise ValueError("a name cannot contain control characters")
    if not any(c[0] in VISIBLE for c in categories):
        raise ValueError("a name must show at least one letter, digit or sign")
    return value


def _readable_unless_recorded(value: str, info: ValidationInfo) -> str:
    if isinstance(info.context, dict) and info.context.get("recorded"):
        return value
    return readable(value)


Readable = AfterValidator(_readable_unless_recorded)
"""Add to a name's `Annotated[str, ...]`: `Annotated[str, StringConstraints(...), Readable]`."""

ReadableName = Annotated[str, Readable]
