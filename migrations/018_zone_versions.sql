-- A count of the writes to the zone stretches: a server keeps the stretches in memory (a new day compares
-- 70,000 compounds with them) while this stays what it last wrote or read.
ALTER TABLE zoning_state ADD COLUMN zones_version bigint NOT NULL DEFAULT 0;
