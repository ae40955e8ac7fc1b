"""Files (images, documents, drawings) stored by content hash behind one small interface.

Events never carry file bytes: they name a blob by its SHA-256. A `BlobStore` keeps the
bytes; the same content is stored once, whoever uploads it and however often. By default
the bytes live in the service's own PostgreSQL (`PostgresBlobStore`, table `blobs`): every
replica shares them and containers need no writable disk, and nothing new is deployed. An
S3-compatible bucket (`S3BlobStore`: AWS S3, MinIO, Ceph, versitygw …) is the option for
files that outgrow the database. A directory (`LocalDiskBlobStore`) remains for tools and
tests. `blob_store(pool)` picks one from `FAIRLINE_BLOB_STORE` (`postgres`, the default;
`s3` with `FAIRLINE_S3_*`, see `S3Settings`; `disk` with `FAIRLINE_BLOB_DIR`).
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
import base64
import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field

from .errors import DomainError, NotFound
from .outage import DependencyUnavailable

if TYPE_CHECKING:
    from aiobotocore.session import AioSession
    from botocore.exceptions import ClientError
    from types_aiobotocore_s3 import S3Client

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

    async def aclose(self) -> None:
        """Release what the store holds open (the service's shutdown calls it)."""


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

    async def aclose(self) -> None:
        """Nothing held open."""


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

    async def aclose(self) -> None:
        """The pool is the service's, closed with it."""


S3 = "s3"
"""The dependency a 503 names when the bucket does not answer."""

Addressing = Literal["path", "virtual", "auto"]


@dataclass(frozen=True)
class S3Settings:
    """Where an `S3BlobStore` keeps files, from the environment a deployment sets:

    - `FAIRLINE_S3_BUCKET` (required): made beforehand by whoever runs the store; the
      service never creates one, and a missing one is an outage (503), not an empty store.
    - `FAIRLINE_S3_ENDPOINT`: the S3-compatible server's URL (`http://minio:9000`); unset
      for AWS itself, whose endpoint follows the region.
    - `FAIRLINE_S3_REGION`: default `us-east-1` (what most S3-compatible servers expect).
    - `FAIRLINE_S3_ACCESS_KEY_ID`, `FAIRLINE_S3_SECRET_ACCESS_KEY`: both or neither; with
      neither, botocore's own chain (`AWS_*` variables, a web identity token, an instance
      role). The secret is kept out of every repr, log line and error message.
    - `FAIRLINE_S3_PREFIX`: keys are `<prefix><sha256>` (e.g. `exhibitors/`), so that
      services or environments can share a bucket; default none.
    - `FAIRLINE_S3_ADDRESSING`: `path` (bucket in the path: every S3-compatible server
      takes it, and needs no DNS name per bucket) by default when an endpoint is set, else
      `auto` (AWS's virtual-hosted style); `virtual` forces the latter.
    """

    bucket: str
    endpoint: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    prefix: str = ""
    addressing: Addressing = "auto"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(f"FAIRLINE_S3_{name}", "").strip()
            return value or None

        bucket = get("BUCKET")
        if bucket is None:
            raise ValueError("FAIRLINE_BLOB_STORE is s3: set FAIRLINE_S3_BUCKET")
        access, secret = get("ACCESS_KEY_ID"), get("SECRET_ACCESS_KEY")
        if (access is None) != (secret is None):
            raise ValueError(
                "set both FAIRLINE_S3_ACCESS_KEY_ID and FAIRLINE_S3_SECRET_ACCESS_KEY, or"
                " neither (then the AWS credential chain is used)"
            )
        endpoint = get("ENDPOINT")
        addressing = (get("ADDRESSING") or ("path" if endpoint else "auto")).lower()
        if addressing not in ("path", "virtual", "auto"):
            raise ValueError(f"FAIRLINE_S3_ADDRESSING is {addressing!r}: use path or virtual")
        prefix = (get("PREFIX") or "").strip("/")
        return cls(
            bucket=bucket,
            endpoint=endpoint,
            region=get("REGION") or "us-east-1",
            access_key_id=access,
            secret_access_key=secret,
            prefix=f"{prefix}/" if prefix else "",
            addressing=cast(Addressing, addressing),  # checked just above
        )


# Error codes that say "the store will not serve us now", whatever the file: the bucket is
# gone, the credentials are refused, the server is busy or failing. A 503 names them; a
# 500 is left for what would be a bug of ours.
_BUCKET_GONE = frozenset({"NoSuchBucket"})
_REFUSED = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "AccountProblem",
    }
)
_NOT_NOW = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed"}
)
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_ALREADY_THERE = frozenset({"PreconditionFailed", "412"})
_WRITE_IN_FLIGHT = frozenset({"ConditionalRequestConflict", "409"})


