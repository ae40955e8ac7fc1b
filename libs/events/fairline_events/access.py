"""Who may do what on Kafka: SCRAM users and ACLs, derived from the service definitions.

The broker refuses everything no ACL allows (`allow.everyone.if.no.acl.found=false`) and
creates no topic on first use. Each service is a principal named after it that may
- create, write and describe the topics under `<prefix><service>.` (its events and its
  projections' dead-letter topics) and under its extra prefixes (hotels: `partner.`);
- read exactly the topics its projections consume;
- use consumer groups under `<prefix><service>.`.
A partner hotel (`hotel.<code>`) may only read its own feed topic. The operator's admin
principal (a super user) provisions all of this; `grant` is idempotent.

aiokafka has no admin call for ACLs or SCRAM credentials, so the two requests are sent
with its protocol classes (CreateAcls v1, AlterUserScramCredentials v0, KIP-554).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from aiokafka.protocol.admin import CreateAclsRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from .kafka import KafkaAccess, admin_client

if TYPE_CHECKING:
    from .service import ServiceDefinition

SCRAM_ITERATIONS = 4096  # the minimum Kafka accepts for SCRAM-SHA-256
_SCRAM_SHA_256 = 1


class Resource(IntEnum):
    TOPIC = 2
    GROUP = 3


class Pattern(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8


_ALLOW = 3


@dataclass(frozen=True)
class Grant:
    """One ALLOW ACL binding: `principal` may `operation` on a resource (name or prefix)."""

    principal: str
    operation: Operation
    resource: Resource
    name: str
    pattern: Pattern = Pattern.LITERAL


def principal(username: str) -> str:
    return f"User:{username}"


def partner_principal(hotel_code: str) -> str:
    """The SCRAM username of a partner hotel's feed reader."""
    return f"hotel.{hotel_code}"


def service_grants(
    definition: ServiceDefinition, topic_prefix: str, username: str | None = None
) -> list[Grant]:
    """Everything `definition`'s principal (`username`, else the service's name) needs, and
    nothing more."""
    who = principal(username or definition.name)
    owned = [f"{topic_prefix}{definition.name}."] + [
        f"{topic_prefix}{extra}" for extra in definition.publishes_prefixes
    ]
    grants = [
        Grant(who, op, Resource.TOPIC, prefix, Pattern.PREFIXED)
        for prefix in owned
        for op in (Operation.CREATE, Operation.WRITE, Operation.DESCRIBE)
    ]
    consumed = sorted({f"{topic_prefix}{t}" for p in definition.projections for t in p.topics})
    grants += [Grant(who, Operation.READ, Resource.TOPIC, topic) for topic in consumed]
    grants.append(
        Grant(
            who,
            Operation.READ,
            Resource.GROUP,
            f"{topic_prefix}{definition.name}.",
            Pattern.PREFIXED,
        )
    )
    return grants


def reader_grants(username: str, topics: Iterable[str], group_prefix: str) -> list[Grant]:
    """A principal that only reads `topics` (a partner's feed), in its own groups."""
    who = principal(username)
    grants = [Grant(who, Operation.READ, Resource.TOPIC, topic) for topic in topics]
    grants.append(Grant(who, Operation.READ, Resource.GROUP, group_prefix, Pattern.PREFIXED))
    return grants


class AclError(RuntimeError):
    """The broker refused to store an ACL or a credential."""


async def create_acls(admin: KafkaAccess, grants: Sequence[Grant]) -> None:
    """Store `grants` (idempotent: an existing binding is simply there again)."""
    client = admin_client(admin)
    await client.start()
    try:
        for g in grants:
            request = CreateAclsRequest(
                int(g.resource),
                g.name,
                int(g.pattern),
                g.principal,
                "*",
                int(g.operation),
                _ALLOW,
            )
            response = await client._send_request(request)
            for result in response.creation_responses:
                if result[0] != 0:
                    raise AclError(f"ACL {g} refused: error {result[0]} {result[1] or ''}")
    finally:
        await client.close()


class _AlterScramResponse(Response):  # type: ignore[misc]
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramRequestV0(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterScramResponse
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScram(Request[_AlterScramRequestV0]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, upsertions: list[tuple[Any, ...]]) -> None:
        self._upsertions = upsertions

    def build(self, request_struct_class: type[_AlterScramRequestV0]) -> _AlterScramRequestV0:
        return request_struct_class([], self._upsertions, {})


async def upsert_scram_users(admin: KafkaAccess, passwords: Mapping[str, str]) -> None:
    """Create or reset SCRAM-SHA-256 users; the broker gets only salted hashes (KIP-554)."""
    upsertions: list[tuple[Any, ...]] = []
    for name, password in passwords.items():
        salt = secrets.token_bytes(32)
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
        upsertions.append((name, _SCRAM_SHA_256, SCRAM_ITERATIONS, salt, salted, {}))
    if not upsertions:
        return
    client = admin_client(admin)
    await client.start()
    try:
        response = await client._send_request(_AlterScram(upsertions))
    finally:
        await client.close()
    refused = [f"{r[0]}: error {r[1]} {r[2] or ''}" for r in response.results if r[1] != 0]
    if refused:
        raise AclError(f"SCRAM credentials refused: {'; '.join(refused)}")


def new_password() -> str:
    return secrets.token_urlsafe(24)
