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
-- The first article and the article count are kept on each statement as
-- sightings are written.
SELECT s.first_seen_at, s.speaker, s.stance, s.text, s.lang, s.first_source AS source,
       s.first_url AS url, s.article_count::BIGINT AS articles, s.statement_id
FROM statements AS s
CROSS JOIN params AS p
WHERE s.first_seen_at > p.since AND s.first_seen_at <= p.until
ORDER BY s.first_seen_at, url, s.statement_id;
