-- Tubes counted by sampling point and hour opened (UTC), with how many have a result in force and how many
-- of those are positive: what the daily figures (src/command/stats.ts) and the positivity alert
-- (src/command/alerts.ts) read every minute. They read every tube of two and of six days instead, each with a
-- look-up of its result: on PGlite 0.6-1.0 s and 0.8-0.9 s a run for a city of 300,000 with 150,000 tubes
-- (.prof/s19/jobs.ts), the embedded database and every check-in waiting meanwhile; and growing with the tubes
-- of those days, where these counts grow with sampling points and hours. An hour gives exact days in a time zone a whole number of hours from UTC (the presets').
--
-- Triggers on tubes and lab_results append the change of each statement to tube_count_changes (never an
-- update in place: no two writers wait for the same row); fold_tube_counts() moves them into tube_counts.
-- Readers add both. A result counts while its tube exists and it is in force (state 'applied').
CREATE TABLE tube_counts (
  hour timestamptz NOT NULL,
  -- 0: tubes without a sampling point.
  sampling_point_id int NOT NULL,
  tubes int NOT NULL,
  samples int NOT NULL,
  resulted int NOT NULL,
  positive int NOT NULL,
  PRIMARY KEY (hour, sampling_point_id)
);
CREATE TABLE tube_count_changes (LIKE tube_counts);
CREATE INDEX tube_count_changes_hour ON tube_count_changes (hour);

-- A tube's own counts, with the result it has in force if any; sign -1 takes them away.
CREATE FUNCTION tube_count_row(tube bigint, opened timestamptz, point int, persons int, sign int)
RETURNS TABLE (hour timestamptz, sampling_point_id int, tubes int, samples int, resulted int, positive int)
LANGUAGE sql STABLE AS $$
  SELECT date_trunc('hour', opened, 'UTC'), coalesce(point, 0), sign, sign * persons,
         sign * (r.verdict IS NOT NULL)::int, sign * coalesce((r.verdict = 'positive')::int, 0)
    FROM (SELECT (SELECT lr.verdict FROM lab_results lr WHERE lr.tube_id = tube AND lr.state = 'applied' LIMIT 1) AS verdict) r
$$;

CREATE FUNCTION tube_counts_of_tubes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO tube_count_changes
    SELECT c.hour, c.sampling_point_id, sum(c.tubes), sum(c.samples), sum(c.resulted), sum(c.positive)
      FROM new_rows n CROSS JOIN LATERAL tube_count_row(n.id, n.opened_at, n.sampling_point_id, n.samples, 1) c GROUP BY 1, 2;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO tube_count_changes
    SELECT c.hour, c.sampling_point_id, sum(c.tubes), sum(c.samples), sum(c.resulted), sum(c.positive)
      FROM old_rows o CROSS JOIN LATERAL tube_count_row(o.id, o.opened_at, o.sampling_point_id, o.samples, -1) c GROUP BY 1, 2;
  ELSE
    -- Most updates add a person to a tube, or change nothing counted here (closed, received by a lab).
    INSERT INTO tube_count_changes
    SELECT x.hour, x.sampling_point_id, sum(x.tubes), sum(x.samples), sum(x.resulted), sum(x.positive)
      FROM (SELECT date_trunc('hour', n.opened_at, 'UTC') AS hour, coalesce(n.sampling_point_id, 0) AS sampling_point_id,
                   0 AS tubes, n.samples - o.samples AS samples, 0 AS resulted, 0 AS positive
              FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.opened_at = o.opened_at AND n.sampling_point_id IS NOT DISTINCT FROM o.sampling_point_id AND n.samples <> o.samples
            UNION ALL
            -- A tube moved to another hour or point takes its counts with it.
            SELECT c.* FROM new_rows n JOIN old_rows o ON o.id = n.id
                       CROSS JOIN LATERAL (SELECT * FROM tube_count_row(o.id, o.opened_at, o.sampling_point_id, o.samples, -1)
                                           UNION ALL SELECT * FROM tube_count_row(n.id, n.opened_at, n.sampling_point_id, n.samples, 1)) c
             WHERE n.opened_at <> o.opened_at OR n.sampling_point_id IS DISTINCT FROM o.sampling_point_id) x
     GROUP BY 1, 2 HAVING sum(x.tubes) <> 0 OR sum(x.samples) <> 0 OR sum(x.resulted) <> 0 OR sum(x.positive) <> 0;
  END IF;
  RETURN NULL;
END $$;

-- Results in force counted at their tube, if it exists: +1 for each that comes into force, -1 for each
-- that leaves it (set aside for a conflicting one, or removed).
CREATE FUNCTION tube_counts_add_results(tube_ids bigint[], signs int[], verdicts text[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO tube_count_changes
  SELECT date_trunc('hour', t.opened_at, 'UTC'), coalesce(t.sampling_point_id, 0), 0, 0, sum(x.sign), sum(x.sign * (x.verdict = 'positive')::int)
    FROM unnest(tube_ids, signs, verdicts) AS x(tube_id, sign, verdict) JOIN tubes t ON t.id = x.tube_id
   GROUP BY 1, 2 HAVING sum(x.sign) <> 0 OR sum(x.sign * (x.verdict = 'positive')::int) <> 0
$$;

CREATE FUNCTION tube_counts_of_results() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM tube_counts_add_results(array_agg(tube_id), array_agg(1), array_agg(verdict)) FROM new_rows WHERE state = 'applied';
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM tube_counts_add_results(array_agg(tube_id), array_agg(-1), array_agg(verdict)) FROM old_rows WHERE state = 'applied';
  ELSE
    PERFORM tube_counts_add_results(array_agg(x.tube_id), array_agg(x.sign), array_agg(x.verdict))
       FROM (SELECT tube_id, 1 AS sign, verdict FROM new_rows WHERE state = 'applied'
             UNION ALL SELECT tube_id, -1, verdict FROM old_rows WHERE state = 'applied') x;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER tube_counts_insert AFTER INSERT ON tubes REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tube_counts_of_tubes();
CREATE TRIGGER tube_counts_update AFTER UPDATE ON tubes REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tube_counts_of_tubes();
CREATE TRIGGER tube_counts_delete AFTER DELETE ON tubes REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tube_counts_of_tubes();
CREATE TRIGGER tube_counts_insert AFTER INSERT ON lab_results REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tube_counts_of_results();
CREATE TRIGGER tube_counts_update AFTER UPDATE ON lab_results REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tube_counts_of_results();
CREATE TRIGGER tube_counts_delete AFTER DELETE ON lab_results REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tube_counts_of_results();

-- Moves the changes into tube_counts, one sum per hour and point; in hour order, so that two at once
-- never wait for each other crosswise. The number of changes moved.
CREATE FUNCTION fold_tube_counts() RETURNS int LANGUAGE sql AS $$
  WITH moved AS (DELETE FROM tube_count_changes RETURNING *),
  summed AS (SELECT hour, sampling_point_id, sum(tubes)::int AS tubes, sum(samples)::int AS samples, sum(resulted)::int AS resulted, sum(positive)::int AS positive, count(*) AS n
               FROM moved GROUP BY 1, 2),
  folded AS (INSERT INTO tube_counts SELECT hour, sampling_point_id, tubes, samples, resulted, positive FROM summed ORDER BY hour, sampling_point_id
             ON CONFLICT (hour, sampling_point_id) DO UPDATE SET tubes = tube_counts.tubes + EXCLUDED.tubes, samples = tube_counts.samples + EXCLUDED.samples,
                                                                 resulted = tube_counts.resulted + EXCLUDED.resulted, positive = tube_counts.positive + EXCLUDED.positive)
  SELECT coalesce(sum(n), 0)::int FROM summed
$$;

-- The tubes already recorded.
INSERT INTO tube_counts
SELECT c.hour, c.sampling_point_id, sum(c.tubes), sum(c.samples), sum(c.resulted), sum(c.positive)
  FROM tubes t CROSS JOIN LATERAL tube_count_row(t.id, t.opened_at, t.sampling_point_id, t.samples, 1) c GROUP BY 1, 2;