_SESSION: list[AioSession] = []


def aws_session() -> AioSession:
    """One botocore session per process: it caches the S3 model that clients are built from
    (loading it costs a client some 60 ms of CPU; with the cache, 4 ms)."""
    if not _SESSION:
        from aiobotocore.session import get_session

        _SESSION.append(get_session())
    return _SESSION[0]


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class S3BlobStore:
    """Blobs as objects of one bucket on an S3-compatible server, shared by every replica.

    The key is the content's SHA-256 (after `FAIRLINE_S3_PREFIX`), the object's
    Content-Type the sniffed type; the server checks the bytes against that hash on upload
    (`x-amz-checksum-sha256`), so a key always names its content. The same content is
    written once: a put that finds the key stored sends nothing more, and the write itself
    is conditional (`If-None-Match: *`), so of two replicas racing with the same file one
    writes and the other is told it is there. Types and sizes are the policies' business
    (`BlobPolicy`), checked before a put as for every store.

    The client is aiobotocore's: botocore's signing, endpoints, retries and checksums (the
    reference S3 client, maintained by AWS), on asyncio without a thread per request. It is
    made on first use and lives as long as the store (`aclose` ends it). A server that does
    not answer (1 s to connect, one retry), a missing bucket and refused credentials raise
    `DependencyUnavailable("s3")`, which the HTTP layer answers with 503 `unavailable` and
    Retry-After; a missing object is `NotFound` (`file_not_found`) as in every store.
    On AWS, grant `s3:ListBucket` on the bucket besides `s3:GetObject`/`s3:PutObject`: without
    it S3 answers a missing object with 403, which reads as refused credentials (503).
    """

    CONNECT_TIMEOUT_S = 1.0
    READ_TIMEOUT_S = 5.0
    CHUNK_BYTES = 1 << 20

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._client: S3Client | None = None
        self._resources = AsyncExitStack()
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        where = self.settings.endpoint or f"AWS {self.settings.region}"
        return f"S3BlobStore({where}, bucket={self.settings.bucket!r})"

    def _key(self, sha256: str) -> str:
        if not _SHA256.match(sha256):
            raise NotFound(f"file {sha256} not found", code="file_not_found")
        return f"{self.settings.prefix}{sha256}"

    async def _s3(self) -> S3Client:
        if self._client is not None:
            return self._client
        async with self._opening:
            if self._client is None:
                from aiobotocore.config import AioConfig

                config = AioConfig(
                    connect_timeout=self.CONNECT_TIMEOUT_S,
                    read_timeout=self.READ_TIMEOUT_S,
                    retries={"mode": "standard", "total_max_attempts": 2},
                    s3={"addressing_style": self.settings.addressing},
                    # our own SHA-256 is sent instead of botocore's default CRC32 trailer,
                    # which not every S3-compatible server reads
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    max_pool_connections=32,
                )
                self._client = await self._resources.enter_async_context(
                    aws_session().create_client(
                        "s3",
                        region_name=self.settings.region,
                        endpoint_url=self.settings.endpoint,
                        aws_access_key_id=self.settings.access_key_id,
                        aws_secret_access_key=self.settings.secret_access_key,
                        config=config,
                    )
                )
        assert self._client is not None
        return self._client

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def aclose(self) -> None:
        """Close the client's connections (the store may be used again: it reopens)."""
        async with self._opening:
            self._client = None
            await self._resources.aclose()

    def _outage(self, what: str, reason: str) -> DependencyUnavailable:
        bucket = self.settings.bucket
        return DependencyUnavailable(S3, f"{what} in bucket {bucket!r}: {reason}")

    @asynccontextmanager
    async def _talking(self, what: str) -> AsyncIterator[None]:
        """Turn the client's failures that mean "the store is down or refuses us" into
        DependencyUnavailable. Messages name codes and exception types, never credentials."""
        import aiohttp
        from botocore import exceptions as boto

        try:
            yield
        except boto.ClientError as exc:
            code, status = _error_code(exc), _status(exc)
            if code in _BUCKET_GONE:
                raise self._outage(what, "the bucket does not exist") from exc
            if code in _REFUSED or status in (401, 403):
                raise self._outage(what, f"the server refuses our credentials ({code})") from exc
            if code in _NOT_NOW or status >= 500:
                raise self._outage(what, f"the server answers {status} {code}") from exc
            raise
        except (
            boto.ConnectionError,  # refused, timed out connecting, TLS, proxy
            boto.HTTPClientError,  # read timed out, connection closed mid-answer
            boto.IncompleteReadError,  # the answer ended short of its Content-Length
            boto.NoCredentialsError,
            boto.PartialCredentialsError,
            boto.CredentialRetrievalError,
            aiohttp.ClientError,
            TimeoutError,
        ) as exc:
            raise self._outage(what, type(exc).__name__) from exc

    async def _head(self, key: str) -> dict[str, Any] | None:
        """The object's headers; None for a 404 (HEAD has no body to tell a missing bucket
        from a missing key: callers that must know ask the bucket)."""
        from botocore.exceptions import ClientError

        s3 = await self._s3()
        try:
            head = await s3.head_object(Bucket=self.settings.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING or _status(exc) == 404:
                return None
            raise
        return dict(head)

    async def _check_bucket(self, what: str) -> None:
        from botocore.exceptions import ClientError

        s3 = await self._s3()
        try:
            await s3.head_bucket(Bucket=self.settings.bucket)
        except ClientError as exc:
            if _status(exc) == 404 or _error_code(exc) in _BUCKET_GONE | _MISSING:
                raise self._outage(what, "the bucket does not exist") from exc
            raise

    async def put(self, data: bytes, content_type: str) -> BlobRef:
        from botocore.exceptions import ClientError

        digest = hashlib.sha256(data)
        ref = BlobRef(sha256=digest.hexdigest(), size=len(data), content_type=content_type)
        key = self._key(ref.sha256)
        async with self._talking("storing a file"):
            if await self._head(key) is not None:
                return ref  # stored before: nothing to send
            s3 = await self._s3()
            put = functools.partial(
                s3.put_object,
                Bucket=self.settings.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
            )
            try:
                await put(IfNoneMatch="*")
            except ClientError as exc:
                code = _error_code(exc)
                if code in _ALREADY_THERE:
                    return ref  # another replica stored the same bytes meanwhile
                if code not in _WRITE_IN_FLIGHT:
                    raise
                # Another replica's write of these bytes is in flight: should it fail, ours
                # must still land, so write them (the same bytes) unconditionally.
                await put()
        return ref

    async def stat(self, sha256: str) -> BlobRef | None:
        if not _SHA256.match(sha256):
            return None
        async with self._talking("looking up a file"):
            head = await self._head(self._key(sha256))
            if head is None:
                await self._check_bucket("looking up a file")
                return None
        return BlobRef(
            sha256=sha256,
            size=int(head["ContentLength"]),
            content_type=str(head.get("ContentType") or "application/octet-stream"),
        )

    async def read(self, sha256: str) -> bytes:
        return b"".join([chunk async for chunk in self.chunks(sha256)])

    async def chunks(self, sha256: str) -> AsyncIterator[bytes]:
        """The file in pieces as the server sends them (for an answer that streams them on):
        NotFound or the outage comes before the first piece."""
        from botocore.exceptions import ClientError

        key = self._key(sha256)
        async with self._talking("reading a file"):
            s3 = await self._s3()
            try:
                answer = await s3.get_object(Bucket=self.settings.bucket, Key=key)
            except ClientError as exc:
                if _error_code(exc) in _MISSING:
                    raise NotFound(f"file {sha256} not found", code="file_not_found") from None
                raise
            async with answer["Body"] as body:
                async for chunk in body.iter_chunks(self.CHUNK_BYTES):
                    yield chunk


def blob_store(pool: Any) -> BlobStore:
    """The store the configuration names: `FAIRLINE_BLOB_STORE=postgres` (the default, in
    the service's database), `s3` (a bucket, `FAIRLINE_S3_*`: see `S3Settings`) or `disk`
    (under `FAIRLINE_BLOB_DIR`, default `.local/blobs`)."""
    kind = os.environ.get("FAIRLINE_BLOB_STORE", "postgres").strip().lower()
    if kind == "disk":
        return LocalDiskBlobStore(Path(os.environ.get("FAIRLINE_BLOB_DIR", ".local/blobs")))
    if kind == "s3":
        return S3BlobStore(S3Settings.from_env())
    if kind != "postgres":
        raise ValueError(f"FAIRLINE_BLOB_STORE is {kind!r}: use postgres, s3 or disk")
    return PostgresBlobStore(pool)
