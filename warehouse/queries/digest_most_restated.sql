-- digest_most_restated: the statements carried by the most articles in the
-- digest's window — the claims that travel. `articles` counts distinct
-- articles, `sightings` every sighting (an article re-fetched after an edit
-- sights its statements again).
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   day   DATE     the last day of the window (UTC)        default: today (UTC)
--   days  INTEGER  how many days the window spans          default: 30
--   top   INTEGER  how many statements                     default: 10
--
--   armswatch sql --file warehouse/queries/digest_most_restated.sql --param day=2024-06-03
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE day = DATE '2024-06-03';
--     .read warehouse/queries/digest_most_restated.sql
WITH params AS (
    SELECT coalesce(getvariable('day')::DATE, (now() AT TIME ZONE 'UTC')::DATE) AS day,
           greatest(coalesce(getvariable('days')::INTEGER, 30), 1) AS days,
           coalesce(getvariable('top')::INTEGER, 10) AS top
),
seen AS (
    SELECT g.statement_id, g.article_id, coalesce(g.lang, a.lang) AS lang
    FROM statement_sightings AS g
    JOIN articles AS a USING (article_id)
    CROSS JOIN params AS p
    WHERE (g.seen_at AT TIME ZONE 'UTC')::DATE BETWEEN p.day - (p.days - 1) AND p.day
),
counted AS (
    SELECT statement_id, count(DISTINCT article_id) AS articles, count(*) AS sightings,
           list_sort(list_distinct(list(lang) FILTER (WHERE lang IS NOT NULL))) AS languages
    FROM seen
    GROUP BY statement_id
)
SELECT s.speaker, s.stance, s.text, c.articles, c.sightings, c.languages, s.first_seen_at,
       s.statement_id
FROM counted AS c
JOIN statements AS s USING (statement_id)
ORDER BY c.articles DESC, c.sightings DESC, s.first_seen_at, s.statement_id
LIMIT (SELECT top FROM params);
