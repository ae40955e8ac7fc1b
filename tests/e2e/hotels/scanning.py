"""Looking everywhere a guest's data could be: every table of the service's database and
every topic of the run, as text and as sealed values that some remaining key might open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import asyncpg
from fairline_events.kafka import KafkaAccess, admin_client
from fairline_events.shredding import Sealed, unseal
from support.kafka_read import read_topic


def sealed_values(value: Any) -> Iterator[tuple[str, Sealed]]:
    """Every sealed value inside a JSON document, with the field name found for it."""
    if isinstance(value, dict):
        if {"key_id", "nonce", "ciphertext"} <= set(value):
            yield "", Sealed.model_validate(value)
            return
        for k, v in value.items():
            for field, sealed in sealed_values(v):
                yield field or k, sealed
    elif isinstance(value, list):
        for v in value:
            yield from sealed_values(v)


async def database_rows(pool: asyncpg.Pool) -> list[str]:
    """Every row of every table (all schemas of the service) as JSON text."""
    tables = await pool.fetch(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_type = 'BASE TABLE'
             AND table_schema NOT IN ('pg_catalog', 'information_schema')"""
    )
    rows: list[str] = []
    for t in tables:
        rows += [
            r[0] for r in await pool.fetch(f'SELECT row_to_json(x)::text FROM "{t[0]}"."{t[1]}" x')
        ]
    return rows


async def topic_records(kafka: KafkaAccess, prefix: str) -> list[str]:
    """Every record (key, value, headers) of every topic with the run's prefix, as text."""
    admin = admin_client(kafka)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
    finally:
        await admin.close()
    texts: list[str] = []
    for topic in topics:
        for r in await read_topic(kafka, topic):
            headers = " ".join(f"{k}={v.decode(errors='replace')}" for k, v in r.headers or ())
            texts.append(
                f"{topic} {(r.key or b'').decode(errors='replace')} {headers} "
                f"{(r.value or b'').decode(errors='replace')}"
            )
    return texts


def readable(texts: list[str], keys: dict[str, bytes]) -> set[str]:
    """Everything the keys that still exist can open in these texts."""
    opened: set[str] = set()
    for text in texts:
        start = text.find("{")
        if start < 0:
            continue
        try:
            document = json.loads(text[start:])
        except json.JSONDecodeError:
            continue
        for _field, sealed in sealed_values(document):
            key = keys.get(sealed.key_id)
            if key is None:
                continue
            for name in ("name", "phone", "id_document"):
                try:
                    opened.add(unseal(key, sealed, name))
                except ValueError:
                    continue
    return opened
