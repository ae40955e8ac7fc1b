"""A real S3-compatible server of a test's own: versitygw (`make test-tools` builds it into
.tools/bin) on a free loopback port, its files in a temporary directory, stopped after.

A test may stop it and start it again on the same port and directory (an outage and its
end). Without the binary the tests skip and say how to build it; on CI (`CI` set, where
`make test` ran `make test-tools` first) a missing binary fails instead.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fairline_events.blobs import S3Settings, aws_session
from fairline_stack.config import project_root

from support.serving import free_port

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

MAKE_TARGET = "make test-tools"


def versitygw_binary() -> Path:
    return project_root() / ".tools" / "bin" / "versitygw"


def require_versitygw() -> Path:
    binary = versitygw_binary()
    if not binary.exists():
        why = f"no S3-compatible server: {binary} is missing; `{MAKE_TARGET}` builds it (Go 1.25+)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(reason=why)
    return binary


@dataclass
class S3Server:
    """A running versitygw: its endpoint and root credentials."""

    binary: Path
    root: Path
    port: int
    access_key_id: str = field(default_factory=lambda: "fairline-" + secrets.token_hex(6))
    secret_access_key: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    region: str = "us-east-1"
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(
        self, bucket: str, *, prefix: str = "", secret_access_key: str | None = None
    ) -> S3Settings:
        """Settings of a store on this server (with a key prefix, or a wrong secret)."""
        return S3Settings(
            bucket=bucket,
            endpoint=self.endpoint,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=secret_access_key or self.secret_access_key,
            prefix=prefix,
            addressing="path",
        )

    def env(self, bucket: str) -> dict[str, str]:
        """The environment a deployment sets for `FAIRLINE_BLOB_STORE=s3` on this server."""
        return {
            "FAIRLINE_BLOB_STORE": "s3",
            "FAIRLINE_S3_ENDPOINT": self.endpoint,
            "FAIRLINE_S3_BUCKET": bucket,
            "FAIRLINE_S3_REGION": self.region,
            "FAIRLINE_S3_ACCESS_KEY_ID": self.access_key_id,
            "FAIRLINE_S3_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def start(self, within: float = 20.0) -> None:
        log = (self.root.parent / "versitygw.log").open("ab")
        # The root credentials go by environment, not argv (which `ps` shows to anyone).
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ROOT_ACCESS_KEY_ID": self.access_key_id,
            "ROOT_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        command = [str(self.binary), "--port", f"127.0.0.1:{self.port}"]
        command += ["--region", self.region, "--quiet", "posix", str(self.root)]
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + within
        while not _listening(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"versitygw exited with {self.process.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"versitygw not listening within {within}s: {self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; the port is closed when this returns."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def log(self) -> str:
        path = self.root.parent / "versitygw.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """versitygw on a free port over a fresh directory, stopped (and its files deleted) after."""
    binary = require_versitygw()
    with tempfile.TemporaryDirectory(prefix="fairline-s3-") as tmp:
        root = Path(tmp) / "buckets"
        root.mkdir()
        server = S3Server(binary, root, free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop()


@asynccontextmanager
async def bucket(server: S3Server, name: str) -> AsyncIterator[str]:
    """A bucket made on `server` for a test (made by hand, as ops would: the store never
    makes one)."""
    async with client(server) as s3:
        await s3.create_bucket(Bucket=name)
    yield name


@asynccontextmanager
async def client(server: S3Server) -> AsyncIterator[S3Client]:
    """A plain S3 client of the server, to look at the bucket independently of the store."""
    from aiobotocore.config import AioConfig

    async with aws_session().create_client(
        "s3",
        region_name=server.region,
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=AioConfig(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    ) as s3:
        yield s3
