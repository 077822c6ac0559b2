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
    SELECT s.*
    FROM statements AS s
    CROSS JOIN params AS p
    WHERE s.stance = 'deny'
      AND s.first_seen_at > p.since AND s.first_seen_at <= p.until
      AND (p.speaker IS NULL OR contains(lower(coalesce(s.speaker, '')), p.speaker))
)
-- Reach (articles, languages) and the answered claim are kept on each
-- statement as sightings and statements are written.
SELECT d.speaker,
       count(*) OVER (PARTITION BY d.speaker) AS denials_by_speaker,
       d.first_seen_at, d.text, d.lang, d.first_source AS source, d.first_url AS url,
       CASE WHEN d.first_article_id IS NOT NULL THEN d.article_count::BIGINT END AS articles,
       d.languages::VARCHAR[] AS languages,
       d.answers_speaker AS denies_speaker, d.answers_text AS denies_text,
       d.statement_id, d.answers_statement_id AS denies_statement_id
FROM denials AS d
ORDER BY denials_by_speaker DESC, d.speaker NULLS LAST, d.first_seen_at, d.statement_id;
