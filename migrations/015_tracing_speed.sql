-- Tracing speed (issue 5).
-- A close contact's isolation is their first quarantine order: one index range however many orders there are.
CREATE INDEX quarantine_orders_person_issued ON quarantine_orders (person_id, issued_at);
-- Lookups of a person's exposures use the unique (person_id, source_person_id, kind, exposed_at) index, which
-- leads with person_id; the single-column index only cost every recorded exposure one more index entry.
DROP INDEX contact_exposures_person;
