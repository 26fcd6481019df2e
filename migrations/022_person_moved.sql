-- A person whose home changes (compound or household: a person edited, a household moved, a registry import)
-- is marked for their status to be recomputed, as a recorded fact marks them (src/core/stale.ts). An entrance
-- server keeps each person's compound and building in memory to refuse the residents of a confined compound
-- or a sealed building (rules.md 1-2, 11); it answers a marked person from the database, and reads their home
-- again when the mark is gone. Due at once ('-infinity'): the database's clock is not the platform's.
CREATE FUNCTION person_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO status_stale (person_id, since) VALUES (NEW.id, '-infinity') ON CONFLICT (person_id) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER persons_moved AFTER UPDATE OF compound_id, household_id ON persons
  FOR EACH ROW WHEN (OLD.compound_id IS DISTINCT FROM NEW.compound_id OR OLD.household_id IS DISTINCT FROM NEW.household_id) EXECUTE FUNCTION person_moved();
