-- Arena projects: an annotator types a prompt (or draws one from the project's
-- pool), two models drawn from the server's endpoints answer side by side,
-- streamed, and the annotator votes before the names are shown. `projects.arena`
-- holds the arena settings as JSON (NULL: not an arena project); a battle and its
-- turns are kept here while it runs; the vote becomes a pair (model_a/model_b
-- named, both conversations in its metadata) and an annotation like any other.
ALTER TABLE projects ADD COLUMN arena TEXT;

CREATE TABLE battles (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Endpoint names; shown to the annotator only once the vote is in.
    model_a TEXT NOT NULL,
    model_b TEXT NOT NULL,
    -- open: turns may follow or a vote; voted: stored as pair_id; void: a model failed.
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'voted', 'void')),
    created_at INTEGER NOT NULL,
    pair_id INTEGER REFERENCES pairs (id) ON DELETE SET NULL
) STRICT;
CREATE INDEX battles_project_models ON battles (project_id, model_a, model_b);

-- One prompt and both answers. Every turn counts toward the annotator's hourly limit.
CREATE TABLE battle_turns (
    battle_id INTEGER NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
    turn INTEGER NOT NULL CHECK (turn >= 0),
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    prompt TEXT NOT NULL,
    response_a TEXT,
    response_b TEXT,
    -- JSON: {"a": {"first_token_ms", "total_ms", "chunks", "finish_reason"}, "b": {...}}
    timings TEXT,
    state TEXT NOT NULL DEFAULT 'streaming' CHECK (state IN ('streaming', 'done', 'failed')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (battle_id, turn)
) STRICT;
CREATE INDEX battle_turns_user ON battle_turns (user_id, project_id, created_at);
