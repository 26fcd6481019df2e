-- A person whose home changes (compound or household: a person edited, a household moved, a registry import).
-- An entrance server keeps each person's compound and building in memory to refuse the residents of a
-- confined compound or a sealed building (rules.md 1-2, 11). Two marks, in the moving transaction:
-- - status_stale, as a recorded fact marks a person (src/core/stale.ts): the server answers them from the
--   database until their status is recomputed, and then reads their home again. Due at once ('-infinity'):
--   the database's clock is not the platform's.
-- - person_moves, read by id: the recomputation can come before the server's next look (every second, the
--   upkeep every few), and then the mark is gone before it was seen.
CREATE TABLE person_moves (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  person_id int NOT NULL
);

CREATE FUNCTION person_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO person_moves (person_id) VALUES (NEW.id);
  INSERT INTO status_stale (person_id, since) VALUES (NEW.id, '-infinity') ON CONFLICT (person_id) DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER persons_moved AFTER UPDATE OF compound_id, household_id ON persons
  FOR EACH ROW WHEN (OLD.compound_id IS DISTINCT FROM NEW.compound_id OR OLD.household_id IS DISTINCT FROM NEW.household_id) EXECUTE FUNCTION person_moved();
