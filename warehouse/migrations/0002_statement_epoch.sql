-- A counter every batch that adds statements moves forward. A writer checks
-- it in the same transaction as its statements: if another writer added
-- statements since this one loaded what it knows, the batch is detected again,
-- so restatements of a claim collapse to one statement_id even when several
-- workers write one warehouse at once.
CREATE TABLE statement_epoch (
    epoch  BIGINT NOT NULL
);
INSERT INTO statement_epoch VALUES (0);
