"""Crypto-shredding: personal data enters events only as ciphertext under a per-subject key.

Events are immutable and copied everywhere (the event table, Kafka, read models, partner
feeds), so personal data cannot be deleted from them. Instead each data subject (a guest,
a contact person) gets its own data key, kept in one table of the service's database that
is never relayed or projected; every personal field is sealed with AES-256-GCM under that
key before it goes into an event. Erasure destroys the key: every copy of the ciphertext,
wherever it went, becomes unreadable at once, while the events themselves (counts, dates,
amounts) stay intact.

The field name is bound into each ciphertext (AES-GCM associated data), so a sealed phone
number can never be opened as a name. `Sealed` is plain data: domain events may carry it;
only the edges of a service (the API, a consumer holding a key) open it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field

ALGORITHM: Literal["A256GCM"] = "A256GCM"
_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_KEPT = re.compile(r"(\d+) dead row versions cannot be removed yet")


class Sealed(BaseModel):
    """A personal value encrypted under its data subject's key (AES-256-GCM)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str = Field(description="the data key that opens it; gone once the subject is erased")
    alg: Literal["A256GCM"] = ALGORITHM
    nonce: str = Field(description="96-bit nonce, base64url without padding")
    ciphertext: str = Field(description="ciphertext and 128-bit tag, base64url without padding")


