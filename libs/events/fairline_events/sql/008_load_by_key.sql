-- A command's read without locks (the optimistic path) as a function, like its locking twin
-- fairline_lock_and_load. Sent by the client as one statement it cost twice: its array
-- parameters look like 10 rows to a generic plan, so PostgreSQL planned it anew on every
-- execution (40-55 us of server CPU a read, more than the read itself), or, once a generic
-- plan won while `events` was small, kept scanning the whole table until autovacuum's
-- ANALYZE came (704 pages a read at 10,000 events). Here the plan is made once per
-- connection and is the key lookup at any size: no sequential scans, always the generic plan.
CREATE OR REPLACE FUNCTION fairline_load(wanted text[], since int[])
RETURNS TABLE (stream_id text, stream_version int, event_type text, schema_version int, data jsonb)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
    SELECT e.stream_id, e.stream_version, e.event_type, e.schema_version, e.data
    FROM public.events e
    JOIN unnest(wanted, since) AS w(wanted_stream, after_version)
      ON e.stream_id = w.wanted_stream AND e.stream_version > w.after_version
    ORDER BY e.stream_id, e.stream_version;
END $$;
ALTER FUNCTION public.fairline_load(text[], int[]) SET enable_seqscan = off;
-- With sequential scans off every plan of these functions reads by key, so the one made
-- first serves every call: no planning per command.
ALTER FUNCTION public.fairline_load(text[], int[]) SET plan_cache_mode = force_generic_plan;
-- The locking twins read by key already (sql/007_plans_by_key.sql sets enable_seqscan off).
ALTER FUNCTION public.fairline_lock_and_load(bigint[], text[], int[])
  SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION public.fairline_lock_and_check(bigint[], text[], int[])
  SET plan_cache_mode = force_generic_plan;
