"""Crypto-shredding: sealed fields open with their key and field name only."""

from __future__ import annotations

import pytest
from fairline_events.shredding import (
    KeyStore,
    Sealed,
    decode_key,
    encode_key,
    new_key,
    seal,
    unseal,
    unseal_with,
)


def test_a_sealed_field_opens_with_its_key_and_hides_the_plaintext() -> None:
    key = new_key()
    sealed = seal(key, "k1", "name", "张伟 Zhang Wei")
    assert "Zhang" not in sealed.model_dump_json() and "张伟" not in sealed.model_dump_json()
    assert unseal(key, sealed, "name") == "张伟 Zhang Wei"
    assert sealed != seal(key, "k1", "name", "张伟 Zhang Wei"), "a fresh nonce every time"


def test_a_sealed_field_does_not_open_as_another_field_or_with_another_key() -> None:
    key = new_key()
    sealed = seal(key, "k1", "phone", "+86 138 0000 0000")
    with pytest.raises(ValueError, match="does not open"):
        unseal(key, sealed, "name")
    with pytest.raises(ValueError, match="does not open"):
        unseal(new_key(), sealed, "phone")
    forged = Sealed.model_validate({**sealed.model_dump(), "key_id": "k2"})
    with pytest.raises(ValueError):
        unseal(key, forged, "phone")


def test_without_its_key_a_field_reads_as_nothing() -> None:
    key = new_key()
    sealed = seal(key, "k1", "name", "Li Na")
    assert unseal_with({"k1": key}, sealed, "name") == "Li Na"
    assert unseal_with({}, sealed, "name") is None
    assert unseal_with({"k1": key}, None, "name") is None


def test_keys_travel_as_text() -> None:
    key = new_key()
    assert decode_key(encode_key(key)) == key
    with pytest.raises(ValueError):
        decode_key(encode_key(b"short"))


def test_the_key_table_name_is_checked() -> None:
    assert "guest_keys" in KeyStore("guest_keys").schema_sql()
    with pytest.raises(ValueError):
        KeyStore("guest_keys; DROP TABLE events")
