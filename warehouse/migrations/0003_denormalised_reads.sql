-- Columns the write path keeps so that the bundled queries and the
-- new_statements view read a time range instead of the whole history
-- (issue 6: every query in warehouse/queries/ under 100 ms at 1,000,000
-- statements).
--
-- DuckDB skips row groups by the min/max of each column, and the monitor
-- appends statements and sightings in time order, so a filter on a time column
-- reads only the recent row groups. A hash id prunes nothing; a join on
-- (id, first_seen_at) lets the join's min/max filter prune the other side too.
-- What needs every sighting of a statement (its first article, counts,
-- languages) is aggregated when sightings are written, not at read time.
--
-- warehouse/store.py refresh_derived() keeps every column below, with the
-- same definitions as this backfill, for the statements each batch touches
-- (rows written by hand get theirs from refresh_derived(con)). They rely on
-- what every armswatch writer guarantees: a sighting's article exists
-- (articles are never deleted); statements, and articles' first_seen_at,
-- canonical_url and source never change once written; an article's
-- published_at and lang change only through store.record_batch, which
-- refreshes the statements sighted there.
--
-- The lists are JSON, not LIST: DuckDB updates a LIST column by deleting and
-- re-appending the row, which would scatter statements out of time order;
-- scalar columns are updated in place.

-- statements: the first sighting (by seen_at, article_id, version,
-- sentence_index) and its article, and aggregates over all sightings
ALTER TABLE statements ADD COLUMN first_article_id VARCHAR;
ALTER TABLE statements ADD COLUMN first_url VARCHAR;  -- that article's canonical_url
ALTER TABLE statements ADD COLUMN first_source VARCHAR;
-- that article's published_at, else first_seen_at
ALTER TABLE statements ADD COLUMN reported_at TIMESTAMPTZ;
ALTER TABLE statements ADD COLUMN article_count INTEGER;  -- distinct articles
-- the languages it was seen in (the sighting's, else its article's), sorted,
-- as a JSON list; their number; over the sightings with a language: the
-- distinct articles, the last seen_at, and per language the first sighting
-- and its articles, as [{lang, seen_at, sentence, source, url, articles}]
ALTER TABLE statements ADD COLUMN languages JSON;
ALTER TABLE statements ADD COLUMN language_count INTEGER;
ALTER TABLE statements ADD COLUMN language_articles INTEGER;
ALTER TABLE statements ADD COLUMN language_last_seen_at TIMESTAMPTZ;
ALTER TABLE statements ADD COLUMN language_firsts JSON;
-- the statement answers_statement_id names
ALTER TABLE statements ADD COLUMN answers_speaker VARCHAR;
ALTER TABLE statements ADD COLUMN answers_text VARCHAR;

-- sightings: copies of their statement and article, and which sighting came
-- first: of its statement (by seen_at, article_id, version, sentence_index),
-- and of its statement in its article (by seen_at, version, sentence_index)
ALTER TABLE statement_sightings ADD COLUMN statement_first_seen_at TIMESTAMPTZ;
ALTER TABLE statement_sightings ADD COLUMN statement_speaker VARCHAR;
ALTER TABLE statement_sightings ADD COLUMN statement_stance VARCHAR;
ALTER TABLE statement_sightings ADD COLUMN article_first_seen_at TIMESTAMPTZ;
ALTER TABLE statement_sightings ADD COLUMN article_url VARCHAR;  -- canonical_url
ALTER TABLE statement_sightings ADD COLUMN article_source VARCHAR;
ALTER TABLE statement_sightings ADD COLUMN article_lang VARCHAR;
-- the article's published_at, else seen_at
ALTER TABLE statement_sightings ADD COLUMN reported_at TIMESTAMPTZ;
ALTER TABLE statement_sightings ADD COLUMN first_sighting BOOLEAN;
ALTER TABLE statement_sightings ADD COLUMN first_in_article BOOLEAN;

ALTER TABLE statement_facts ADD COLUMN reported_at TIMESTAMPTZ;  -- its statement's

-- Computed into temporary tables first: DuckDB ran an UPDATE over these
-- subqueries several times slower than over a table. warehouse/store.py runs
-- the same two SELECTs for the statements a batch touches.
CREATE TEMP TABLE derived_sightings AS
SELECT g.article_id, g.version, g.sentence_index, g.statement_id,
       s.first_seen_at AS statement_first_seen_at,
       s.speaker AS statement_speaker, s.stance AS statement_stance,
       a.first_seen_at AS article_first_seen_at, a.canonical_url AS article_url,
       a.source AS article_source, a.lang AS article_lang,
       coalesce(a.published_at, g.seen_at) AS reported_at,
       row_number() OVER (PARTITION BY g.statement_id
                          ORDER BY g.seen_at, g.article_id, g.version, g.sentence_index) = 1
           AS first_sighting,
       row_number() OVER (PARTITION BY g.statement_id, g.article_id
                          ORDER BY g.seen_at, g.version, g.sentence_index) = 1
           AS first_in_article
