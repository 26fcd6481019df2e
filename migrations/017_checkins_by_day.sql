-- Check-ins partitioned by the day (UTC) of the scan. Today's scans go into today's own small indexes
-- instead of indexes over every day kept, whose pages a random person or venue seldom finds in memory: a
-- group commit of 40 scans cost 680-720 us instead of 1,570-1,590 on PGlite with 10 million scans kept
-- (.prof/s10/partbench.ts), 870-950 us instead of 1,180-1,560 on a PostgreSQL server with 7 million
-- (.prof/s10/pgpart.ts). Readers name a time range, so they visit only its days.
-- checkin_days(from, to) makes the partitions of those days; the scan writer calls it before it first
-- writes a day. A scan of a day without a partition lands in checkins_other: nothing is ever refused for
-- want of one, and such a day stays there (a partition cannot be made over scans already kept).
ALTER TABLE checkins RENAME TO checkins_before_017;
DROP INDEX checkins_venue_time;
DROP INDEX checkins_person_time;

-- The same columns, defaults and checks (migrations/006).
CREATE TABLE checkins (LIKE checkins_before_017 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (scanned_at);
CREATE TABLE checkins_other PARTITION OF checkins DEFAULT;
-- As before, on every partition: "who was here then" from the index alone, and a person's own scans.
CREATE INDEX checkins_venue_time ON checkins (venue_id, scanned_at, person_id);
CREATE INDEX checkins_person_time ON checkins (person_id, scanned_at);

-- The partitions checkins_YYYYMMDD of the UTC days from from_at to to_at that have none; the number made.
-- Another process making the same day meanwhile, or scans of the day already in checkins_other, leave the
-- day as it is. Making a partition locks checkins for a moment, after the transactions reading it: rather
-- than make every check-in wait behind a long one, a day that cannot be made within 100 ms is left as it is
-- (its scans land in checkins_other; the scan writer tries the day after again on its next day).
CREATE FUNCTION checkin_days(from_at timestamptz, to_at timestamptz) RETURNS int LANGUAGE plpgsql SET lock_timeout = '100ms' AS $$
DECLARE
  d date;
  made int := 0;
BEGIN
  FOR d IN SELECT g::date FROM generate_series((from_at AT TIME ZONE 'UTC')::date, (to_at AT TIME ZONE 'UTC')::date, interval '1 day') AS g LOOP
    CONTINUE WHEN to_regclass('checkins_' || to_char(d, 'YYYYMMDD')) IS NOT NULL;
    BEGIN
      EXECUTE format('CREATE TABLE %I PARTITION OF checkins FOR VALUES FROM (%L) TO (%L)',
                     'checkins_' || to_char(d, 'YYYYMMDD'), d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
      made := made + 1;
    EXCEPTION WHEN duplicate_table OR unique_violation OR check_violation OR lock_not_available THEN
      NULL;
    END;
  END LOOP;
  RETURN made;
END $$;

SELECT checkin_days(day, day) FROM (SELECT DISTINCT date_trunc('day', scanned_at, 'UTC') AS day FROM checkins_before_017) AS d;
INSERT INTO checkins SELECT * FROM checkins_before_017;
DROP TABLE checkins_before_017;
