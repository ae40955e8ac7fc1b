"""Booth-page files in an S3 bucket (`FAIRLINE_BLOB_STORE=s3`), as a deployment of several
replicas runs them: two instances of the exhibitors service on one database and one bucket
of a real S3-compatible server (versitygw). A file uploaded through one is downloaded
through the other; the same content is one object; another company's hash is not found;
and while the S3 server is down, uploads and downloads answer 503 with Retry-After, then
work again when it is back, without a restart."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from exhibitors.domain.booth import FILES, UPLOADS
from exhibitors.service import definition
from fairline_events.blobs import S3BlobStore
from fairline_events.db import drop_databases
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings, kafka_fields
from fairline_stack.resolve import Infra
from fastapi import FastAPI
from support.s3_server import S3Server, bucket, client, s3_server
from support.serving import serving

from .conftest import Service, User, error, new_company, ok

pytestmark = pytest.mark.infra

PNG = b"\x89PNG\r\n\x1a\n" + b"hall 4 floor plan" * 300
PDF = b"%PDF-1.7\n" + b"exhibitor manual " * 400


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with s3_server() as running:
        yield running


@dataclass
class Deployment:
    first: Service
    second: Service
    bucket: str


@pytest.fixture(scope="module")
async def replicas(infra: Infra, server: S3Server) -> AsyncIterator[Deployment]:
    """Two API replicas of the service (HTTP only, as `serve --no-relay --no-projections`
    runs in a deployment; nothing here needs a read model), configured by environment."""
    unique = f"s3{uuid.uuid4().hex[:10]}"
    settings = ServiceSettings(
        database_url=infra.database_url,
        **kafka_fields(infra.kafka),
        fairline_topic_prefix=f"{unique}.",
        fairline_database_prefix=f"{unique}_",
        fairline_auth_secret="test-secret-" + "x" * 40,
    )
    apps: list[FastAPI] = []
    try:
        async with bucket(server, unique) as name:
            with pytest.MonkeyPatch.context() as env:
                for variable, value in server.env(name).items():
                    env.setenv(variable, value)
                for _ in range(2):
                    apps.append(
                        build_app(definition, settings, relay=False, projections=False, jobs=False)
                    )
                async with serving(apps[0]) as first, serving(apps[1]) as second:
                    yield Deployment(
                        Service(first, apps[0].state.token_issuer, apps[0], settings),
                        Service(second, apps[1].state.token_issuer, apps[1], settings),
                        name,
                    )
    finally:
        # each replica closed its S3 client's connections when it stopped
        stores = [getattr(app.state, "blobs", None) for app in apps]
        assert all(isinstance(s, S3BlobStore) and not s.connected for s in stores), stores
        await drop_databases(infra.database_url, f"{unique}_")


def on(service: Service, user: User) -> User:
    """The same person, signed in, talking to another replica."""
    return User(service.client, user.subject, user.token)


async def upload(user: User, company_id: str, data: bytes, content_type: str) -> Any:
    path = f"/companies/{company_id}/files"
    return await user.post(path, content=data, headers={"Content-Type": content_type})


async def draft(user: User, company_id: str, content: dict[str, Any]) -> str:
    item = ok(await user.post(f"/companies/{company_id}/booth/items", {"content": content}), 201)
    return str(item["item_id"])


async def bucket_contents(server: S3Server, name: str) -> dict[str, str]:
    """Key → Content-Type of every object in the bucket, read with a client of its own."""
    found: dict[str, str] = {}
    async with client(server) as s3:
        listing = await s3.list_objects_v2(Bucket=name)
        for entry in listing.get("Contents", []):
            head = await s3.head_object(Bucket=name, Key=entry["Key"])
            found[entry["Key"]] = head["ContentType"]
    return found


async def test_a_file_uploaded_through_one_replica_is_downloaded_through_the_other(
    replicas: Deployment, server: S3Server
) -> None:
    first, second = replicas.first, replicas.second
    staff = first.user("exhibitor")
    company_id, _ = await new_company(first, staff)
    image = ok(await upload(staff, company_id, PNG, "image/png"), 201)
    assert image == {
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "size": len(PNG),
        "content_type": "image/png",
    }
    # The same bytes again, through the other replica: the same file, not a second one.
    assert ok(await upload(on(second, staff), company_id, PNG, "image/png"), 201) == image
    document = ok(await upload(on(second, staff), company_id, PDF, "application/pdf"), 201)

    # Items drafted on one replica, files served by the other.
    image_item = await draft(
        on(second, staff),
        company_id,
        {"kind": "image", "title": "展台效果图", "file": image["sha256"]},
    )
    doc_item = await draft(
        staff, company_id, {"kind": "document", "title": "参展手册", "file": document["sha256"]}
    )
    got = await on(first, staff).get(f"/booth-items/{image_item}/file")
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    got = await on(second, staff).get(f"/booth-items/{doc_item}/file")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"

    # In the bucket: one object per content, with its type; nothing in PostgreSQL.
    contents = await bucket_contents(server, replicas.bucket)
    assert contents[image["sha256"]] == "image/png"
    assert contents[document["sha256"]] == "application/pdf"
    pool = first.app.state.runtime.pool
    assert await pool.fetchval("SELECT to_regclass('public.blobs')") is None


async def test_a_file_too_large_is_refused_before_it_reaches_the_bucket(
    replicas: Deployment, server: S3Server
) -> None:
    first = replicas.first
    staff = first.user("exhibitor")
    company_id, _ = await new_company(first, staff)
    huge = b"%PDF-1.7\n" + b"\x00" * UPLOADS.max_bytes
    before = await bucket_contents(server, replicas.bucket)
    assert error(await upload(staff, company_id, huge, "application/pdf")) == (
        413,
        "file_too_large",
    )
    assert await bucket_contents(server, replicas.bucket) == before


async def test_another_companys_file_and_a_lost_object_are_not_found(
    replicas: Deployment, server: S3Server
) -> None:
    first, second = replicas.first, replicas.second
    a_staff, b_staff = first.user("exhibitor"), second.user("exhibitor")
    company_a, _ = await new_company(first, a_staff, name="Lenovo")
    company_b, _ = await new_company(second, on(second, b_staff), name="Xiaomi")
    poster = b"\x89PNG\r\n\x1a\n" + b"Lenovo's unreleased poster" * 50
    secret = ok(await upload(a_staff, company_a, poster, "image/png"), 201)
    unknown = hashlib.sha256(b"nobody uploaded this").hexdigest()
    for sha in (secret["sha256"], unknown):  # the same answer: nothing tells B what A has
        refused = await on(second, b_staff).post(
            f"/companies/{company_b}/booth/items",
            {"content": {"kind": "image", "title": "ours", "file": sha}},
        )
        assert error(refused) == (404, "file_not_found")

    # A file whose object was lost from the bucket is a 404, as a missing row or file is.
    item = await draft(
        a_staff, company_a, {"kind": "image", "title": "海报", "file": secret["sha256"]}
    )
    assert (await on(second, a_staff).get(f"/booth-items/{item}/file")).status_code == 200
    async with client(server) as s3:
        await s3.delete_object(Bucket=replicas.bucket, Key=secret["sha256"])
    lost = await on(second, a_staff).get(f"/booth-items/{item}/file")
    assert error(lost) == (404, "file_not_found")


async def test_a_stopped_s3_server_answers_503_with_retry_after_then_recovers(
    replicas: Deployment, server: S3Server
) -> None:
    first, second = replicas.first, replicas.second
    staff = first.user("exhibitor")
    company_id, _ = await new_company(first, staff)
    image = ok(await upload(staff, company_id, PNG + b"stand", "image/png"), 201)
    item = await draft(
        staff, company_id, {"kind": "image", "title": "展位", "file": image["sha256"]}
    )
    pool = first.app.state.runtime.pool
    uploads = "SELECT count(*) FROM events WHERE stream_id = $1"
    recorded = await pool.fetchval(uploads, FILES.stream(company_id))

    server.stop()
    try:
        started = time.monotonic()
        refused = [
            await upload(staff, company_id, PDF + b"new", "application/pdf"),
            await on(second, staff).get(f"/booth-items/{item}/file"),
        ]
        took = time.monotonic() - started
        for response in refused:
            assert error(response) == (503, "unavailable")
            assert response.headers["retry-after"] == "1"
            assert response.json()["error"]["details"]["dependency"] == "s3"
        assert took < 10, f"two refusals took {took:.1f}s: a client waits too long"
        # the refused upload recorded nothing: the company cannot name a file not stored
        assert await pool.fetchval(uploads, FILES.stream(company_id)) == recorded
    finally:
        server.start()

    # Back without restarting either replica.
    got = await on(second, staff).get(f"/booth-items/{item}/file")
    assert got.status_code == 200 and got.content == PNG + b"stand"
    ok(await upload(staff, company_id, PDF + b"new", "application/pdf"), 201)
    assert await pool.fetchval(uploads, FILES.stream(company_id)) == recorded + 1
