-- digest_statements_per_day: how many statements were seen for the first
-- time on each day of the digest's window, by stance (days are UTC; days
-- with none are absent). The digest's stacked-bar chart.
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   day   DATE     the last day of the window              default: today (UTC)
--   days  INTEGER  how many days the window spans          default: 30
--
--   armswatch sql --file warehouse/queries/digest_statements_per_day.sql --param day=2024-06-03
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE day = DATE '2024-06-03';
--     .read warehouse/queries/digest_statements_per_day.sql
WITH params AS (
    SELECT coalesce(getvariable('day')::DATE, (now() AT TIME ZONE 'UTC')::DATE) AS day,
           greatest(coalesce(getvariable('days')::INTEGER, 30), 1) AS days
)
-- The window as a range of instants, which prunes the scan by first_seen_at.
SELECT (s.first_seen_at AT TIME ZONE 'UTC')::DATE AS day, s.stance, count(*) AS statements
FROM statements AS s
CROSS JOIN params AS p
WHERE s.first_seen_at >= (p.day - (p.days - 1))::TIMESTAMP AT TIME ZONE 'UTC'
  AND s.first_seen_at < (p.day + 1)::TIMESTAMP AT TIME ZONE 'UTC'
GROUP BY ALL
ORDER BY day, s.stance;
