-- The entrance index re-reads tubes still open every second (persons are still being added to them):
-- a small index of just those, so that it never walks every tube of the city.
CREATE INDEX tubes_open ON tubes (id) WHERE closed_at IS NULL;
