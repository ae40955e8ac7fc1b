"""Files (images, documents, drawings) stored by content hash behind one small interface.

Events never carry file bytes: they name a blob by its SHA-256. A `BlobStore` keeps the
bytes; the same content is stored once, whoever uploads it and however often. By default
the bytes live in the service's own PostgreSQL (`PostgresBlobStore`, table `blobs`): every
replica shares them and containers need no writable disk, and nothing new is deployed. A
directory (`LocalDiskBlobStore`) remains for tools and tests. `blob_store(pool)` picks one
from `FAIRLINE_BLOB_STORE` (`postgres`, the default, or `disk` with `FAIRLINE_BLOB_DIR`).
`BlobPolicy` says which types and sizes a use accepts: the type is read from the bytes
themselves (their magic numbers), not taken from the client. Refusals are DomainErrors with
their own statuses: 413 `file_too_large`, 415 `unsupported_media_type`, 404
`file_not_found`.

Who may use a stored file is not the store's business: a hash is a name, not a right. Each
service records which owner uploaded what (exhibitors: a company's `company-files` stream)
and answers a foreign hash exactly as a missing one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .errors import DomainError, NotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class FileTooLarge(DomainError):
    status = 413
    code = "file_too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class BlobRef(BaseModel):
    """A stored file: its content hash, size and (sniffed) media type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=_SHA256.pattern)
    size: int = Field(ge=0)
    content_type: str


_ZIP = b"PK\x03\x04"
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (_ZIP,),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (_ZIP,),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (_ZIP,),
}


def sniff(data: bytes, declared: str | None = None) -> str | None:
    """The media type the bytes show; the declared one breaks ties between look-alikes."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    matches = [t for t, sigs in _SIGNATURES.items() if any(data.startswith(s) for s in sigs)]
    if declared is not None and declared in matches:
        return declared
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class BlobPolicy:
    """What one use of files accepts (a gallery image, a downloadable document …)."""

    name: str
    max_bytes: int
    types: frozenset[str]

    def check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise FileTooLarge(
                f"{self.name}: at most {self.max_bytes} bytes, this has {size}",
                max_bytes=self.max_bytes,
                size=size,
            )

    def check_type(self, content_type: str | None) -> str:
        if content_type not in self.types:
            raise UnsupportedMediaType(
                f"{self.name}: accepts {', '.join(sorted(self.types))}; this is "
                f"{content_type or 'not a recognised file type'}",
                accepted=sorted(self.types),
                found=content_type,
            )
        return content_type

    def accept(self, data: bytes, declared: str | None = None) -> str:
        """The media type of `data`, when this policy accepts it."""
        self.check_size(len(data))
        declared = declared.split(";")[0].strip().lower() if declared else None
        found = sniff(data, declared)
        if declared is not None and found is not None and declared != found:
            raise UnsupportedMediaType(
                f"the content is {found}, not {declared} as declared",
                declared=declared,
                found=found,
                accepted=sorted(self.types),
            )
        return self.check_type(found)

    def check(self, blob: BlobRef) -> None:
        self.check_type(blob.content_type)
        self.check_size(blob.size)

    @staticmethod
    def union(name: str, policies: Iterable[BlobPolicy]) -> BlobPolicy:
        ps = list(policies)
        return BlobPolicy(
            name, max(p.max_bytes for p in ps), frozenset().union(*(p.types for p in ps))
        )


class BlobStore(Protocol):
    async def put(self, data: bytes, content_type: str) -> BlobRef: ...

    async def stat(self, sha256: str) -> BlobRef | None: ...

    async def read(self, sha256: str) -> bytes: ...


class LocalDiskBlobStore:
    """Blobs as files under `root/ab/cdef…` (the hash), each beside a small JSON of its type.

    Writes go to a temporary file renamed into place, so a reader never sees half a file
    and two uploads of the same content simply write the same bytes twice.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise NotFound(f"file {sha256} not found", code="file_not_found")
        return self.root / sha256[:2] / sha256[2:]

    async def put(self, data: bytes, content_type: str) -> BlobRef:
        return await asyncio.to_thread(self._put, data, content_type)

    def _put(self, data: bytes, content_type: str) -> BlobRef:
        sha = hashlib.sha256(data).hexdigest()
        ref = BlobRef(sha256=sha, size=len(data), content_type=content_type)
        path = self._path(sha)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._write(path.with_suffix(".json"), ref.model_dump_json().encode())
            self._write(path, data)
        return ref

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def stat(self, sha256: str) -> BlobRef | None:
        try:
            path = self._path(sha256)
        except NotFound:
            return None
        meta = path.with_suffix(".json")
        if not path.exists() or not meta.exists():
            return None
        return BlobRef.model_validate(json.loads(meta.read_bytes()))

    async def read(self, sha256: str) -> bytes:
        path = self._path(sha256)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound(f"file {sha256} not found", code="file_not_found") from None


_BLOBS_SQL = """
CREATE TABLE IF NOT EXISTS blobs (
    sha256       text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL,
    size         integer NOT NULL CHECK (size >= 0),
    data         bytea NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now()
)"""
_BLOBS_LOCK = int.from_bytes(hashlib.sha256(b"fairline blobs table").digest()[:4], "big")


class PostgresBlobStore:
    """Blobs as rows of the service's database (`public.blobs`), shared by every replica.

    Files are a few MiB at most (see the policies), which PostgreSQL keeps out of line
    (TOAST), compressed where that helps. The table is made on first use, under an advisory
    lock so that replicas starting together do not race to create it. The pool is
    asyncpg's (typed loosely here: the core's blob module needs no database import).
    """

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self._ready = False

    async def _ensure(self) -> None:
        if self._ready:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _BLOBS_LOCK)
            await conn.execute(_BLOBS_SQL)
        self._ready = True

    async def put(self, data: bytes, content_type: str) -> BlobRef:
        await self._ensure()
        sha = hashlib.sha256(data).hexdigest()
        ref = BlobRef(sha256=sha, size=len(data), content_type=content_type)
        await self.pool.execute(
            """INSERT INTO public.blobs (sha256, content_type, size, data)
               VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING""",
            sha,
            content_type,
            len(data),
            data,
        )
        return ref

    async def stat(self, sha256: str) -> BlobRef | None:
        if not _SHA256.match(sha256):
            return None
        await self._ensure()
        row = await self.pool.fetchrow(
            "SELECT content_type, size FROM public.blobs WHERE sha256 = $1", sha256
        )
        if row is None:
            return None
        return BlobRef(sha256=sha256, size=row["size"], content_type=row["content_type"])

    async def read(self, sha256: str) -> bytes:
        if not _SHA256.match(sha256):
            raise NotFound(f"file {sha256} not found", code="file_not_found")
        await self._ensure()
        data = await self.pool.fetchval("SELECT data FROM public.blobs WHERE sha256 = $1", sha256)
        if data is None:
            raise NotFound(f"file {sha256} not found", code="file_not_found")
        return bytes(data)


def blob_store(pool: Any) -> BlobStore:
    """The store the configuration names: `FAIRLINE_BLOB_STORE=postgres` (the default, in
    the service's database) or `disk` (under `FAIRLINE_BLOB_DIR`, default `.local/blobs`)."""
    kind = os.environ.get("FAIRLINE_BLOB_STORE", "postgres").strip().lower()
    if kind == "disk":
        return LocalDiskBlobStore(Path(os.environ.get("FAIRLINE_BLOB_DIR", ".local/blobs")))
    if kind != "postgres":
        raise ValueError(f"FAIRLINE_BLOB_STORE is {kind!r}: use postgres or disk")
    return PostgresBlobStore(pool)
