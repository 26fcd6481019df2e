-- The daily figures count discharges and deaths by day: read by time, not by a scan of every case.
CREATE INDEX cases_discharged ON cases (discharged_at) WHERE discharged_at IS NOT NULL;
CREATE INDEX cases_died ON cases (died_at) WHERE died_at IS NOT NULL;
