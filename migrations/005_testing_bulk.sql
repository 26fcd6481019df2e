-- How many persons a tube holds, kept as samples are added: a lab upload checks 100,000 tubes for
-- "sampled" at once, and a count on the tube answers that without a probe into samples per tube.
ALTER TABLE tubes ADD COLUMN samples int NOT NULL DEFAULT 0;
UPDATE tubes t SET samples = s.n FROM (SELECT tube_id, count(*)::int AS n FROM samples GROUP BY tube_id) s WHERE s.tube_id = t.id;
-- Barcodes are machine labels (letters, digits, - and _): compared byte by byte. Under a server's
-- language collation, finding 100,000 of them at once spent most of its time in strcoll.
ALTER TABLE tubes ALTER COLUMN barcode TYPE text COLLATE "C";

-- One CSV field, quoted when it must be (RFC 4180), as src/core/db.ts csvField writes it: long lists are
-- written as CSV by the database itself, because reading 50,000 rows out of embedded PGlite one by one
-- costs more than the query that finds them.
CREATE FUNCTION csv_field(v text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v IS NULL THEN '' WHEN v = '' OR v ~ '[",\r\n]' THEN '"' || replace(v, '"', '""') || '"' ELSE v END
$$;
