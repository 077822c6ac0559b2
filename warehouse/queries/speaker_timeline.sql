-- speaker_timeline: what one speaker said, in the order it was reported: one
-- row for each article a statement of theirs appeared in, with the sentence
-- as that article put it. `reported_at` is the article's publication time
-- (when we saw it, if the article has none); `first_sighting` marks the
-- article where the statement was seen first.
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   speaker  VARCHAR      speakers whose name contains this         default: every speaker
--                         (case-insensitive; as the statement or
--                         the article names them)
--   since    TIMESTAMPTZ  reported after this moment                default: the beginning
--   until    TIMESTAMPTZ  ... and no later than this one            default: no end
--
--   armswatch sql --file warehouse/queries/speaker_timeline.sql --param speaker="Kim Yo Jong"
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE speaker = 'Kim Yo Jong';
--     .read warehouse/queries/speaker_timeline.sql
WITH params AS (
    SELECT lower(getvariable('speaker')::VARCHAR) AS speaker,
           coalesce(getvariable('since')::TIMESTAMPTZ, TIMESTAMPTZ '-infinity') AS since,
           coalesce(getvariable('until')::TIMESTAMPTZ, TIMESTAMPTZ 'infinity') AS until
),
ranked AS (
    -- A statement is sighted again in each new version of an article; keep
    -- the first sighting an article gave, and note which article was first.
    SELECT g.*,
           row_number() OVER (PARTITION BY g.statement_id, g.article_id
                              ORDER BY g.seen_at, g.version, g.sentence_index) AS in_article,
           row_number() OVER (PARTITION BY g.statement_id
                              ORDER BY g.seen_at, g.article_id, g.version, g.sentence_index)
               AS overall
    FROM statement_sightings AS g
)
SELECT coalesce(r.speaker, s.speaker) AS speaker,
       coalesce(a.published_at, r.seen_at) AS reported_at,
       coalesce(r.stance, s.stance) AS stance,
       r.sentence,
       coalesce(r.lang, a.lang) AS lang,
       a.source, a.canonical_url AS url, r.seen_at,
       r.overall = 1 AS first_sighting,
       r.statement_id
FROM ranked AS r
JOIN statements AS s USING (statement_id)
JOIN articles AS a ON a.article_id = r.article_id
CROSS JOIN params AS p
WHERE r.in_article = 1
  AND (p.speaker IS NULL
       OR contains(lower(coalesce(r.speaker, '')), p.speaker)
       OR contains(lower(coalesce(s.speaker, '')), p.speaker))
  AND coalesce(a.published_at, r.seen_at) > p.since
  AND coalesce(a.published_at, r.seen_at) <= p.until
ORDER BY coalesce(r.speaker, s.speaker) NULLS LAST, reported_at, url, r.statement_id;
