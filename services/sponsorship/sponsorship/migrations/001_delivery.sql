-- Impressions and clicks, as the ad servers report them: each once by its own id, so a
-- replayed batch counts nothing twice. Counted per booking and day, never per creative
-- version: a new version of a creative keeps its placement's statistics.
-- Not events in the event store: tens of thousands a second would swamp it, and nothing
-- is decided on them; they feed the delivery reports only.
CREATE TABLE IF NOT EXISTS delivery_events (
    event_id   uuid PRIMARY KEY,
    booking_id text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('impression', 'click')),
    day        date NOT NULL
);

CREATE TABLE IF NOT EXISTS delivery_counts (
    booking_id  text NOT NULL,
    day         date NOT NULL,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (booking_id, day)
);
