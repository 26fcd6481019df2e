-- Command: the daily figures the dashboard reads (kept by a job from the facts, never computed on a page
-- view), and the daily public bulletin with its approval steps.
CREATE TABLE daily_stats (
  metric text NOT NULL,
  day date NOT NULL,
  district_id int NOT NULL,
  value double precision NOT NULL,
  PRIMARY KEY (metric, day, district_id)
);
CREATE INDEX daily_stats_day ON daily_stats (day, district_id);

-- When the figures were last brought up to date, and from which day they are complete.
CREATE TABLE stats_state (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  refreshed_at timestamptz NOT NULL,
  complete_from date
);

-- Facts read by day: tubes by the day they were opened (sampling), contacts by the day they were found.
CREATE INDEX tubes_opened ON tubes (opened_at);
CREATE INDEX contacts_found ON contacts (found_at);
CREATE INDEX quarantine_orders_issued ON quarantine_orders (issued_at);

CREATE TABLE bulletins (
  day date PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('draft', 'approved', 'published')),
  -- Figures and compound-level addresses: never a person.
  content jsonb NOT NULL,
  -- Addresses held back, each with its reason (a compound with one household, for example).
  redactions jsonb NOT NULL DEFAULT '[]',
  drafted_by text NOT NULL,
  drafted_at timestamptz NOT NULL,
  approved_by text,
  approved_at timestamptz,
  published_by text,
  published_at timestamptz
);
