-- Arrivals from a low-risk area (rules.md 11): no quarantine, but tests on 2 days within 3 (三天两检), asked
-- of the person by their status and yellow when missed.
ALTER TABLE arrivals DROP CONSTRAINT arrivals_kind_check;
ALTER TABLE arrivals ADD CONSTRAINT arrivals_kind_check CHECK (kind IN ('inbound', 'highRisk', 'mediumRisk', 'lowRisk'));
