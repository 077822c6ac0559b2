-- digest_top_speakers: the speakers quoted most in the digest's window —
-- how many of their statements were seen (again or for the first time), how
-- many were new, and in how many articles. The outlet's own voice (no
-- speaker) is left out.
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   day   DATE     the last day of the window (UTC)        default: today (UTC)
--   days  INTEGER  how many days the window spans          default: 30
--   top   INTEGER  how many speakers                       default: 10
--
--   armswatch sql --file warehouse/queries/digest_top_speakers.sql --param day=2024-06-03
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE day = DATE '2024-06-03';
--     .read warehouse/queries/digest_top_speakers.sql
WITH params AS (
    SELECT coalesce(getvariable('day')::DATE, (now() AT TIME ZONE 'UTC')::DATE) AS day,
           greatest(coalesce(getvariable('days')::INTEGER, 30), 1) AS days,
           coalesce(getvariable('top')::INTEGER, 10) AS top
),
seen AS (
    -- Each sighting carries its statement's speaker and first_seen_at.
    SELECT g.statement_speaker AS speaker, g.statement_id,
           g.statement_first_seen_at AS first_seen_at, g.article_id
    FROM statement_sightings AS g
    CROSS JOIN params AS p
    WHERE g.statement_speaker IS NOT NULL
      AND g.seen_at >= (p.day - (p.days - 1))::TIMESTAMP AT TIME ZONE 'UTC'
      AND g.seen_at < (p.day + 1)::TIMESTAMP AT TIME ZONE 'UTC'
),
-- Distinct statements and articles as plain counts over grouped rows, which
-- DuckDB does far faster than count(DISTINCT).
by_statement AS (
    SELECT speaker, count(*) AS statements,
           count(*) FILTER (
               WHERE (first_seen_at AT TIME ZONE 'UTC')::DATE
                     BETWEEN (SELECT day - (days - 1) FROM params) AND (SELECT day FROM params)
           ) AS new_statements
    FROM (SELECT DISTINCT speaker, statement_id, first_seen_at FROM seen)
    GROUP BY speaker
),
by_article AS (
    SELECT speaker, count(*) AS articles
    FROM (SELECT DISTINCT speaker, article_id FROM seen)
    GROUP BY speaker
)
SELECT speaker, s.statements, s.new_statements, a.articles
FROM by_statement AS s
JOIN by_article AS a USING (speaker)
ORDER BY statements DESC, articles DESC, speaker
LIMIT (SELECT top FROM params);
