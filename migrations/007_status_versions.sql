-- Entrances keep a copy of the stored statuses in memory (src/status/door-index.ts) and read what changed
-- since their last look: by a number that only grows, not by time, because a demo's clock can stand still.
CREATE SEQUENCE person_status_version;
ALTER TABLE person_status ADD COLUMN version bigint NOT NULL DEFAULT nextval('person_status_version');
CREATE INDEX person_status_by_version ON person_status (version);
