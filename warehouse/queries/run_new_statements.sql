-- Statements seen for the first time between $since and $until.
SELECT speaker, stance, text, source, url, lang, first_seen_at, statement_id
FROM new_statements
WHERE first_seen_at >= $since AND first_seen_at <= $until
ORDER BY first_seen_at, url, statement_id;
