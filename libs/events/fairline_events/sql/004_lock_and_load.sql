-- A command's locks and its read in one round trip. The locks are taken first, in the order
-- given (the caller sorts them), and only then are the streams read: a function's statements
-- each take a fresh snapshot (READ COMMITTED, VOLATILE), so the read sees everything that
-- the lock holders before it committed. One statement could not: its snapshot would be taken
-- before it waited for the locks.
CREATE OR REPLACE FUNCTION fairline_lock_and_load(keys bigint[], wanted text[], since int[])
RETURNS SETOF public.events LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(k) FROM unnest(keys) WITH ORDINALITY AS l(k, n) ORDER BY n;
  RETURN QUERY
    SELECT e.* FROM public.events e
    JOIN unnest(wanted, since) AS w(wanted_stream, after_version)
      ON e.stream_id = w.wanted_stream AND e.stream_version > w.after_version
    ORDER BY e.stream_id, e.stream_version;
END $$;
