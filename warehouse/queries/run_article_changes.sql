-- Articles that changed between $since and $until, with the sentences
-- added and removed.
SELECT url, title, from_version, to_version, detected_at, added_sentences, removed_sentences
FROM article_changes
WHERE detected_at >= $since AND detected_at <= $until
ORDER BY detected_at, url;
