-- Trigram indexes for the public search (issue 16): in `public`, so a projection's schema
-- (dropped on rebuild) never owns the extension. pg_trgm is a trusted extension (PG 13+).
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
