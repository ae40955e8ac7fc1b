-- An append is one statement: claim every stream's next versions, then insert the events.
-- When a stream was not claimed (another writer moved it, or a later transaction wrote it),
-- this raises, so the statement, and with it every claim it made, is undone, and no caller
-- can commit half an append. SQLSTATE FL409 is the store's "concurrent change".
CREATE OR REPLACE FUNCTION fairline_require_claims(claimed text[], wanted text[])
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  missing text;
BEGIN
  SELECT w INTO missing FROM unnest(wanted) AS w
  WHERE w <> ALL (coalesce(claimed, '{}')) LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'stream % changed concurrently', missing
      USING ERRCODE = 'FL409', DETAIL = missing;
  END IF;
  RETURN true;
END $$;
