-- The armswatch warehouse: what the feeds offered, the articles and their
-- versions and diffs, and every statement with each place it was seen.
-- Times are TIMESTAMPTZ in UTC. Natural keys make every write idempotent.

-- One row a source, carrying the validators for the next conditional GET.
CREATE TABLE sources (
    name            VARCHAR PRIMARY KEY,
    url             VARCHAR NOT NULL,
    lang            VARCHAR,
    tags            VARCHAR[],
    etag            VARCHAR,
    last_modified   VARCHAR,
    body_hash       VARCHAR,
    last_polled_at  TIMESTAMPTZ,
    last_ok_at      TIMESTAMPTZ
);

CREATE TABLE feed_polls (
    source        VARCHAR NOT NULL,
    polled_at     TIMESTAMPTZ NOT NULL,
    http_status   INTEGER,
    entries_seen  INTEGER NOT NULL,
    entries_new   INTEGER NOT NULL,
    error         VARCHAR,
    not_modified  BOOLEAN NOT NULL DEFAULT false,
    bozo          VARCHAR,
    run_id        VARCHAR,
    PRIMARY KEY (source, polled_at)
);

-- Every entry a feed offered; the work queue of the fetch stage.
CREATE TABLE feed_entries (
    source         VARCHAR NOT NULL,
    entry_key      VARCHAR NOT NULL,
    article_id     VARCHAR NOT NULL,
    url            VARCHAR NOT NULL,
    title          VARCHAR,
    summary        VARCHAR,
    published_at   TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ,
    lang           VARCHAR,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, entry_key)
);

CREATE TABLE articles (
    article_id       VARCHAR PRIMARY KEY,   -- hash of canonical_url
    canonical_url    VARCHAR NOT NULL UNIQUE,
    source           VARCHAR NOT NULL,
    title            VARCHAR,
    published_at     TIMESTAMPTZ,
    lang             VARCHAR,
    first_seen_at    TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL,
    -- fetch bookkeeping
    status           VARCHAR NOT NULL DEFAULT 'pending',  -- pending | ok | failed | gone
    feed_updated_at  TIMESTAMPTZ,      -- newest updated/published date a feed gave
    fetched_feed_updated_at TIMESTAMPTZ,  -- that date as of the last successful fetch
    etag             VARCHAR,
    last_modified    VARCHAR,
    final_url        VARCHAR,
    last_fetched_at  TIMESTAMPTZ,
    last_changed_at  TIMESTAMPTZ,
    next_check_at    TIMESTAMPTZ,
    failures         INTEGER NOT NULL DEFAULT 0,
    last_error       VARCHAR,
    current_version  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE article_versions (
    article_id    VARCHAR NOT NULL,
    version       INTEGER NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,
    content_hash  VARCHAR NOT NULL,
    text          VARCHAR NOT NULL,
    title         VARCHAR,
    lang          VARCHAR,
    method        VARCHAR NOT NULL,     -- trafilatura | feed-summary
    PRIMARY KEY (article_id, version)
);

CREATE TABLE article_diffs (
    article_id         VARCHAR NOT NULL,
    from_version       INTEGER NOT NULL,
    to_version         INTEGER NOT NULL,
    detected_at        TIMESTAMPTZ NOT NULL,
    added_sentences    VARCHAR[] NOT NULL,
    removed_sentences  VARCHAR[] NOT NULL,
    unified_diff       VARCHAR NOT NULL,
    PRIMARY KEY (article_id, to_version)
);

CREATE TABLE statements (
    statement_id          VARCHAR PRIMARY KEY,
    first_seen_at         TIMESTAMPTZ NOT NULL,
    speaker               VARCHAR,
    stance                VARCHAR NOT NULL,
    text                  VARCHAR NOT NULL,
    lang                  VARCHAR,
    score                 DOUBLE,
    profile               VARCHAR NOT NULL,
    signature             VARCHAR NOT NULL,
    answers_statement_id  VARCHAR
);

CREATE TABLE statement_sightings (
    statement_id    VARCHAR NOT NULL,
    article_id      VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    sentence_index  INTEGER NOT NULL,
    sentence        VARCHAR NOT NULL,
    seen_at         TIMESTAMPTZ NOT NULL,
    speaker         VARCHAR,
    stance          VARCHAR,
    score           DOUBLE,
    lang            VARCHAR,
    evidence        JSON,
    PRIMARY KEY (article_id, version, sentence_index, statement_id)
);

CREATE TABLE statement_facts (
    statement_id  VARCHAR NOT NULL,
    fact_index    INTEGER NOT NULL,
    weapon        VARCHAR,
    quantity      DOUBLE,
    unit          VARCHAR,
    direction     VARCHAR,
    period        VARCHAR,
    PRIMARY KEY (statement_id, fact_index)
);

-- One row a monitor cycle, for operators.
CREATE TABLE runs (
    run_id        VARCHAR PRIMARY KEY,
    flow          VARCHAR NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    counts        JSON
);

CREATE VIEW new_statements AS
SELECT s.statement_id, s.first_seen_at, s.speaker, s.stance, s.text,
       a.canonical_url AS url, a.source, s.lang
FROM statements AS s
LEFT JOIN (
    SELECT statement_id, article_id,
           row_number() OVER (PARTITION BY statement_id
                              ORDER BY seen_at, article_id, version, sentence_index) AS rn
    FROM statement_sightings
) AS first_sighting ON first_sighting.statement_id = s.statement_id AND first_sighting.rn = 1
LEFT JOIN articles AS a ON a.article_id = first_sighting.article_id;

CREATE VIEW article_changes AS
SELECT a.canonical_url AS url, a.title, d.from_version, d.to_version, d.detected_at,
       d.added_sentences, d.removed_sentences
FROM article_diffs AS d
JOIN articles AS a USING (article_id);
