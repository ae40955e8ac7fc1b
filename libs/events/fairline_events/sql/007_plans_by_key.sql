-- The command functions read `streams` and `events` only by key. PL/pgSQL caches each
-- statement's plan per connection: planned while the tables were small (a new edition's
-- first commands), the check joined by a full scan, and kept doing so after an import of
-- tens of thousands of booths until autovacuum's ANALYZE came (8 ms a command instead of
-- 0.02 ms). Without sequential scans the plan is the key lookup at any size.
ALTER FUNCTION public.fairline_lock_and_check(bigint[], text[], int[]) SET enable_seqscan = off;
ALTER FUNCTION public.fairline_lock_and_load(bigint[], text[], int[]) SET enable_seqscan = off;
