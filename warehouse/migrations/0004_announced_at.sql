-- When a statement was first announced: named in a monitor run's notice,
-- events and artifacts. Null until then, so a statement stored by a run that
-- died before it published is announced by the next run instead of never.
ALTER TABLE statements ADD COLUMN announced_at TIMESTAMPTZ;
-- Statements stored before this column existed were announced by the run that found them.
UPDATE statements SET announced_at = first_seen_at;
