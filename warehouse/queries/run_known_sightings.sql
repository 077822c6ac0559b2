-- Statements known before $since that were seen again, in another article,
-- between $since and $until.
WITH in_window AS (
    -- Sightings carry their statement's first_seen_at, speaker and stance, and
    -- their article's url and source (article_first_seen_at is null when the
    -- article is not stored).
    SELECT *
    FROM statement_sightings
    WHERE seen_at >= $since AND seen_at <= $until AND statement_first_seen_at < $since
      AND article_first_seen_at IS NOT NULL
)
SELECT g.statement_speaker AS speaker, g.statement_stance AS stance, g.sentence,
       g.article_source AS source, g.article_url AS url, s.text AS first_text,
       s.first_seen_at, s.statement_id
FROM in_window AS g
-- Not in this article before $since: its first sighting there is in the window.
SEMI JOIN in_window AS f
    ON f.statement_id = g.statement_id AND f.article_id = g.article_id AND f.first_in_article
-- Joining on first_seen_at too prunes statements to those the window sighted.
JOIN statements AS s
    ON s.statement_id = g.statement_id AND s.first_seen_at = g.statement_first_seen_at
ORDER BY g.seen_at, url, g.sentence_index;
