-- Statements no monitor run has announced yet (no notice, event or artifact has
-- named them), oldest first: this run's own, and any a crashed run stored.
SELECT n.speaker, n.stance, n.text, n.source, n.url, n.lang, n.first_seen_at, n.statement_id
FROM new_statements AS n
JOIN statements AS s USING (statement_id)
WHERE s.announced_at IS NULL
ORDER BY n.first_seen_at, n.url, n.statement_id;
