-- estimates_over_time: the numbers statements give for each weapon (how many
-- shells, containers, missiles…), in the order they were reported, with the
-- previous estimate for the same weapon and unit to show how the figures
-- moved. `reported_at` is the publication time of the article the statement
-- was first seen in (when we first saw it, if that article has none).
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   weapon  VARCHAR      weapons whose name contains this        default: every weapon
--                        (case-insensitive)
--   since   TIMESTAMPTZ  reported after this moment              default: the beginning
--
--   armswatch sql --file warehouse/queries/estimates_over_time.sql --param weapon=shell
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE weapon = 'shell';
--     .read warehouse/queries/estimates_over_time.sql
WITH params AS (
    SELECT lower(getvariable('weapon')::VARCHAR) AS weapon,
           coalesce(getvariable('since')::TIMESTAMPTZ, TIMESTAMPTZ '-infinity') AS since
),
estimates AS (
    -- The previous estimate is taken before the filters, so the first row
    -- after `since` still shows what it replaced.
    SELECT f.weapon, f.unit, coalesce(a.published_at, n.first_seen_at) AS reported_at,
           f.quantity,
           lag(f.quantity) OVER w AS previous_quantity,
           f.direction, f.period, n.speaker, n.stance, n.text, n.source, n.url,
           f.statement_id, f.fact_index
    FROM statement_facts AS f
    JOIN new_statements AS n USING (statement_id)
    LEFT JOIN articles AS a ON a.canonical_url = n.url
    WHERE f.quantity IS NOT NULL AND f.weapon IS NOT NULL
    WINDOW w AS (PARTITION BY f.weapon, f.unit
                 ORDER BY coalesce(a.published_at, n.first_seen_at), f.statement_id, f.fact_index)
)
SELECT e.weapon, e.unit, e.reported_at, e.quantity, e.previous_quantity,
       e.quantity - e.previous_quantity AS change,
       e.direction, e.period, e.speaker, e.stance, e.text, e.source, e.url, e.statement_id
FROM estimates AS e
CROSS JOIN params AS p
WHERE (p.weapon IS NULL OR contains(lower(e.weapon), p.weapon))
  AND e.reported_at > p.since
ORDER BY e.weapon, e.unit, e.reported_at, e.statement_id, e.fact_index;
