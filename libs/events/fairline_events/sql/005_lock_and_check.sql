-- A command's optimistic append (fairline_events.transact): the locks its streams would have
-- had, taken now, then every stream it read checked unchanged since, before the claims and
-- the insert of the same statement. The checks run after the locks, each with a fresh
-- snapshot (READ COMMITTED, VOLATILE), so what a lock holder committed is seen: the command
-- is as if it had locked, read and appended. A stream that moved raises FL409, the store's
-- "concurrent change", and the statement, locks included, is undone.
CREATE OR REPLACE FUNCTION fairline_lock_and_check(keys bigint[], read text[], versions int[])
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  moved text;
BEGIN
  PERFORM pg_advisory_xact_lock(k) FROM unnest(keys) WITH ORDINALITY AS l(k, n) ORDER BY n;
  SELECT r.stream_id INTO moved
  FROM unnest(read, versions) AS r(stream_id, version)
  LEFT JOIN public.streams s ON s.stream_id = r.stream_id
  WHERE coalesce(s.version, 0) <> r.version
  LIMIT 1;
  IF moved IS NOT NULL THEN
    RAISE EXCEPTION 'stream % changed concurrently', moved
      USING ERRCODE = 'FL409', DETAIL = moved;
  END IF;
  RETURN true;
END $$;
