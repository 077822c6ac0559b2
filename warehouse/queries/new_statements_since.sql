-- new_statements_since: which statements were seen for the first time in a
-- window, where each first appeared, and in how many articles it has been
-- seen since.
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   since  TIMESTAMPTZ  first seen after this moment       default: 7 days ago
--   until  TIMESTAMPTZ  ... and no later than this one     default: now
--
--   armswatch sql --file warehouse/queries/new_statements_since.sql --param since=2024-01-01
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE since = TIMESTAMPTZ '2024-01-01';
--     .read warehouse/queries/new_statements_since.sql
WITH params AS (
    SELECT coalesce(getvariable('since')::TIMESTAMPTZ, now() - INTERVAL 7 DAY) AS since,
           coalesce(getvariable('until')::TIMESTAMPTZ, now()) AS until
)
SELECT n.first_seen_at, n.speaker, n.stance, n.text, n.lang, n.source, n.url,
       (SELECT count(DISTINCT g.article_id)
        FROM statement_sightings AS g
        WHERE g.statement_id = n.statement_id) AS articles,
       n.statement_id
FROM new_statements AS n
CROSS JOIN params AS p
WHERE n.first_seen_at > p.since AND n.first_seen_at <= p.until
ORDER BY n.first_seen_at, n.url, n.statement_id;
