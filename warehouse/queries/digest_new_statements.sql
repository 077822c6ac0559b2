-- digest_new_statements: the statements seen for the first time on one day
-- (UTC), with the article each first appeared in. The digest's list.
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   day  DATE     the day                                  default: today (UTC)
--   top  INTEGER  at most this many statements             default: 50
--
--   armswatch sql --file warehouse/queries/digest_new_statements.sql --param day=2024-06-03
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE day = DATE '2024-06-03';
--     .read warehouse/queries/digest_new_statements.sql
WITH params AS (
    SELECT coalesce(getvariable('day')::DATE, (now() AT TIME ZONE 'UTC')::DATE) AS day,
           coalesce(getvariable('top')::INTEGER, 50) AS top
)
-- The day as a range of instants, which prunes the scan by first_seen_at.
SELECT n.first_seen_at, n.speaker, n.stance, n.text, n.lang, n.source, n.url, n.statement_id
FROM new_statements AS n
CROSS JOIN params AS p
WHERE n.first_seen_at >= p.day::TIMESTAMP AT TIME ZONE 'UTC'
  AND n.first_seen_at < (p.day + 1)::TIMESTAMP AT TIME ZONE 'UTC'
ORDER BY n.first_seen_at, n.url, n.statement_id
LIMIT (SELECT top FROM params);
