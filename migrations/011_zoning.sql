-- Zoning: every compound's zone by day (三区), epidemic-free compounds and the areas they join into
-- (无疫小区), each new case's level (社会面 or found inside control) and district clearance (社会面清零).
-- All of it is derived from the facts of other capabilities (cases, testing, the registry) by the rules in
-- src/zoning/rules.ts and kept by the server's job (src/zoning/store.ts); nothing here is entered by hand.
-- Zone facts carry compound_id, their distribution key.

-- New cases for zoning to take in: filled by a statement trigger in the transaction that inserts the cases,
-- emptied by the job. Cases knows nothing of it, and no case is missed between two looks.
CREATE TABLE zoning_inbox (
  case_id bigint PRIMARY KEY
);
CREATE FUNCTION zoning_inbox_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO zoning_inbox (case_id) SELECT id FROM zoning_new_cases ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER cases_to_zoning AFTER INSERT ON cases REFERENCING NEW TABLE AS zoning_new_cases FOR EACH STATEMENT EXECUTE FUNCTION zoning_inbox_add();
INSERT INTO zoning_inbox SELECT id FROM cases ON CONFLICT DO NOTHING;
-- A compound's cases, read when its facts are rebuilt (the cases of a few compounds, not the whole table).
CREATE INDEX cases_compound ON cases (compound_id, reported_at);

-- The registry as zoning sees it changes with its compounds (places, people) and their adjacency: a
-- statement trigger counts the changes, and a new count recomputes every zone. (Committed changes only: the
-- count is a row, read like any other.)
CREATE TABLE zoning_registry (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  version bigint NOT NULL
);
INSERT INTO zoning_registry (one, version) VALUES (true, 1);
CREATE FUNCTION zoning_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE zoning_registry SET version = version + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER compounds_to_zoning AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON compounds FOR EACH STATEMENT EXECUTE FUNCTION zoning_registry_changed();
CREATE TRIGGER compound_adjacency_to_zoning AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON compound_adjacency FOR EACH STATEMENT EXECUTE FUNCTION zoning_registry_changed();

-- A compound's screening days: a day is screened when a resulted tube held one of its residents (sampled
-- that local day), and all negative when every such tube is negative (an invalid or positive tube, a pool
-- of residents of several compounds included, makes it not all negative). Kept from new results as they
-- arrive: both flags only ever move one way (screened, then not all negative), so taking a result twice
-- changes nothing.
CREATE TABLE compound_screenings (
  compound_id int NOT NULL,
  day date NOT NULL,
  all_negative boolean NOT NULL,
  PRIMARY KEY (compound_id, day)
);

-- Each compound's facts as the rules read them, one short text per compound (a day's recomputation of
-- 70,000 compounds reads 70,000 of these rather than every case): cases as "day,case,building" (day number
-- since 1970-01-01; of each day the last case and the first of each building, all the rules look at) and
-- screenings as "day,1|0" (all negative or not), each list in day order, entries separated by ';'.
CREATE TABLE zone_facts (
  compound_id int PRIMARY KEY,
  cases text NOT NULL DEFAULT '',
  screenings text NOT NULL DEFAULT ''
);

-- The rules' texts, numbered: a day of 70,000 rows names its rule by number, not by a sentence.
CREATE TABLE zone_rules (
  id smallint PRIMARY KEY,
  rule text NOT NULL UNIQUE
);

-- The zone of every compound at the end of every day from the first fact to today, with its reason (the
-- rule and the last case), since when, and where it moves if nothing happens; and whether it is
-- epidemic-free (since when, or when it will be) and the free area it belongs to (the area's smallest
-- compound id, so that an area keeps its name while it grows).
CREATE TABLE compound_zones (
  day date NOT NULL,
  compound_id int NOT NULL,
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
  free_area int,
  PRIMARY KEY (day, compound_id)
);

-- Per day: the epidemic-free areas (their compounds carry the area's id) and the streets and districts
-- wholly free.
CREATE TABLE free_areas (
  day date NOT NULL,
  area_id int NOT NULL,
  compounds int NOT NULL,
  people bigint NOT NULL,
  PRIMARY KEY (day, area_id)
);
CREATE TABLE free_places (
  day date NOT NULL,
  kind text NOT NULL CHECK (kind IN ('street', 'district')),
  place_id int NOT NULL,
  PRIMARY KEY (day, kind, place_id)
);

-- Compounds and people in each zone per district and day (the figures of the 2022 daily reports).
CREATE TABLE zone_counts (
  day date NOT NULL,
  district_id int NOT NULL,
  zone text NOT NULL,
  compounds int NOT NULL,
  people bigint NOT NULL,
  free_compounds int NOT NULL,
  PRIMARY KEY (day, district_id, zone)
);

-- Each case's level, decided once when zoning first sees it: found inside control (in quarantine, in a
-- sealed compound, under a pool's retest) or at society level, with the fact that decided it.
CREATE TABLE case_levels (
  case_id bigint PRIMARY KEY,
  level text NOT NULL CHECK (level IN ('controlled', 'society')),
  fact jsonb NOT NULL,
  -- The local day of the report and where the case was found (copied: clearance counts by them).
  day date NOT NULL,
  district_id int,
  compound_id int,
  preset text NOT NULL,
  decided_at timestamptz NOT NULL
);
CREATE INDEX case_levels_society ON case_levels (day, district_id) WHERE level = 'society';

-- District clearance per day: society-level cases against the district's population.
CREATE TABLE district_clearance (
  day date NOT NULL,
  district_id int NOT NULL,
  cases int NOT NULL,
  population int NOT NULL,
  per100k double precision NOT NULL,
  below_run int NOT NULL,
  zero_run int NOT NULL,
  basically_zero boolean NOT NULL,
  zero boolean NOT NULL,
  PRIMARY KEY (day, district_id)
);

-- What the stored history covers and what the job has read: the preset it was computed with and the
-- registry version it was computed on (a change of either recomputes everything), its first and last day,
-- the version of zone_facts (a server keeps the facts in memory while this stays the same), the lab results
-- taken in (results after results_before are read again once: on PostgreSQL a result can commit after a
-- later one), the last conflict resolution taken in, and the texts of the rules that are not per row.
CREATE TABLE zoning_state (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  preset text NOT NULL,
  registry bigint NOT NULL,
  facts_version bigint NOT NULL,
  first_day date NOT NULL,
  last_day date NOT NULL,
  results_seen bigint NOT NULL DEFAULT 0,
  results_before bigint NOT NULL DEFAULT 0,
  resolutions_seen timestamptz,
  free_rule text NOT NULL,
  clearance_rule text NOT NULL,
  refreshed_at timestamptz NOT NULL
);
