-- The annotation loop in fewer statements (issue 36). One live lease per
-- annotator and project, kept by the database: a
-- unique index instead of a per-annotator lock held across the statements of
-- `next`, so `next` and submit need no transaction of their own. Two `next`s of
-- one annotator racing on two nodes: the second insert fails, and it answers
-- with the first one's lease.
--
-- Older databases cannot hold two (the annotator lock kept them apart); should
-- one anyway, all but the newest are expired and their slots given back.
UPDATE pairs SET active_count = active_count - (
    SELECT count(*) FROM assignments a
    WHERE a.pair_id = pairs.id AND a.state = 'leased' AND a.kind = 'normal'
      AND a.id < (SELECT max(b.id) FROM assignments b
                  WHERE b.user_id = a.user_id AND b.project_id = a.project_id AND b.state = 'leased'))
WHERE id IN (
    SELECT a.pair_id FROM assignments a
    WHERE a.state = 'leased' AND a.kind = 'normal'
      AND a.id < (SELECT max(b.id) FROM assignments b
                  WHERE b.user_id = a.user_id AND b.project_id = a.project_id AND b.state = 'leased'));
UPDATE assignments SET state = 'expired'
WHERE state = 'leased'
  AND id < (SELECT max(b.id) FROM assignments b
            WHERE b.user_id = assignments.user_id AND b.project_id = assignments.project_id AND b.state = 'leased');
DROP INDEX assignments_live;
CREATE UNIQUE INDEX assignments_live ON assignments (user_id, project_id) WHERE state = 'leased';
