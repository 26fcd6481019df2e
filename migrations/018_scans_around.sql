-- Tracing's read of the scans around persons (src/tracing/store.ts scansAround), as a function so that its
-- plan is made once a connection and kept: planned anew for each call, over check-ins partitioned by day,
-- the planning cost more than the reading (19 days: 3.5-12 ms of planning against 4-6 ms of execution for
-- one case, .prof/s10/plan.ts). The kept plan is generic; the days outside each range are passed over when
-- it runs. For each subject i: their own scans between t0 and t1, and everyone's scans at those venues (and
-- at the places they named) within window_ms of them, each answer as one text value.
CREATE FUNCTION scans_around(subject int[], person int[], t0 timestamptz[], t1 timestamptz[],
                             named_subject int[], named_venue int[], named_t0 timestamptz[], named_t1 timestamptz[],
                             window_ms float8, OUT own text, OUT others text)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  WITH s AS (SELECT * FROM unnest(subject, person, t0, t1) AS s(i, person_id, t0, t1)),
  own_scans AS MATERIALIZED (
    SELECT s.i, c.venue_id, c.scanned_at FROM s CROSS JOIN LATERAL
      (SELECT c.venue_id, c.scanned_at FROM checkins c WHERE c.person_id = s.person_id AND c.scanned_at >= s.t0 AND c.scanned_at <= s.t1) c),
  spans AS (
    SELECT o.i, o.venue_id, o.scanned_at AS t0, o.scanned_at AS t1 FROM own_scans o
    UNION ALL SELECT * FROM unnest(named_subject, named_venue, named_t0, named_t1)),
  other_scans AS (
    SELECT DISTINCT sp.i, c.person_id, c.venue_id, c.scanned_at FROM spans sp CROSS JOIN LATERAL
      (SELECT c.person_id, c.venue_id, c.scanned_at FROM checkins c
        WHERE c.venue_id = sp.venue_id AND c.scanned_at >= sp.t0 - window_ms * interval '1 millisecond' AND c.scanned_at <= sp.t1 + window_ms * interval '1 millisecond') c)
  SELECT (SELECT string_agg(o.i || ',' || o.venue_id || ',' || floor(extract(epoch FROM o.scanned_at) * 1000), ';' ORDER BY o.i, o.scanned_at, o.venue_id) FROM own_scans o),
         (SELECT string_agg(x.i || ',' || x.person_id || ',' || x.venue_id || ',' || floor(extract(epoch FROM x.scanned_at) * 1000), ';' ORDER BY x.i, x.venue_id, x.scanned_at, x.person_id) FROM other_scans x)
    INTO own, others;
END $$;
