"""The PostgreSQL blob store the booth pages use by default: shared by replicas (two
processes' pools on one database), one copy per content, made safely on first use."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import asyncpg
import pytest
from fairline_events.blobs import (
    LocalDiskBlobStore,
    PostgresBlobStore,
    blob_store,
)
from fairline_events.db import create_pool
from fairline_events.errors import NotFound

pytestmark = pytest.mark.infra

PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 4096


async def test_replicas_share_files_stored_once_by_content(database_url: str) -> None:
    first, second = await create_pool(database_url), await create_pool(database_url)
    try:
        # Two replicas start at once: both make the table on first use, neither fails.
        replicas = [PostgresBlobStore(first), PostgresBlobStore(second)]
        refs = await asyncio.gather(
            *(store.put(PNG, "image/png") for store in replicas for _ in range(3))
        )
        assert {r.sha256 for r in refs} == {hashlib.sha256(PNG).hexdigest()}
        ref = refs[0]
        # Stored by one, read by the other.
        other = PostgresBlobStore(second)
        assert await other.read(ref.sha256) == PNG
        assert await other.stat(ref.sha256) == ref
        assert await first.fetchval("SELECT count(*) FROM blobs") == 1
        assert await other.stat("f" * 64) is None
        assert await other.stat("../../etc/passwd") is None
        for missing in ("0" * 64, "not-a-hash"):
            with pytest.raises(NotFound):
                await other.read(missing)
    finally:
        await first.close()
        await second.close()


async def test_the_store_follows_the_configuration(
    pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAIRLINE_BLOB_STORE", raising=False)
    assert isinstance(blob_store(pool), PostgresBlobStore)
    monkeypatch.setenv("FAIRLINE_BLOB_STORE", "disk")
    monkeypatch.setenv("FAIRLINE_BLOB_DIR", str(tmp_path))
    disk = blob_store(pool)
    assert isinstance(disk, LocalDiskBlobStore) and disk.root == tmp_path
    monkeypatch.setenv("FAIRLINE_BLOB_STORE", "ftp")
    with pytest.raises(ValueError, match="use postgres, s3 or disk"):
        blob_store(pool)
