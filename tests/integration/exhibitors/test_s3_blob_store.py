"""The S3 blob store against a real S3-compatible server (versitygw, see support.s3_server):
files named by content and stored once whoever stores them, their type kept, a missing one
not found; a missing bucket or refused credentials are an outage, never an empty store."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from fairline_events.blobs import S3BlobStore
from fairline_events.errors import NotFound
from fairline_events.outage import DependencyUnavailable, unavailable_dependency
from support.s3_server import S3Server, bucket, client, s3_server

PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 4096
ZIP = b"PK\x03\x04" + b"\x00" * 512  # docx and pptx look alike: the declared type decides


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with s3_server() as running:
        yield running


@pytest.fixture
async def files(server: S3Server, unique: str) -> AsyncIterator[str]:
    async with bucket(server, unique) as name:
        yield name


async def test_replicas_share_files_stored_once_by_content(server: S3Server, files: str) -> None:
    replicas = [S3BlobStore(server.settings(files)) for _ in range(2)]
    try:
        # Two replicas store the same file at once, three times each.
        refs = await asyncio.gather(
            *(store.put(PNG, "image/png") for store in replicas for _ in range(3))
        )
        sha = hashlib.sha256(PNG).hexdigest()
        assert {(r.sha256, r.size, r.content_type) for r in refs} == {(sha, len(PNG), "image/png")}
        # Stored by one, read by the other.
        assert await replicas[1].read(sha) == PNG
        assert await replicas[1].stat(sha) == refs[0]
        async with client(server) as s3:
            listing = await s3.list_objects_v2(Bucket=files)
            assert [o["Key"] for o in listing.get("Contents", [])] == [sha]
            head = await s3.head_object(Bucket=files, Key=sha, ChecksumMode="ENABLED")
        assert head["ContentType"] == "image/png" and head["ContentLength"] == len(PNG)
        # the server checked the bytes against the hash that names them
        assert head.get("ChecksumSHA256") == _b64(hashlib.sha256(PNG).digest())
        # Unknown and malformed names: nothing there, and no path outside the bucket.
        assert await replicas[0].stat("f" * 64) is None
        assert await replicas[0].stat("../../etc/passwd") is None
        for missing in ("0" * 64, "not-a-hash"):
            with pytest.raises(NotFound) as caught:
                await replicas[0].read(missing)
            assert caught.value.code == "file_not_found"
    finally:
        for store in replicas:
            await store.aclose()


async def test_a_file_keeps_the_type_it_was_first_stored_with(server: S3Server, files: str) -> None:
    store = S3BlobStore(server.settings(files, prefix="exhibitors/"))
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    pptx = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    try:
        first = await store.put(ZIP, docx)
        second = await store.put(ZIP, pptx)  # the same bytes, declared as something else
        assert second.sha256 == first.sha256
        assert await store.stat(first.sha256) == first  # as PostgreSQL's: the first stays
        async with client(server) as s3:
            listing = await s3.list_objects_v2(Bucket=files)
        assert [o["Key"] for o in listing["Contents"]] == [f"exhibitors/{first.sha256}"]
    finally:
        await store.aclose()


async def test_a_large_file_comes_back_in_pieces(server: S3Server, files: str) -> None:
    store = S3BlobStore(server.settings(files))
    document = b"%PDF-1.7\n" + os.urandom(3 * S3BlobStore.CHUNK_BYTES)
    try:
        ref = await store.put(document, "application/pdf")
        pieces = [piece async for piece in store.chunks(ref.sha256)]
        assert len(pieces) > 1 and b"".join(pieces) == document
        assert max(map(len, pieces)) <= S3BlobStore.CHUNK_BYTES
    finally:
        await store.aclose()


async def test_a_missing_bucket_is_an_outage_not_an_empty_store(server: S3Server) -> None:
    store = S3BlobStore(server.settings("nobody-made-this-bucket"))
    sha = hashlib.sha256(PNG).hexdigest()
    try:
        for call in (store.put(PNG, "image/png"), store.read(sha), store.stat(sha)):
            with pytest.raises(DependencyUnavailable) as caught:
                await call
            assert unavailable_dependency(caught.value) == "s3"
            assert "bucket 'nobody-made-this-bucket'" in str(caught.value)
            assert "does not exist" in str(caught.value)
    finally:
        await store.aclose()


async def test_refused_credentials_are_an_outage_and_the_secret_is_never_told(
    server: S3Server, files: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fairline_events")
    wrong = "not-the-secret-" + server.secret_access_key[::-1]
    store = S3BlobStore(server.settings(files, secret_access_key=wrong))
    try:
        with pytest.raises(DependencyUnavailable) as caught:
            await store.put(PNG, "image/png")
        assert "refuses our credentials" in str(caught.value)
        told = [str(caught.value), repr(caught.value), repr(store), repr(store.settings)]
        told.append(caplog.text)
        assert not [t for t in told if wrong in t or server.secret_access_key in t]
    finally:
        await store.aclose()


def _b64(digest: bytes) -> str:
    import base64

    return base64.b64encode(digest).decode()
