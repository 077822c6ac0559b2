-- edited_after_publication: statements in articles that changed after they
-- were published, and what each edit did to them: `added` (the edit brought
-- the statement in), `removed` (the edit took it out), `reworded` (it went
-- out in one wording and came back in another, as corrections do) or
-- `unchanged` (the article changed around it). One row per statement and edit.
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   since  TIMESTAMPTZ  edits detected after this moment       default: the beginning
--   until  TIMESTAMPTZ  ... and no later than this one         default: now
--
--   armswatch sql --file warehouse/queries/edited_after_publication.sql --param since=2024-01-01
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE since = TIMESTAMPTZ '2024-01-01';
--     .read warehouse/queries/edited_after_publication.sql
WITH params AS (
    SELECT coalesce(getvariable('since')::TIMESTAMPTZ, TIMESTAMPTZ '-infinity') AS since,
           coalesce(getvariable('until')::TIMESTAMPTZ, now()) AS until
),
edits AS (
    SELECT d.*, a.title, a.canonical_url, a.source, a.published_at,
           a.first_seen_at AS article_first_seen_at
    FROM article_diffs AS d
    JOIN articles AS a USING (article_id)
    CROSS JOIN params AS p
    WHERE d.detected_at > p.since AND d.detected_at <= p.until
),
touched AS (
    -- A sighting may carry more than one sentence, and a diff may split them
    -- differently: containment either way counts as the same sentence.
    -- Joining on the article's first_seen_at too prunes the sightings; each
    -- carries its statement's speaker and stance (and first_seen_at, null
    -- when the statement is not stored).
    SELECT e.article_id, e.from_version, e.to_version, e.detected_at, e.title, e.canonical_url,
           e.source, e.published_at, g.statement_id, g.statement_speaker, g.statement_stance,
           bool_or(g.version = e.to_version AND len(list_filter(e.added_sentences,
               lambda x: contains(g.sentence, x) OR contains(x, g.sentence))) > 0) AS in_added,
           bool_or(g.version = e.from_version AND len(list_filter(e.removed_sentences,
               lambda x: contains(g.sentence, x) OR contains(x, g.sentence))) > 0) AS in_removed,
           arg_min(g.sentence, g.sentence_index) FILTER (WHERE g.version = e.from_version)
               AS sentence_before,
           arg_min(g.sentence, g.sentence_index) FILTER (WHERE g.version = e.to_version)
               AS sentence_after
    FROM edits AS e
    JOIN statement_sightings AS g
      ON g.article_id = e.article_id AND g.article_first_seen_at = e.article_first_seen_at
     AND g.version IN (e.from_version, e.to_version)
    WHERE g.statement_first_seen_at IS NOT NULL
    GROUP BY ALL
)
SELECT t.title, t.canonical_url AS url, t.source, t.published_at, t.detected_at,
       date_diff('hour', t.published_at, t.detected_at) AS hours_after_publication,
       t.from_version, t.to_version,
       CASE WHEN t.in_added AND t.in_removed THEN 'reworded'
            WHEN t.in_added THEN 'added'
            WHEN t.in_removed THEN 'removed'
            ELSE 'unchanged' END AS effect,
       t.statement_speaker AS speaker, t.statement_stance AS stance,
       t.sentence_before, t.sentence_after, t.statement_id
FROM touched AS t
ORDER BY t.detected_at, url, t.to_version,
         CASE effect WHEN 'reworded' THEN 0 WHEN 'added' THEN 1 WHEN 'removed' THEN 2 ELSE 3 END,
         t.statement_id;
