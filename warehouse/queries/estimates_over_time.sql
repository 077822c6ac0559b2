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
facts AS (
    -- reported_at is kept on each fact (null when its statement is not stored).
    -- Leaving out whole weapons before the window changes no previous estimate.
    SELECT f.weapon, f.unit, f.reported_at, f.quantity, f.direction, f.period,
           f.statement_id, f.fact_index
    FROM statement_facts AS f
    CROSS JOIN params AS p
    WHERE f.quantity IS NOT NULL AND f.weapon IS NOT NULL AND f.reported_at IS NOT NULL
      AND (p.weapon IS NULL OR contains(lower(f.weapon), p.weapon))
),
recent AS (
    SELECT f.*
    FROM facts AS f
    CROSS JOIN params AS p
    WHERE f.reported_at > p.since
),
last_before AS (
    -- The previous estimate is taken before the filter on `since`, so the
    -- first row after it still shows what it replaced: the last estimate of
    -- each weapon and unit up to `since`. Its time first, then its row, which
    -- the time prunes to a row group or two.
    SELECT f.weapon, f.unit, max(f.reported_at) AS reported_at
    FROM facts AS f
    CROSS JOIN params AS p
    WHERE f.reported_at <= p.since
    GROUP BY f.weapon, f.unit
),
before AS (
    SELECT f.weapon, f.unit, f.reported_at,
           arg_max(f.quantity, {'statement_id': f.statement_id, 'fact_index': f.fact_index})
               AS quantity,
           max({'statement_id': f.statement_id, 'fact_index': f.fact_index}) AS key
    FROM facts AS f
    JOIN last_before AS l
      ON l.weapon = f.weapon AND l.unit IS NOT DISTINCT FROM f.unit
     AND l.reported_at = f.reported_at
    GROUP BY f.weapon, f.unit, f.reported_at
),
estimates AS (
    SELECT *, lag(quantity) OVER (PARTITION BY weapon, unit
                                  ORDER BY reported_at, statement_id, fact_index)
                  AS previous_quantity
    FROM (
        SELECT weapon, unit, reported_at, quantity, direction, period, statement_id,
               fact_index, true AS shown
        FROM recent
        UNION ALL
        SELECT weapon, unit, reported_at, quantity, NULL, NULL, key.statement_id,
               key.fact_index, false
        FROM before
    )
)
SELECT e.weapon, e.unit, e.reported_at, e.quantity, e.previous_quantity,
       e.quantity - e.previous_quantity AS change,
       e.direction, e.period, s.speaker, s.stance, s.text, s.first_source AS source,
       s.first_url AS url, e.statement_id
FROM estimates AS e
JOIN statements AS s ON s.statement_id = e.statement_id AND s.reported_at = e.reported_at
WHERE e.shown
ORDER BY e.weapon, e.unit, e.reported_at, e.statement_id, e.fact_index;
