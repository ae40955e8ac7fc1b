-- The event table is the source of truth and the relay's outbox.
CREATE TABLE IF NOT EXISTS events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version >= 1),
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    actor           text        NOT NULL,
    reason          text,
    command         text,
    correlation_id  uuid        NOT NULL,
    causation_id    uuid,
    trace_context   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    data            jsonb       NOT NULL,
    -- The writing transaction: readers of the global order only read below the oldest
    -- transaction still running, so a late commit of a lower position is never skipped.
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_commit_order ON events (tx_id, position);

-- One row per stream: the compare-and-set point for optimistic concurrency.
CREATE TABLE IF NOT EXISTS streams (
    stream_id text PRIMARY KEY,
    version   integer NOT NULL
);

-- Durable progress of the relay (and any other reader of the global order).
CREATE TABLE IF NOT EXISTS reader_checkpoints (
    reader     text PRIMARY KEY,
    tx_id      xid8   NOT NULL,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