class KeyDestroyed(Exception):
    """The data key is gone: its subject was erased, the data cannot be read any more."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_key(key: bytes) -> str:
    """A key as base64url text, e.g. to hand it to an authorised consumer."""
    return _b64(key)


def decode_key(text: str) -> bytes:
    key = _unb64(text)
    if len(key) != 32:
        raise ValueError("a data key is 32 bytes")
    return key


def _aad(key_id: str, field: str) -> bytes:
    return f"{key_id}\x1f{field}".encode()


def seal(key: bytes, key_id: str, field: str, plaintext: str) -> Sealed:
    """Encrypt one personal field; `field` names it and must be given again to open it."""
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode(), _aad(key_id, field))
    return Sealed(key_id=key_id, nonce=_b64(nonce), ciphertext=_b64(ciphertext))


def unseal(key: bytes, sealed: Sealed, field: str) -> str:
    """Decrypt one field; raises ValueError when the key or the field name does not match."""
    try:
        plain = AESGCM(key).decrypt(
            _unb64(sealed.nonce), _unb64(sealed.ciphertext), _aad(sealed.key_id, field)
        )
    except InvalidTag:
        raise ValueError(f"{field} does not open with key {sealed.key_id}") from None
    return plain.decode()


async def _older_snapshots_gone(conn: asyncpg.Connection, wait: float) -> None:
    """Wait until every transaction of this database that holds a snapshot now has ended."""
    query = """
        SELECT pid, xact_start FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_xmin IS NOT NULL
    """
    older = {(r["pid"], r["xact_start"]) for r in await conn.fetch(query)}
    deadline = time.monotonic() + wait
    while older and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        older &= {(r["pid"], r["xact_start"]) for r in await conn.fetch(query)}


def unseal_with(keys: Mapping[str, bytes], sealed: Sealed | None, field: str) -> str | None:
    """The plaintext when its key still exists, else None (erased, or nothing was sealed)."""
    if sealed is None:
        return None
    key = keys.get(sealed.key_id)
    return unseal(key, sealed, field) if key is not None else None


class KeyStore:
    """Data keys in one table of the service's database (never an event, never relayed).

    A destroyed key leaves a tombstone (the id and when it was erased, no key material),
    so that "erased" can be told apart from "never existed".
    """

    def __init__(self, table: str) -> None:
        if not _TABLE.match(table):
            raise ValueError(f"not a plain table name: {table!r}")
        self.table = table

    def schema_sql(self) -> str:
        return f"""
        CREATE TABLE IF NOT EXISTS {self.table} (
            key_id     text PRIMARY KEY,
            key        bytea,
            created_at timestamptz NOT NULL DEFAULT now(),
            erased_at  timestamptz,
            CHECK ((key IS NULL) = (erased_at IS NOT NULL))
        );
        """

    async def create(
        self, conn: asyncpg.Connection, key_id: str, key: bytes | None = None
    ) -> bytes:
        """Store a key (a new one unless given) for `key_id`; call it inside the transaction
        that appends the first event sealed with it, so the key exists iff the event does."""
        key = key if key is not None else new_key()
        await conn.execute(f"INSERT INTO {self.table} (key_id, key) VALUES ($1, $2)", key_id, key)
        return key

    async def get(self, conn: asyncpg.Connection | asyncpg.Pool, key_id: str) -> bytes:
        """The key; KeyError when it never existed, KeyDestroyed when it was erased."""
        row = await conn.fetchrow(f"SELECT key FROM {self.table} WHERE key_id = $1", key_id)
        if row is None:
            raise KeyError(key_id)
        if row["key"] is None:
            raise KeyDestroyed(key_id)
        return bytes(row["key"])

    async def keys(
        self, conn: asyncpg.Connection | asyncpg.Pool, key_ids: Iterable[str]
    ) -> dict[str, bytes]:
        """The keys that still exist among `key_ids` (erased and unknown ones are left out)."""
        wanted = sorted(set(key_ids))
        if not wanted:
            return {}
        rows = await conn.fetch(
            f"SELECT key_id, key FROM {self.table}"
            " WHERE key_id = ANY($1::text[]) AND key IS NOT NULL",
            wanted,
        )
        return {r["key_id"]: bytes(r["key"]) for r in rows}

    async def destroy(self, conn: asyncpg.Connection, key_id: str) -> bool:
        """Shred the key; True when a live key was destroyed, False when it already was."""
        status = await conn.fetchval(
            f"UPDATE {self.table} SET key = NULL, erased_at = now()"
            " WHERE key_id = $1 AND key IS NOT NULL RETURNING key_id",
            key_id,
        )
        return status is not None

    async def purge(self, pool: asyncpg.Pool, *, wait: float = 10.0) -> bool:
        """After keys were destroyed (and committed): rewrite the key table without the old
        row versions that still hold them, and checkpoint so the WAL segments that carry them
        can be recycled.

        The UPDATE that destroys a key leaves the old row version, key included, in the
        table's page; plain VACUUM prunes it but may leave its bytes in the page's free
        space, so the table (one small row per subject) is rewritten into new files
        (VACUUM FULL: an exclusive lock for as long as the copy takes, rare as erasures
        are). A transaction that began before the erasure may still see the old version, and
        the rewrite keeps what someone may still see (its VERBOSE report counts them), so it
        first waits for those transactions to end, then rewrites again while versions were
        kept, for up to `wait` seconds. CHECKPOINT needs the `pg_checkpoint` role (or a
        superuser); without it the next scheduled checkpoint (`checkpoint_timeout`) does the
        same, so False means "later".
        """
        kept: list[int] = []

        def count_kept(_: object, message: Any) -> None:
            text = f"{getattr(message, 'message', '')} {getattr(message, 'detail', '') or ''}"
            found = _KEPT.search(text)
            if found:
                kept.append(int(found.group(1)))

        deadline = time.monotonic() + wait
        async with pool.acquire() as conn:
            await _older_snapshots_gone(conn, wait)
            conn.add_log_listener(count_kept)
            try:
                while True:
                    kept.clear()
                    await conn.execute(f"VACUUM (FULL, VERBOSE) {self.table}")
                    if not any(kept) or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.2)
            finally:
                conn.remove_log_listener(count_kept)
            try:
                await conn.execute("CHECKPOINT")
            except asyncpg.InsufficientPrivilegeError:
                return False
        return True

    async def erased(
        self, conn: asyncpg.Connection | asyncpg.Pool, key_ids: Iterable[str]
    ) -> set[str]:
        rows = await conn.fetch(
            f"SELECT key_id FROM {self.table} WHERE key_id = ANY($1::text[]) AND key IS NULL",
            sorted(set(key_ids)),
        )
        return {r["key_id"] for r in rows}
