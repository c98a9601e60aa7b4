-- Who may annotate a project. A project with no rows here is open to every
-- annotator (as before); with rows, only to those listed. Admins and reviewers
-- are not limited by it.
CREATE TABLE project_members (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, user_id)
) STRICT;
CREATE INDEX project_members_user ON project_members (user_id);
