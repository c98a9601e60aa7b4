-- The item browser: each pair carries its tallies, kept by triggers whatever
-- writes a judgement or a report (the server, an import, `arbiter db copy`), so
-- that filtering and sorting a million pairs walks an index and reads one row per
-- pair instead of counting judgements. Every tally is recomputed from the rows it
-- summarises (never incremented), so it cannot drift, and a copy of the database
-- recomputes the same numbers.
ALTER TABLE pairs ADD COLUMN votes_a INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pairs ADD COLUMN votes_b INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pairs ADD COLUMN votes_tie INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pairs ADD COLUMN votes_both_bad INTEGER NOT NULL DEFAULT 0;
-- Judgements other than repeats (normal and gold): the sum of the four above.
ALTER TABLE pairs ADD COLUMN judgements INTEGER NOT NULL DEFAULT 0;
-- Entropy in bits of the four-way vote distribution, rounded to 4 decimals: 0
-- when every judgement agrees, 1 for an even split between two answers, at most 2.
ALTER TABLE pairs ADD COLUMN disagreement REAL NOT NULL DEFAULT 0;
-- Reports annotators filed that no one has resolved yet.
ALTER TABLE pairs ADD COLUMN open_reports INTEGER NOT NULL DEFAULT 0;

-- The vote counts, from the pair's judgements (repeats left out).
CREATE TRIGGER pairs_votes_insert AFTER INSERT ON annotations BEGIN
    UPDATE pairs SET (votes_a, votes_b, votes_tie, votes_both_bad) = (
        SELECT count(*) FILTER (WHERE choice = 'A'), count(*) FILTER (WHERE choice = 'B'),
               count(*) FILTER (WHERE choice = 'tie'), count(*) FILTER (WHERE choice = 'both_bad')
        FROM annotations WHERE pair_id = NEW.pair_id AND kind <> 'repeat') WHERE id = NEW.pair_id;
END;
CREATE TRIGGER pairs_votes_update AFTER UPDATE OF choice, kind ON annotations BEGIN
    UPDATE pairs SET (votes_a, votes_b, votes_tie, votes_both_bad) = (
        SELECT count(*) FILTER (WHERE choice = 'A'), count(*) FILTER (WHERE choice = 'B'),
               count(*) FILTER (WHERE choice = 'tie'), count(*) FILTER (WHERE choice = 'both_bad')
        FROM annotations WHERE pair_id = NEW.pair_id AND kind <> 'repeat') WHERE id = NEW.pair_id;
END;
CREATE TRIGGER pairs_votes_delete AFTER DELETE ON annotations BEGIN
    UPDATE pairs SET (votes_a, votes_b, votes_tie, votes_both_bad) = (
        SELECT count(*) FILTER (WHERE choice = 'A'), count(*) FILTER (WHERE choice = 'B'),
               count(*) FILTER (WHERE choice = 'tie'), count(*) FILTER (WHERE choice = 'both_bad')
        FROM annotations WHERE pair_id = OLD.pair_id AND kind <> 'repeat') WHERE id = OLD.pair_id;
END;
-- The total and the entropy, from the vote counts.
CREATE TRIGGER pairs_disagreement AFTER UPDATE OF votes_a, votes_b, votes_tie, votes_both_bad ON pairs BEGIN
    UPDATE pairs SET judgements = votes_a + votes_b + votes_tie + votes_both_bad,
        disagreement = round(-(
            CASE WHEN votes_a > 0 THEN votes_a * ln(votes_a * 1.0 / (votes_a + votes_b + votes_tie + votes_both_bad)) ELSE 0 END +
            CASE WHEN votes_b > 0 THEN votes_b * ln(votes_b * 1.0 / (votes_a + votes_b + votes_tie + votes_both_bad)) ELSE 0 END +
            CASE WHEN votes_tie > 0 THEN votes_tie * ln(votes_tie * 1.0 / (votes_a + votes_b + votes_tie + votes_both_bad)) ELSE 0 END +
            CASE WHEN votes_both_bad > 0 THEN votes_both_bad * ln(votes_both_bad * 1.0 / (votes_a + votes_b + votes_tie + votes_both_bad)) ELSE 0 END
        ) / (max(votes_a + votes_b + votes_tie + votes_both_bad, 1) * ln(2)), 4) + 0.0
    WHERE id = NEW.id;
