-- A generated password's sealed result in the journal is needed only to resume the attempt
-- that drew it. Once the incident closes or fails (a re-run is a new attempt with a fresh
-- journal) it is replaced by "<redacted>" in the same statement that ends the incident, so no
-- crash can leave it behind. The status write is fenced by the lease, so a stale worker's
-- end of the incident redacts nothing. (The SQLite schema has the same trigger.)
CREATE FUNCTION ilm_redact_journal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE journal SET result = '"<redacted>"'
    WHERE incident = NEW.id AND sensitive = 1 AND result IS NOT NULL
      AND result <> '"<redacted>"';
  RETURN NULL;
END $$;
CREATE TRIGGER journal_redact_when_done AFTER UPDATE OF status ON incidents
  FOR EACH ROW WHEN (NEW.status IN ('closed', 'failed'))
  EXECUTE FUNCTION ilm_redact_journal();