FROM statement_sightings AS g
LEFT JOIN statements AS s ON s.statement_id = g.statement_id
LEFT JOIN articles AS a ON a.article_id = g.article_id;

UPDATE statement_sightings AS g SET
    statement_first_seen_at = d.statement_first_seen_at,
    statement_speaker = d.statement_speaker,
    statement_stance = d.statement_stance,
    article_first_seen_at = d.article_first_seen_at,
    article_url = d.article_url,
    article_source = d.article_source,
    article_lang = d.article_lang,
    reported_at = d.reported_at,
    first_sighting = d.first_sighting,
    first_in_article = d.first_in_article
FROM derived_sightings AS d
WHERE g.article_id = d.article_id AND g.version = d.version
  AND g.sentence_index = d.sentence_index AND g.statement_id = d.statement_id;

DROP TABLE derived_sightings;

-- From the sightings' copies just written. Grouping by article first turns
-- distinct articles into plain counts, which DuckDB does several times faster
-- than count(DISTINCT). lang leads each struct of language_firsts and is
-- unique in a statement, so sorting the structs sorts them by language.
CREATE TEMP TABLE derived_statements AS
WITH sighted AS (
    SELECT statement_id, article_id, version, sentence_index, sentence, seen_at,
           article_first_seen_at IS NOT NULL AS has_article,
           coalesce(lang, article_lang) AS lang, article_source AS source, article_url AS url
    FROM statement_sightings
),
in_article AS (
    SELECT statement_id, article_id,
           min((seen_at, article_id, version, sentence_index)) AS first_key,
           bool_or(has_article AND lang IS NOT NULL) AS with_language,
           max(seen_at) FILTER (WHERE has_article AND lang IS NOT NULL) AS language_last_seen_at
    FROM sighted
    GROUP BY statement_id, article_id
),
per_statement AS (
    SELECT statement_id, arg_min(article_id, first_key) AS first_article_id,
           count(*) AS article_count,
           count(*) FILTER (WHERE with_language) AS language_articles,
           max(language_last_seen_at) AS language_last_seen_at
    FROM in_article
    GROUP BY statement_id
),
in_language AS (
    SELECT statement_id, lang, article_id,
           arg_min({'seen_at': seen_at, 'sentence': sentence, 'source': source, 'url': url},
                   (seen_at, version, sentence_index)) AS first,
           min((seen_at, article_id, version, sentence_index)) AS first_key
    FROM sighted
    WHERE has_article AND lang IS NOT NULL
    GROUP BY statement_id, lang, article_id
),
per_language AS (
    SELECT statement_id, lang, count(*) AS articles, arg_min(first, first_key) AS first
    FROM in_language
    GROUP BY statement_id, lang
),
languages AS (
    SELECT statement_id, list_sort(list(lang)) AS languages,
           list_sort(list({'lang': lang, 'seen_at': first.seen_at, 'sentence': first.sentence,
                           'source': first.source, 'url': first.url, 'articles': articles}))
               AS language_firsts
    FROM per_language
    GROUP BY statement_id
)
SELECT s.statement_id, p.first_article_id,
       fa.canonical_url AS first_url, fa.source AS first_source,
       coalesce(fa.published_at, s.first_seen_at) AS reported_at,
       coalesce(p.article_count, 0) AS article_count,
       to_json(l.languages) AS languages, len(l.languages) AS language_count,
       coalesce(p.language_articles, 0) AS language_articles, p.language_last_seen_at,
       to_json(l.language_firsts) AS language_firsts,
       answered.speaker AS answers_speaker, answered.text AS answers_text
FROM statements AS s
LEFT JOIN per_statement AS p ON p.statement_id = s.statement_id
LEFT JOIN languages AS l ON l.statement_id = s.statement_id
LEFT JOIN articles AS fa ON fa.article_id = p.first_article_id
LEFT JOIN statements AS answered ON answered.statement_id = s.answers_statement_id;

UPDATE statements AS s SET
    first_article_id = d.first_article_id,
    first_url = d.first_url,
    first_source = d.first_source,
    reported_at = d.reported_at,
    article_count = d.article_count,
    languages = d.languages,
    language_count = d.language_count,
    language_articles = d.language_articles,
    language_last_seen_at = d.language_last_seen_at,
    language_firsts = d.language_firsts,
    answers_speaker = d.answers_speaker,
    answers_text = d.answers_text
FROM derived_statements AS d
WHERE s.statement_id = d.statement_id;

DROP TABLE derived_statements;

UPDATE statement_facts AS f SET reported_at = s.reported_at
FROM statements AS s
WHERE s.statement_id = f.statement_id;

-- The first sighting is now a column: the view reads statements alone, and
-- a filter on first_seen_at prunes it.
CREATE OR REPLACE VIEW new_statements AS
SELECT statement_id, first_seen_at, speaker, stance, text,
       first_url AS url, first_source AS source, lang
FROM statements;
