-- Persons whose home changed (compound or household: a person edited, a household moved, a registry import):
-- an entrance server keeps each person's compound and building in memory to refuse the residents of a
-- confined compound or a sealed building (rules.md 1-2, 11) and reads this, by increasing id, to follow
-- moves. One row a move; a new person is not a move.
CREATE TABLE person_moves (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  person_id int NOT NULL
);

CREATE FUNCTION person_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO person_moves (person_id) VALUES (NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER persons_moved AFTER UPDATE OF compound_id, household_id ON persons
  FOR EACH ROW WHEN (OLD.compound_id IS DISTINCT FROM NEW.compound_id OR OLD.household_id IS DISTINCT FROM NEW.household_id) EXECUTE FUNCTION person_moved();
