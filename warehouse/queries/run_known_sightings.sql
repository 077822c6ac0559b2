-- Statements known before $since that were seen again, in another article,
-- between $since and $until.
SELECT s.speaker, s.stance, g.sentence, a.source, a.canonical_url AS url,
       s.text AS first_text, s.first_seen_at, s.statement_id
FROM statement_sightings AS g
JOIN statements AS s USING (statement_id)
JOIN articles AS a ON a.article_id = g.article_id
WHERE g.seen_at >= $since AND g.seen_at <= $until
  AND s.first_seen_at < $since
  AND NOT EXISTS (
      SELECT 1 FROM statement_sightings AS earlier
      WHERE earlier.statement_id = g.statement_id
        AND earlier.article_id = g.article_id
        AND earlier.seen_at < $since
  )
ORDER BY g.seen_at, url, g.sentence_index;
