"""The construction reviewers' queue: every raw-space design, its version and verdict, and
how green it is (the share of low-carbon and reusable materials, which the fair promotes)."""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.events import DesignApproved, DesignReturned, DesignSubmitted, registry

designs = Projection(
    name="booths_designs",
    topics=["booths.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS designs (
        edition_code     text NOT NULL,
        booth_code       text NOT NULL,
        exhibitor_id     text NOT NULL,
        version          integer NOT NULL,
        status           text NOT NULL,
        contractor       text NOT NULL,
        materials        integer NOT NULL,
        low_carbon       integer NOT NULL,
        reusable         integer NOT NULL,
        submitted_at     timestamptz NOT NULL,
        reviewer         text,
        comments         text,
        reviewed_at      timestamptz,
        PRIMARY KEY (edition_code, booth_code)
    );
    CREATE INDEX IF NOT EXISTS designs_queue ON designs (edition_code, status, submitted_at);
    """,
)


@designs.on(DesignSubmitted)
async def submitted(e: DesignSubmitted, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO designs VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $7, $8, $9,
             NULL, NULL, NULL)
           ON CONFLICT (edition_code, booth_code) DO UPDATE SET exhibitor_id = $3,
             version = $4, status = 'submitted', contractor = $5, materials = $6,
             low_carbon = $7, reusable = $8, submitted_at = $9, reviewer = NULL,
             comments = NULL, reviewed_at = NULL""",
        e.edition_code,
        e.booth_code,
        e.exhibitor_id,
        e.version,
        e.contractor.name,
        len(e.materials),
        sum(m.low_carbon for m in e.materials),
        sum(m.reusable for m in e.materials),
        env.occurred_at,
    )


def _reviewed(e: DesignApproved | DesignReturned, env: Envelope, status: str) -> Sql:
    return sql(
        """UPDATE designs SET status = $4, reviewer = $5, comments = $6, reviewed_at = $7
           WHERE edition_code = $1 AND booth_code = $2 AND version = $3""",
        e.edition_code,
        e.booth_code,
        e.version,
        status,
        e.reviewer,
        e.comments,
        env.occurred_at,
    )


@designs.on(DesignApproved)
async def approved(e: DesignApproved, env: Envelope, tx: ReadModel) -> Sql:
    return _reviewed(e, env, "approved")


@designs.on(DesignReturned)
async def returned(e: DesignReturned, env: Envelope, tx: ReadModel) -> Sql:
    return _reviewed(e, env, "returned")
