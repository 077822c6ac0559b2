-- digest_most_edited: the articles edited most often in the digest's window,
-- with how many sentences the edits added and removed.
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   day   DATE     the last day of the window (UTC)        default: today (UTC)
--   days  INTEGER  how many days the window spans          default: 30
--   top   INTEGER  how many articles                       default: 10
--
--   armswatch sql --file warehouse/queries/digest_most_edited.sql --param day=2024-06-03
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE day = DATE '2024-06-03';
--     .read warehouse/queries/digest_most_edited.sql
WITH params AS (
    SELECT coalesce(getvariable('day')::DATE, (now() AT TIME ZONE 'UTC')::DATE) AS day,
           greatest(coalesce(getvariable('days')::INTEGER, 30), 1) AS days,
           coalesce(getvariable('top')::INTEGER, 10) AS top
)
SELECT a.title, a.canonical_url AS url, a.source,
       count(*) AS edits,
       sum(len(d.added_sentences)) AS sentences_added,
       sum(len(d.removed_sentences)) AS sentences_removed,
       min(d.detected_at) AS first_edit_at, max(d.detected_at) AS last_edit_at,
       max(d.to_version) AS latest_version
FROM article_diffs AS d
JOIN articles AS a USING (article_id)
CROSS JOIN params AS p
WHERE d.detected_at >= (p.day - (p.days - 1))::TIMESTAMP AT TIME ZONE 'UTC'
  AND d.detected_at < (p.day + 1)::TIMESTAMP AT TIME ZONE 'UTC'
GROUP BY a.article_id, a.title, a.canonical_url, a.source
ORDER BY edits DESC, last_edit_at DESC, url
LIMIT (SELECT top FROM params);
