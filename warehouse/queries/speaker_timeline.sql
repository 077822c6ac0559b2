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
)
-- A statement is sighted again in each new version of an article: the first
-- sighting an article gave is marked first_in_article. Each sighting carries
-- its statement's speaker and stance, its article's url, source and language,
-- and reported_at (the article's publication time, else seen_at).
SELECT coalesce(g.speaker, g.statement_speaker) AS speaker,
       g.reported_at,
       coalesce(g.stance, g.statement_stance) AS stance,
       g.sentence,
       coalesce(g.lang, g.article_lang) AS lang,
       g.article_source AS source, g.article_url AS url, g.seen_at,
       g.first_sighting,
       g.statement_id
FROM statement_sightings AS g
CROSS JOIN params AS p
WHERE g.first_in_article
  -- of a stored statement, in a stored article
  AND g.statement_first_seen_at IS NOT NULL AND g.article_first_seen_at IS NOT NULL
  AND (p.speaker IS NULL
       OR contains(lower(coalesce(g.speaker, '')), p.speaker)
       OR contains(lower(coalesce(g.statement_speaker, '')), p.speaker))
  AND g.reported_at > p.since
  AND g.reported_at <= p.until
ORDER BY coalesce(g.speaker, g.statement_speaker) NULLS LAST, g.reported_at, url, g.statement_id;
