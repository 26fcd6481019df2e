-- A household moved to another building (the registry's edit or import): its members' building changes
-- without a change to their own rows, which is what migrations/022 follows. They are marked alike, so that
-- an entrance server reads their building again (a sealed building keeps its residents home, rules.md 1).
CREATE FUNCTION household_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO person_moves (person_id) SELECT id FROM persons WHERE household_id = NEW.id;
  INSERT INTO status_stale (person_id, since) SELECT id, '-infinity' FROM persons WHERE household_id = NEW.id ON CONFLICT (person_id) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER households_moved AFTER UPDATE OF building_id ON households
  FOR EACH ROW WHEN (OLD.building_id IS DISTINCT FROM NEW.building_id) EXECUTE FUNCTION household_moved();
