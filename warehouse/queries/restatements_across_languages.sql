-- restatements_across_languages: statements carried in more than one
-- language — the same claim by the same speaker, reported by outlets in
-- different languages — with the first wording seen in each language. One
-- row per statement and language; `languages` counts them.
--
-- Parameters (DuckDB variables; an unset one takes its default):
--   since          TIMESTAMPTZ  seen (in any language) after this    default: the beginning
--   min_languages  INTEGER      in at least this many languages      default: 2
--
--   armswatch sql --file warehouse/queries/restatements_across_languages.sql \
--       --param min_languages=3
--   duckdb -readonly armswatch.duckdb
--     SET VARIABLE min_languages = 3;
--     .read warehouse/queries/restatements_across_languages.sql
WITH params AS (
    SELECT coalesce(getvariable('since')::TIMESTAMPTZ, TIMESTAMPTZ '-infinity') AS since,
           coalesce(getvariable('min_languages')::INTEGER, 2) AS min_languages
),
sighted AS (
    SELECT g.statement_id, coalesce(g.lang, a.lang) AS lang, g.sentence, g.seen_at,
           g.article_id, a.source, a.canonical_url AS url,
           row_number() OVER (PARTITION BY g.statement_id, coalesce(g.lang, a.lang)
                              ORDER BY g.seen_at, g.article_id, g.version, g.sentence_index)
               AS nth
    FROM statement_sightings AS g
    JOIN articles AS a USING (article_id)
    WHERE coalesce(g.lang, a.lang) IS NOT NULL
),
spread AS (
    SELECT statement_id, count(DISTINCT lang) AS languages,
           count(DISTINCT article_id) AS articles
    FROM sighted
    GROUP BY statement_id
    HAVING count(DISTINCT lang) >= (SELECT min_languages FROM params)
       AND max(seen_at) > (SELECT since FROM params)
),
per_language AS (
    SELECT statement_id, lang, count(DISTINCT article_id) AS articles_in_lang
    FROM sighted
    GROUP BY statement_id, lang
)
SELECT st.statement_id, st.speaker, st.stance, sp.languages, sp.articles,
       x.lang, x.sentence, pl.articles_in_lang, x.source, x.url, x.seen_at
FROM spread AS sp
JOIN statements AS st USING (statement_id)
JOIN sighted AS x ON x.statement_id = sp.statement_id AND x.nth = 1
JOIN per_language AS pl ON pl.statement_id = x.statement_id AND pl.lang = x.lang
ORDER BY sp.languages DESC, sp.articles DESC, st.first_seen_at, st.statement_id,
         x.seen_at, x.lang;
