-- Benchmark data: TASKS tasks in project PROJECT created by USER, inserted in one
-- statement. bench/bench.py substitutes TASKS, PROJECT, USER and IDPREFIX.
INSERT INTO tasks (id, project_id, title, description, status, priority, priority_rank, assignee_id,
                   due_date, labels, created_by, created_at, updated_at, completed_at, version)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < TASKS)
SELECT 'IDPREFIX' || printf('%012d', i),
       'PROJECT',
       printf('Task %d of the benchmark', i),
       'A description long enough to look like a real one, with a few words in it.',
       CASE i % 5 WHEN 0 THEN 'todo' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'in_review' WHEN 3 THEN 'done' ELSE 'cancelled' END,
       CASE i % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' WHEN 2 THEN 'high' ELSE 'urgent' END,
       i % 4,
       NULL,
       printf('2027-%02d-%02d', 1 + i % 12, 1 + i % 28),
       '[]',
       'USER',
       1795000000000 + i,
       1795000000000 + i,
       NULL,
       1
FROM n;
