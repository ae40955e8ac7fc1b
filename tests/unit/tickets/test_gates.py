"""Gates: one entry per day, re-entry, forged, altered, revoked, wrong day or venue, and the
offline gate's upload where doubles become conflicts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fairline_events.errors import DomainError
from fairline_events.testing import given
from tickets.domain.commands import CheckIn, RecordOfflineScans, Scanned
from tickets.domain.events import EntryConflictFlagged, TicketAdmitted, TicketRevoked
from tickets.domain.qr import b64, unb64
from tickets.domain.ticket import TICKET, ticket_stream
from tickets.handlers import check_in, record_offline_scans

from .history import AT_GATE, EDITION, KEY_ID, qr_of, signing_key, ticket


def scan(qr: str, gate: str = "g-1", scan_id: str = "s-1", venue: str = "cncc") -> CheckIn:
    return CheckIn.model_validate(
        {
            "venue": venue,
            "entrance": "east-1",
            "gate_id": gate,
            "scan": {"scan_id": scan_id, "qr": qr, "scanned_at": AT_GATE},
        }
    )


def refusal(gate: object, command: CheckIn) -> str:
    with pytest.raises(DomainError) as refused:
        gate.when(check_in, command, at=AT_GATE)  # type: ignore[attr-defined]
    return refused.value.code


def test_a_ticket_enters_once_a_day_the_second_gate_is_told_the_first() -> None:
    issued = ticket()
    gate = given(signing_key(), issued)
    assert [type(e) for e in gate.when(check_in, scan(qr_of(issued)), at=AT_GATE)] == [
        TicketAdmitted
    ]
    with pytest.raises(DomainError) as refused:
        gate.when(check_in, scan(qr_of(issued), gate="g-2", scan_id="s-2"), at=AT_GATE)
    assert refused.value.code == "already_admitted"
    assert refused.value.details["first_gate_id"] == "g-1"
    assert gate.when(check_in, scan(qr_of(issued)), at=AT_GATE) == []  # the same scan, retried


def test_a_product_with_re_entry_admits_again() -> None:
    issued = ticket(reentry=True)
    gate = given(signing_key(), issued)
    gate.when(check_in, scan(qr_of(issued)), at=AT_GATE)
    assert gate.when(check_in, scan(qr_of(issued), scan_id="s-2"), at=AT_GATE)


def test_each_bad_code_is_refused_with_its_own_reason() -> None:
    issued = ticket()
    genuine = qr_of(issued)
    gate = given(signing_key(), issued)
    assert refusal(gate, scan("hello")) == "qr_unreadable"
    stranger = Ed25519PrivateKey.generate()
    assert refusal(gate, scan(qr_of(ticket("fake-1"), stranger))) == "qr_forged"
    assert refusal(gate, scan(qr_of(issued, stranger, key_id="k-evil"))) == "qr_forged"
    prefix, kid, body, signature = genuine.split(".")
    both_venues = unb64(body).replace(b'"v":["cncc"]', b'"v":["cncc","shougang"]')
    assert refusal(gate, scan(".".join([prefix, kid, b64(both_venues), signature]))) == "qr_altered"
    assert refusal(gate, scan(genuine, venue="shougang")) == "wrong_venue"
    tomorrow = ticket("o-2-1", days=[AT_GATE.date() + timedelta(days=1)])
    gate.given(tomorrow)
    assert refusal(gate, scan(qr_of(tomorrow))) == "wrong_day"
    gate.given(TicketRevoked(ticket_id="o-1-1", edition_code=EDITION, why="refunded"))
    assert refusal(gate, scan(genuine)) == "ticket_revoked"


def test_an_offline_gates_upload_records_every_scan_and_flags_doubles() -> None:
    issued = ticket()
    gate = given(signing_key(), issued)
    gate.when(check_in, scan(qr_of(issued), gate="g-online"), at=AT_GATE)
    scans = [
        Scanned(scan_id=f"off-{n}", qr=qr_of(issued), scanned_at=AT_GATE + timedelta(minutes=n))
        for n in (1, 2)
    ]
    upload = RecordOfflineScans(
        ticket_id="o-1-1", venue="cncc", entrance="west-2", gate_id="g-off", scans=scans
    )
    events = gate.when(record_offline_scans, upload, at=AT_GATE + timedelta(hours=1))
    assert [type(e) for e in events] == [EntryConflictFlagged, EntryConflictFlagged]
    assert {e.first_gate_id for e in events} == {"g-online"}  # type: ignore[attr-defined]
    assert gate.when(record_offline_scans, upload, at=AT_GATE + timedelta(hours=2)) == []
    assert gate.state(TICKET, ticket_stream("o-1-1")).conflicts == 2
    assert KEY_ID.startswith(EDITION)
