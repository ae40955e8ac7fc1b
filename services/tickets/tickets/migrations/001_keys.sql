-- Crypto-shredding: one data key per visitor, never relayed, never projected.
-- A destroyed key leaves a tombstone (key NULL, erased_at set): "erased", not "unknown".
CREATE TABLE IF NOT EXISTS visitor_keys (
    key_id     text PRIMARY KEY,
    key        bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz,
    CHECK ((key IS NULL) = (erased_at IS NOT NULL))
);

-- The private halves of the keys tickets are signed with (Ed25519, raw 32 bytes). The public
-- halves are events (`tickets.signing_key_activated`), so gates learn them from the topic.
CREATE TABLE IF NOT EXISTS signing_keys (
    key_id       text PRIMARY KEY,
    edition_code text NOT NULL,
    private_key  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
