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
-- and accent-insensitive; the first 100,000 characters of each field). An
-- external-content index: the text stays in `pairs`; pairs are never edited, so
-- inserting and deleting is all it must follow.
CREATE VIRTUAL TABLE pair_search USING fts5(
    external_id, prompt, response_a, response_b, models, metadata,
    content = '', tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER pair_search_insert AFTER INSERT ON pairs BEGIN
    INSERT INTO pair_search (rowid, external_id, prompt, response_a, response_b, models, metadata) VALUES (
        NEW.id, NEW.external_id, substr(NEW.prompt, 1, 100000), substr(NEW.response_a, 1, 100000), substr(NEW.response_b, 1, 100000),
        coalesce(NEW.model_a, '') || ' ' || coalesce(NEW.model_b, ''), substr(coalesce(NEW.metadata, ''), 1, 100000));
END;
CREATE TRIGGER pair_search_delete AFTER DELETE ON pairs BEGIN
    INSERT INTO pair_search (pair_search, rowid, external_id, prompt, response_a, response_b, models, metadata) VALUES (
        'delete', OLD.id, OLD.external_id, substr(OLD.prompt, 1, 100000), substr(OLD.response_a, 1, 100000), substr(OLD.response_b, 1, 100000),
        coalesce(OLD.model_a, '') || ' ' || coalesce(OLD.model_b, ''), substr(coalesce(OLD.metadata, ''), 1, 100000));
END;
INSERT INTO pair_search (rowid, external_id, prompt, response_a, response_b, models, metadata)
    SELECT id, external_id, substr(prompt, 1, 100000), substr(response_a, 1, 100000), substr(response_b, 1, 100000),
           coalesce(model_a, '') || ' ' || coalesce(model_b, ''), substr(coalesce(metadata, ''), 1, 100000)
    FROM pairs;
