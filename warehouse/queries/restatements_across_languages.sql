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
WITH spread AS (
    -- The languages, their articles, the last sighting with a language and each
    -- language's first sighting are kept on each statement as sightings are
    -- written. The parameters inline, so that DuckDB filters the scan by them.
    SELECT s.statement_id, s.speaker, s.stance, s.first_seen_at,
           s.language_count::BIGINT AS languages, s.language_articles::BIGINT AS articles,
           unnest(from_json(s.language_firsts, '[{"lang": "VARCHAR", "seen_at": "TIMESTAMPTZ",
               "sentence": "VARCHAR", "source": "VARCHAR", "url": "VARCHAR",
               "articles": "BIGINT"}]')) AS x
    FROM statements AS s
    WHERE s.language_count >= coalesce(getvariable('min_languages')::INTEGER, 2)
      AND s.language_last_seen_at
          > coalesce(getvariable('since')::TIMESTAMPTZ, TIMESTAMPTZ '-infinity')
)
SELECT statement_id, speaker, stance, languages, articles,
       x.lang, x.sentence, x.articles AS articles_in_lang, x.source, x.url, x.seen_at
FROM spread
ORDER BY languages DESC, articles DESC, first_seen_at, statement_id, x.seen_at, x.lang;
