-- Zones kept as stretches of unchanged days instead of a row per compound and day: a compound's zone,
-- reason and next move stay the same for days on end, so a new day writes only the compounds that changed
-- (a row per compound per day was 70,000 rows a day, most of the job's time, and a history growing without
-- end). The free area a compound belongs to changes when other compounds join or leave it, so it has
-- stretches of its own. A stretch runs from `day` to `until` (inclusive); `until` null: through the last
-- day the job has computed (zoning_state.last_day), so that a day on which nothing changed writes nothing.
-- zones_on(day) gives the rows of one day as compound_zones used to hold them.
DROP TABLE compound_zones;
CREATE TABLE compound_zones (
  compound_id int NOT NULL,
  day date NOT NULL,
  until date,
  zone text NOT NULL CHECK (zone IN ('sealed', 'controlled', 'precaution')),
  since date,
  clock_from date,
  rule smallint NOT NULL,
  last_case_id bigint,
  last_case_day date,
  next_on date,
  next_zone text,
  next_rule smallint,
  next_screening_on date,
  -- [{buildingId, caseId, releasedOn}]: buildings kept sealed for a positive in the sealed week; null for none.
  sealed_buildings jsonb,
  free boolean NOT NULL,
  free_since date,
  free_on date,
  -- The stretch's values as the job wrote them: a new day's values are compared with it.
  key text NOT NULL,
  PRIMARY KEY (compound_id, day),
  CHECK (until IS NULL OR until >= day)
);
-- The stretches of a day: those not ended before it (a btree: a GiST index over the days made writing a
-- new day's stretches four times slower).
CREATE INDEX compound_zones_until ON compound_zones ((coalesce(until, 'infinity'::date)));

-- The free area (its smallest compound's id) of each epidemic-free compound, in stretches likewise.
CREATE TABLE compound_free_areas (
  compound_id int NOT NULL,
  day date NOT NULL,
  until date,
  area_id int NOT NULL,
  PRIMARY KEY (compound_id, day),
  CHECK (until IS NULL OR until >= day)
);
CREATE INDEX compound_free_areas_until ON compound_free_areas ((coalesce(until, 'infinity'::date)));

-- Every compound's zone on day d, as one row each (inlined by the planner into the query that reads it).
CREATE FUNCTION zones_on(d date) RETURNS TABLE (
  day date, compound_id int, zone text, since date, clock_from date, rule smallint, last_case_id bigint, last_case_day date,
  next_on date, next_zone text, next_rule smallint, next_screening_on date, sealed_buildings jsonb, free boolean, free_since date, free_on date, free_area int
) LANGUAGE sql STABLE AS $$
  SELECT d, z.compound_id, z.zone, z.since, z.clock_from, z.rule, z.last_case_id, z.last_case_day, z.next_on, z.next_zone, z.next_rule, z.next_screening_on,
         z.sealed_buildings, z.free, z.free_since, z.free_on, a.area_id
    FROM compound_zones z
    LEFT JOIN compound_free_areas a ON a.compound_id = z.compound_id AND a.day <= d AND coalesce(a.until, 'infinity'::date) >= d
   WHERE z.day <= d AND coalesce(z.until, 'infinity'::date) >= d
$$;

-- A count of the writes to the stretches: a server keeps them in memory (a new day compares 70,000
-- compounds with them) while this stays what it last wrote or read.
ALTER TABLE zoning_state ADD COLUMN zones_version bigint NOT NULL DEFAULT 0;

-- The stored history is gone with the old table: the job computes it again from the facts on its next run.
DELETE FROM zoning_state;