END;
-- Open reports.
CREATE TRIGGER pairs_reports_insert AFTER INSERT ON pair_reports BEGIN
    UPDATE pairs SET open_reports = (SELECT count(*) FROM pair_reports WHERE pair_id = NEW.pair_id AND resolved_at IS NULL) WHERE id = NEW.pair_id;
END;
CREATE TRIGGER pairs_reports_update AFTER UPDATE OF resolved_at ON pair_reports BEGIN
    UPDATE pairs SET open_reports = (SELECT count(*) FROM pair_reports WHERE pair_id = NEW.pair_id AND resolved_at IS NULL) WHERE id = NEW.pair_id;
END;
CREATE TRIGGER pairs_reports_delete AFTER DELETE ON pair_reports BEGIN
    UPDATE pairs SET open_reports = (SELECT count(*) FROM pair_reports WHERE pair_id = OLD.pair_id AND resolved_at IS NULL) WHERE id = OLD.pair_id;
END;

UPDATE pairs SET (votes_a, votes_b, votes_tie, votes_both_bad) = (
    SELECT count(*) FILTER (WHERE choice = 'A'), count(*) FILTER (WHERE choice = 'B'),
           count(*) FILTER (WHERE choice = 'tie'), count(*) FILTER (WHERE choice = 'both_bad')
    FROM annotations WHERE pair_id = pairs.id AND kind <> 'repeat')
WHERE id IN (SELECT pair_id FROM annotations);
UPDATE pairs SET open_reports = (SELECT count(*) FROM pair_reports WHERE pair_id = pairs.id AND resolved_at IS NULL)
WHERE id IN (SELECT pair_id FROM pair_reports);

-- Keyset paging in each order the browser offers; the partial index finds
-- reported pairs among a million without walking the rest.
CREATE INDEX pairs_by_id ON pairs (project_id, id);
CREATE INDEX pairs_by_judgements ON pairs (project_id, judgements, id);
CREATE INDEX pairs_by_disagreement ON pairs (project_id, disagreement, id);
CREATE INDEX pairs_reported ON pairs (project_id, id) WHERE open_reports > 0;

-- Text search over a pair's id, texts, model names and metadata (words, case-
-- and accent-insensitive; the first 50,000 characters of each field). Indexing
-- costs about as much as storing the pair, so imports do not do it: a new pair
-- joins `search_queue`, and the server indexes the queue in the background, in
-- short transactions (docs/ARCHITECTURE.md, "Search"). The text a pair is indexed
-- under is defined once, here.
CREATE VIEW pair_documents AS
    SELECT id, project_id,
           external_id || ' ' || substr(prompt, 1, 50000) || ' ' || substr(response_a, 1, 50000) || ' ' || substr(response_b, 1, 50000)
               || ' ' || coalesce(model_a, '') || ' ' || coalesce(model_b, '') || ' ' || substr(coalesce(metadata, ''), 1, 50000) AS document
    FROM pairs;
-- Contentless: the index keeps the words, not a second copy of the texts.
CREATE VIRTUAL TABLE pair_search USING fts5(document, content = '', columnsize = 0, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE search_queue (pair_id INTEGER PRIMARY KEY) STRICT;
CREATE TRIGGER search_enqueue AFTER INSERT ON pairs BEGIN
    INSERT INTO search_queue (pair_id) VALUES (NEW.id);
END;
-- A pair already indexed leaves the index with the words it was indexed under
-- (a contentless index must be told them); one still queued leaves the queue.
CREATE TRIGGER search_forget BEFORE DELETE ON pairs BEGIN
    INSERT INTO pair_search (pair_search, rowid, document)
        SELECT 'delete', id, document FROM pair_documents
        WHERE id = OLD.id AND NOT EXISTS (SELECT 1 FROM search_queue WHERE pair_id = OLD.id);
    DELETE FROM search_queue WHERE pair_id = OLD.id;
END;
INSERT INTO search_queue (pair_id) SELECT id FROM pairs;
