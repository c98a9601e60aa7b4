-- PostgreSQL version of ../0014_item_browser.sql: the same tables, columns, constraints and indexes
-- (BIGINT for INTEGER, DOUBLE PRECISION for REAL, BYTEA for BLOB, identity ids,
-- UTC text timestamps). Keep the two in step; see docs/ARCHITECTURE.md.
-- The item browser: each pair carries its tallies, kept by triggers whatever
-- writes a judgement or a report (the server, an import, `arbiter db copy`), so
-- that filtering and sorting a million pairs walks an index and reads one row per
-- pair instead of counting judgements. Every tally is recomputed from the rows it
-- summarises (never incremented), so it cannot drift, and a copy of the database
-- recomputes the same numbers.
ALTER TABLE pairs ADD COLUMN votes_a BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pairs ADD COLUMN votes_b BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pairs ADD COLUMN votes_tie BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pairs ADD COLUMN votes_both_bad BIGINT NOT NULL DEFAULT 0;
-- Judgements other than repeats (normal and gold): the sum of the four above.
ALTER TABLE pairs ADD COLUMN judgements BIGINT NOT NULL DEFAULT 0;
-- Entropy in bits of the four-way vote distribution, rounded to 4 decimals: 0
-- when every judgement agrees, 1 for an even split between two answers, at most 2.
ALTER TABLE pairs ADD COLUMN disagreement DOUBLE PRECISION NOT NULL DEFAULT 0;
-- Reports annotators filed that no one has resolved yet.
ALTER TABLE pairs ADD COLUMN open_reports BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION arbiter_pair_votes(pair BIGINT) RETURNS void LANGUAGE sql AS $$
    UPDATE pairs SET (votes_a, votes_b, votes_tie, votes_both_bad) = (
        SELECT count(*) FILTER (WHERE choice = 'A'), count(*) FILTER (WHERE choice = 'B'),
               count(*) FILTER (WHERE choice = 'tie'), count(*) FILTER (WHERE choice = 'both_bad')
        FROM annotations WHERE pair_id = pair AND kind <> 'repeat') WHERE id = pair;
$$;
CREATE FUNCTION arbiter_pair_reports(pair BIGINT) RETURNS void LANGUAGE sql AS $$
    UPDATE pairs SET open_reports = (SELECT count(*) FROM pair_reports WHERE pair_id = pair AND resolved_at IS NULL) WHERE id = pair;
$$;
CREATE FUNCTION arbiter_annotations_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN PERFORM arbiter_pair_votes(OLD.pair_id); ELSE PERFORM arbiter_pair_votes(NEW.pair_id); END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION arbiter_reports_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN PERFORM arbiter_pair_reports(OLD.pair_id); ELSE PERFORM arbiter_pair_reports(NEW.pair_id); END IF;
    RETURN NULL;
END $$;
-- The total and the entropy, from the vote counts.
CREATE FUNCTION arbiter_pair_disagreement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n BIGINT := NEW.votes_a + NEW.votes_b + NEW.votes_tie + NEW.votes_both_bad;
BEGIN
    NEW.judgements := n;
    NEW.disagreement := round((-(
        CASE WHEN NEW.votes_a > 0 THEN NEW.votes_a * ln(NEW.votes_a::double precision / n) ELSE 0 END +
        CASE WHEN NEW.votes_b > 0 THEN NEW.votes_b * ln(NEW.votes_b::double precision / n) ELSE 0 END +
        CASE WHEN NEW.votes_tie > 0 THEN NEW.votes_tie * ln(NEW.votes_tie::double precision / n) ELSE 0 END +
        CASE WHEN NEW.votes_both_bad > 0 THEN NEW.votes_both_bad * ln(NEW.votes_both_bad::double precision / n) ELSE 0 END
    ) / (greatest(n, 1) * ln(2::double precision)))::numeric, 4)::double precision + 0.0;
    RETURN NEW;
END $$;
CREATE TRIGGER pairs_votes AFTER INSERT OR DELETE OR UPDATE OF choice, kind ON annotations
    FOR EACH ROW EXECUTE FUNCTION arbiter_annotations_changed();
CREATE TRIGGER pairs_reports AFTER INSERT OR DELETE OR UPDATE OF resolved_at ON pair_reports
    FOR EACH ROW EXECUTE FUNCTION arbiter_reports_changed();
CREATE TRIGGER pairs_disagreement BEFORE UPDATE OF votes_a, votes_b, votes_tie, votes_both_bad ON pairs
    FOR EACH ROW EXECUTE FUNCTION arbiter_pair_disagreement();

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
-- insensitive; the first 50,000 characters of each field). Indexing costs about
-- as much as storing the pair, so imports do not do it: a new pair joins
-- `search_queue`, and the servers index the queue in the background, in short
-- transactions (docs/ARCHITECTURE.md, "Search"). The text a pair is indexed under
-- is defined once, here; SQLite keeps the words in an FTS5 table, PostgreSQL in a
-- tsvector per pair with a GIN index.
CREATE VIEW pair_documents AS
    SELECT id, project_id,
           external_id || ' ' || left(prompt, 50000) || ' ' || left(response_a, 50000) || ' ' || left(response_b, 50000)
               || ' ' || coalesce(model_a, '') || ' ' || coalesce(model_b, '') || ' ' || left(coalesce(metadata, ''), 50000) AS document
    FROM pairs;
CREATE TABLE pair_search (
    pair_id BIGINT PRIMARY KEY REFERENCES pairs (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL,
    document tsvector NOT NULL
);
CREATE INDEX pair_search_document ON pair_search USING gin (document);
CREATE INDEX pair_search_project ON pair_search (project_id, pair_id);
CREATE TABLE search_queue (pair_id BIGINT PRIMARY KEY REFERENCES pairs (id) ON DELETE CASCADE);
CREATE FUNCTION arbiter_search_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_queue (pair_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER search_enqueue AFTER INSERT ON pairs FOR EACH ROW EXECUTE FUNCTION arbiter_search_enqueue();
INSERT INTO search_queue (pair_id) SELECT id FROM pairs;

-- PostgreSQL fixes a view's columns when it is created: add the tallies.
CREATE OR REPLACE VIEW visible_pairs AS
    SELECT id, project_id, external_id, content_hash, prompt, prompt_is_messages, response_a, response_b, model_a, model_b, metadata,
           gold, active_count, created_at, wanted, priority, import_id,
           votes_a, votes_b, votes_tie, votes_both_bad, judgements, disagreement, open_reports
    FROM pairs
    WHERE import_id IS NULL OR import_id NOT IN (SELECT id FROM imports WHERE state = 'staging');
