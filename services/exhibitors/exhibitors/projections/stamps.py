"""How far the public side has moved: each read model behind the public API keeps a
`stamps` table (a row per company, per exhibitor, and `all`), bumped in the same
transaction as the change a visitor could see. The public API's ETags come from it, and a
notification on `PUBLIC_CHANNEL` (sent at commit) tells every API process which stamp to
read again, so a revalidation costs no database round trip while nothing changes."""

from __future__ import annotations

PUBLIC_CHANNEL = "exhibitors_public"

STAMPS_SQL = """
CREATE TABLE IF NOT EXISTS stamps (
    key        text PRIMARY KEY,
    version    bigint NOT NULL,
    changed_at timestamptz NOT NULL
);
"""


def bump(keys_from: str) -> str:
    """A statement that bumps the stamps `keys_from` selects (a `SELECT k, 1, <at> ...`
    naming its keys `k`) and announces each at commit."""
    return f"""WITH bumped AS (
        INSERT INTO stamps AS s (key, version, changed_at)
        {keys_from}
        ON CONFLICT (key) DO UPDATE SET version = s.version + 1,
          changed_at = greatest(s.changed_at, excluded.changed_at)
        RETURNING s.key)
    SELECT pg_notify('{PUBLIC_CHANNEL}', key) FROM bumped"""
