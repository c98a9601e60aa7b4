-- Model judges: an LLM behind one of the server's endpoints, asked about every
-- pair of a project twice (the responses in both orders), measured like any rater.
--
-- A judge's verdicts live apart from people's annotations: they never count
-- towards a pair's overlap, the annotation loop, agreement between people or an
-- export unless the project (`count_judges`) or the export asks for them.
CREATE TABLE judges (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- Shown as the rater `judge:NAME`.
    name TEXT NOT NULL,
    -- The name of an endpoint in the server's endpoints file (keys stay there).
    endpoint TEXT NOT NULL,
    -- The judging prompt, with {prompt}, {response_1} and {response_2}.
    template TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'idle' CHECK (state IN ('idle', 'running', 'failed')),
    -- Why the last run stopped early ('' when it did not).
    last_error TEXT NOT NULL DEFAULT '',
    -- A running judge's node writes this after every batch; a run silent for two
    -- minutes (its node died) may be started again elsewhere.
    heartbeat_at INTEGER NOT NULL DEFAULT 0,
    -- What the runs cost, from the endpoint's `usage` (0 when it sends none).
    requests INTEGER NOT NULL DEFAULT 0,
    failed_requests INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    -- Adaptive overlap (count_judges): the judge's accuracy as estimated with the
    -- people's (Dawid–Skene, class-conditional), and whether its verdicts count.
    accuracy REAL,
    pick_a REAL,
    pick_b REAL,
    shared INTEGER NOT NULL DEFAULT 0,
    counted INTEGER NOT NULL DEFAULT 0 CHECK (counted IN (0, 1)),
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, name)
) STRICT;

-- One verdict per judge and pair: the two answers (canonical A/B/tie, NULL when
-- the answer could not be read), which order was asked first, and the verdict
-- they make (the same decisive answer twice → it; anything else → tie; NULL when
-- an answer was unreadable).
CREATE TABLE judge_verdicts (
    judge_id INTEGER NOT NULL REFERENCES judges (id) ON DELETE CASCADE,
    pair_id INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
    first_swapped INTEGER NOT NULL CHECK (first_swapped IN (0, 1)),
    first_answer TEXT CHECK (first_answer IN ('A', 'B', 'tie')),
    second_answer TEXT CHECK (second_answer IN ('A', 'B', 'tie')),
    choice TEXT CHECK (choice IN ('A', 'B', 'tie')),
    rationale TEXT NOT NULL DEFAULT '',
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (judge_id, pair_id)
) STRICT;
CREATE INDEX judge_verdicts_pair ON judge_verdicts (pair_id);

-- Count judges' verdicts (weighted by their estimated accuracy) in exports.
ALTER TABLE projects ADD COLUMN count_judges INTEGER NOT NULL DEFAULT 0 CHECK (count_judges IN (0, 1));
