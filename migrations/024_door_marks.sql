-- The entrance index's look (src/status/door-index.ts) asks every second what changed since the last: the
-- last ids and versions, and whether anything waits. As a function, its plan is made once per connection
-- and kept: on PGlite the statement's planning was most of an idle look (1.8-2.5 ms a look, against 0.5
-- as this function, on an empty database).
CREATE FUNCTION door_marks(open_from bigint)
  RETURNS TABLE (persons bigint, tubes bigint, open boolean, results bigint, zones bigint, moves bigint, statuses bigint, stale boolean)
  LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
    SELECT (SELECT coalesce(max(p.id), 0) FROM persons p)::bigint,
           (SELECT coalesce(max(t.id), 0) FROM tubes t)::bigint,
           EXISTS (SELECT 1 FROM tubes t WHERE t.id > open_from AND t.closed_at IS NULL),
           (SELECT coalesce(max(r.id), 0) FROM lab_results r)::bigint,
           coalesce((SELECT z.zones_version FROM zoning_state z), -1)::bigint,
           (SELECT coalesce(max(m.id), 0) FROM person_moves m)::bigint,
           (SELECT coalesce(max(s.version), 0) FROM person_status s)::bigint,
           EXISTS (SELECT 1 FROM status_stale w);
END $$;
