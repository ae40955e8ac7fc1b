"""Stream names: which stream each aggregate's events live in. Pure naming, no I/O.

One stream per booth is what makes "never held twice" an expected-version check; one stream
per exhibitor account carries the hold cap and the admission, appended in the same
transaction as the booth's stream.
"""

from __future__ import annotations


def edition_stream(edition_code: str) -> str:
    return f"edition-{edition_code}"


def prices_stream(edition_code: str) -> str:
    return f"prices-{edition_code}"


def booth_stream(edition_code: str, booth_code: str) -> str:
    return f"booth-{edition_code}:{booth_code}"


def account_stream(exhibitor_id: str) -> str:
    return f"exhibitor-{exhibitor_id}"


def waitlist_stream(edition_code: str, zone_code: str) -> str:
    return f"waitlist-{edition_code}:{zone_code}"


def design_stream(edition_code: str, booth_code: str) -> str:
    return f"design-{edition_code}:{booth_code}"


def online_stream(edition_code: str, order_id: str) -> str:
    return f"online-{edition_code}:{order_id}"


def parts(stream_id: str, prefix: str) -> tuple[str, str]:
    """`booth-ciftis-2021:E1-101` with prefix `booth-` -> (`ciftis-2021`, `E1-101`)."""
    edition, _, code = stream_id.removeprefix(prefix).partition(":")
    return edition, code
