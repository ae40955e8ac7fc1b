-- Snapshots of long streams' states (fairline_events.snapshots): a cache of what the events
-- say, one row per stream and state shape (`kind`), only ever moved forward. Deleting rows
-- is always safe: a load then folds the stream from its first event.
CREATE TABLE IF NOT EXISTS snapshots (
    stream_id text NOT NULL,
    kind      text NOT NULL,
    version   integer NOT NULL,
    state     jsonb NOT NULL,
    taken_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, kind)
);
