-- Crypto-shredding: one data key per guest, never relayed, never projected.
-- A destroyed key leaves a tombstone (key NULL, erased_at set): "erased", not "unknown".
CREATE TABLE IF NOT EXISTS guest_keys (
    key_id     text PRIMARY KEY,
    key        bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz,
    CHECK ((key IS NULL) = (erased_at IS NOT NULL))
);

-- Which partner hotel may fetch which guest key: the hotels the guest has a booking at.
-- Written in the booking's own transaction, so a hotel can open a name the moment the
-- booking reaches its feed.
CREATE TABLE IF NOT EXISTS guest_key_grants (
    key_id     text NOT NULL REFERENCES guest_keys (key_id) ON DELETE CASCADE,
    hotel_code text NOT NULL,
    PRIMARY KEY (key_id, hotel_code)
);
