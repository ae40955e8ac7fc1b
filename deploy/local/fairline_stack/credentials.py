"""The local stack's Kafka users: generated once per stack into .local/ (git-ignored).

`admin` is the broker's super user (inter-broker and provisioning); every installed service
gets a principal named after it, with the ACLs its definition implies
(`fairline_events.access`). Passwords never leave .local/ except through `fairline-stack env`.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path

from fairline_events.access import (
    create_acls,
    new_password,
    partner_principal,
    reader_grants,
    service_grants,
    upsert_scram_users,
)
from fairline_events.kafka import KafkaAccess

from ._proc import file_lock
from .config import StackConfig, StackError

ADMIN_USER = "admin"
SERVICES = ("exhibitors", "booths", "forums", "sponsorship", "hotels", "tickets")
"""Every service of the platform; those not installed get no ACLs (see `provision`)."""
DEFAULT_TOPIC_PREFIX = "fairline."
# The demo edition's partner hotel, so `make run` shows a partner reading its own feed.
DEMO_PARTNER_HOTELS = ("cncc-grand",)

Say = Callable[[str], None]


def credentials_path(cfg: StackConfig) -> Path:
    return cfg.kafka_dir / "credentials.json"


def passwords(cfg: StackConfig) -> dict[str, str]:
    """Every local user's password, generated on first use (file mode 0600)."""
    path = credentials_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_suffix(".lock")):
        known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        wanted = [
            ADMIN_USER,
            *SERVICES,
            *(partner_principal(h) for h in DEMO_PARTNER_HOTELS),
        ]
        missing = [u for u in wanted if u not in known]
        if missing:
            known |= {u: new_password() for u in missing}
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(known, out, indent=2)
        return known


def admin_credentials(cfg: StackConfig) -> tuple[str, str]:
    return ADMIN_USER, passwords(cfg)[ADMIN_USER]


def access(cfg: StackConfig, user: str = ADMIN_USER) -> KafkaAccess:
    known = passwords(cfg)
    if user not in known:
        raise StackError(f"no local Kafka user {user!r}; known: {', '.join(sorted(known))}")
    return KafkaAccess(cfg.bootstrap_servers, "SASL_PLAINTEXT", "SCRAM-SHA-256", user, known[user])


def partner_feed_topic(topic_prefix: str, hotel_code: str) -> str:
    # hotels.partner.contract.partner_topic, without importing the service
    return f"{topic_prefix}partner.{hotel_code}.bookings"


async def provision(cfg: StackConfig, say: Say, topic_prefix: str = DEFAULT_TOPIC_PREFIX) -> None:
    """Users and ACLs for the installed services (and the demo partner); idempotent."""
    admin = access(cfg)
    known = passwords(cfg)
    users = {u: p for u, p in known.items() if u != ADMIN_USER}
    await upsert_scram_users(admin, users)
    grants = []
    for name in SERVICES:
        if importlib.util.find_spec(name) is None:
            continue
        definition = importlib.import_module(f"{name}.service").definition
        grants += service_grants(definition, topic_prefix)
    for hotel in DEMO_PARTNER_HOTELS:
        user = partner_principal(hotel)
        grants += reader_grants(
            user, [partner_feed_topic(topic_prefix, hotel)], f"{topic_prefix}{user}."
        )
    await create_acls(admin, grants)
    say(f"kafka: {len(users)} SCRAM users and {len(grants)} ACLs for topics {topic_prefix}*")
