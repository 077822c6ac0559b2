-- denials: every statement whose stance is `deny`, who made it, how many
-- denials that speaker made, and — when the detector linked it — the claim
-- it answers. A NULL speaker is the outlet writing in its own voice.
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   since    TIMESTAMPTZ  first seen after this moment           default: the beginning
--   until    TIMESTAMPTZ  ... and no later than this one         default: now
--   speaker  VARCHAR      only speakers whose name contains this  default: every speaker
--                         (case-insensitive)
--
--   armswatch sql --file warehouse/queries/denials.sql --param speaker=peskov
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE speaker = 'peskov';
--     .read warehouse/queries/denials.sql
WITH params AS (
    SELECT coalesce(getvariable('since')::TIMESTAMPTZ, TIMESTAMPTZ '-infinity') AS since,
           coalesce(getvariable('until')::TIMESTAMPTZ, now()) AS until,
           lower(getvariable('speaker')::VARCHAR) AS speaker
),
denials AS (
    SELECT n.*, s.answers_statement_id
    FROM new_statements AS n
    JOIN statements AS s USING (statement_id)
    CROSS JOIN params AS p
    WHERE n.stance = 'deny'
      AND n.first_seen_at > p.since AND n.first_seen_at <= p.until
      AND (p.speaker IS NULL OR contains(lower(coalesce(n.speaker, '')), p.speaker))
),
reach AS (
    SELECT g.statement_id, count(DISTINCT g.article_id) AS articles,
           list_sort(list_distinct(list(coalesce(g.lang, a.lang))
               FILTER (WHERE coalesce(g.lang, a.lang) IS NOT NULL))) AS languages
    FROM statement_sightings AS g
    JOIN articles AS a USING (article_id)
    WHERE g.statement_id IN (SELECT statement_id FROM denials)
    GROUP BY g.statement_id
)
SELECT d.speaker,
       count(*) OVER (PARTITION BY d.speaker) AS denials_by_speaker,
       d.first_seen_at, d.text, d.lang, d.source, d.url,
       r.articles, r.languages,
       answered.speaker AS denies_speaker, answered.text AS denies_text,
       d.statement_id, d.answers_statement_id AS denies_statement_id
FROM denials AS d
LEFT JOIN reach AS r USING (statement_id)
LEFT JOIN statements AS answered ON answered.statement_id = d.answers_statement_id
ORDER BY denials_by_speaker DESC, d.speaker NULLS LAST, d.first_seen_at, d.statement_id;
