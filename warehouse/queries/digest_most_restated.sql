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
    -- Each sighting carries its article's language, and its statement's
    -- first_seen_at (null when either is not stored).
    SELECT g.statement_id, g.statement_first_seen_at AS first_seen_at, g.article_id,
           coalesce(g.lang, g.article_lang) AS lang
    FROM statement_sightings AS g
    CROSS JOIN params AS p
    WHERE g.seen_at >= (p.day - (p.days - 1))::TIMESTAMP AT TIME ZONE 'UTC'
      AND g.seen_at < (p.day + 1)::TIMESTAMP AT TIME ZONE 'UTC'
      AND g.article_first_seen_at IS NOT NULL AND g.statement_first_seen_at IS NOT NULL
),
counted AS (
    -- The ranking first, from counts alone: per article, then per statement
    -- (DuckDB counts grouped rows far faster than count(DISTINCT)); the
    -- languages and the text only for the top statements.
    SELECT statement_id, first_seen_at, count(*) AS articles, sum(sightings)::BIGINT AS sightings
    FROM (
        SELECT statement_id, first_seen_at, article_id, count(*) AS sightings
        FROM seen
        GROUP BY statement_id, first_seen_at, article_id
    )
    GROUP BY statement_id, first_seen_at
    ORDER BY articles DESC, sightings DESC, first_seen_at, statement_id
    LIMIT (SELECT top FROM params)
),
languages AS (
    SELECT statement_id,
           list_sort(list_distinct(list(lang) FILTER (WHERE lang IS NOT NULL))) AS languages
    FROM seen
    WHERE statement_id IN (SELECT statement_id FROM counted)
    GROUP BY statement_id
)
SELECT s.speaker, s.stance, s.text, c.articles, c.sightings, l.languages, s.first_seen_at,
       s.statement_id
FROM counted AS c
JOIN languages AS l USING (statement_id)
JOIN statements AS s ON s.statement_id = c.statement_id AND s.first_seen_at = c.first_seen_at
ORDER BY c.articles DESC, c.sightings DESC, s.first_seen_at, s.statement_id;
