-- The API processes that place orders ("sales desks"), each renewing its row every few
-- seconds: a desk counts itself among the live ones to know which shards of every quota it
-- prefers. A hint only: every desk still sells every shard, so a dead desk strands nothing.
CREATE TABLE IF NOT EXISTS sales_desks (
    slot   integer PRIMARY KEY,
    holder text NOT NULL,
    seen   timestamptz NOT NULL
);
