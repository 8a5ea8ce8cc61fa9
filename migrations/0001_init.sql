-- Task API schema, version 1. Applied by `wrangler d1 migrations apply` (D1), by
-- `spin up --sqlite @migrations/0001_init.sql` (Spin) and by the native host.
-- Idempotent (IF NOT EXISTS) because Spin's --sqlite runs it at every start.
-- Times are Unix milliseconds (INTEGER); ids are UUIDv7 text (D1 numbers are doubles).
-- Children are deleted explicitly by the application in the same atomic write as
-- their parent: foreign keys are declared for integrity where SQLite enforces them,
-- but behaviour never depends on PRAGMA foreign_keys.

CREATE TABLE IF NOT EXISTS users (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- One row per login session; `refresh_hash` is the SHA-256 of its current refresh token.
-- Rotation is one conditional UPDATE on refresh_hash; a presented token found in
-- refresh_tokens but no longer current is a reuse and revokes the session.
CREATE TABLE IF NOT EXISTS sessions (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    refresh_hash   TEXT NOT NULL,
    generation     INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL,
    refreshed_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(user_id, revoked_at);
CREATE UNIQUE INDEX IF NOT EXISTS sessions_by_refresh ON sessions(refresh_hash);

-- Every refresh token ever issued (hash only), to recognise a rotated one when it is
-- presented again. Removed with its session.
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refresh_tokens_by_session ON refresh_tokens(session_id);

CREATE TABLE IF NOT EXISTS api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_by_user ON api_keys(user_id, id);

CREATE TABLE IF NOT EXISTS projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    archived    INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    version     INTEGER NOT NULL DEFAULT 1,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS members (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    joined_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id)
) WITHOUT ROWID;
-- The caller's projects, newest first (keyset on project id).
CREATE INDEX IF NOT EXISTS members_by_user ON members(user_id, project_id);

CREATE TABLE IF NOT EXISTS tasks (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'todo'
                  CHECK (status IN ('todo', 'in_progress', 'in_review', 'done', 'cancelled')),
    priority      TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    -- low=0 .. urgent=3, so `sort=priority` is an index order.
    priority_rank INTEGER NOT NULL DEFAULT 1 CHECK (priority_rank BETWEEN 0 AND 3),
    assignee_id   TEXT,
    due_date      TEXT,
    labels        TEXT NOT NULL DEFAULT '[]',
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    completed_at  INTEGER,
    version       INTEGER NOT NULL DEFAULT 1
);
-- One index per sort key of a project's task list, each ending in id for keyset paging.
CREATE INDEX IF NOT EXISTS tasks_by_created  ON tasks(project_id, created_at, id);
CREATE INDEX IF NOT EXISTS tasks_by_updated  ON tasks(project_id, updated_at, id);
CREATE INDEX IF NOT EXISTS tasks_by_due      ON tasks(project_id, due_date, id);
CREATE INDEX IF NOT EXISTS tasks_by_priority ON tasks(project_id, priority_rank, id);
CREATE INDEX IF NOT EXISTS tasks_by_status   ON tasks(project_id, status, created_at, id);
CREATE INDEX IF NOT EXISTS tasks_by_assignee ON tasks(project_id, assignee_id, created_at, id);
-- GET /v1/me/tasks: across projects.
CREATE INDEX IF NOT EXISTS tasks_assigned_to ON tasks(assignee_id, created_at, id);

-- Labels, one row each, so `label=` is an index lookup rather than a JSON scan.
CREATE TABLE IF NOT EXISTS task_labels (
    project_id TEXT NOT NULL,
    label      TEXT NOT NULL,
    task_id    TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, label, task_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_labels_by_task ON task_labels(task_id);

-- The project's event log. `seq` orders events exactly (several may share a millisecond).
CREATE TABLE IF NOT EXISTS events (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    type       TEXT NOT NULL,
    actor_id   TEXT,
    subject_id TEXT,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_project ON events(project_id, seq);

-- Stored responses of creating POSTs, per principal and Idempotency-Key.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    principal_id  TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    headers       TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (principal_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_by_expiry ON idempotency_keys(expires_at);

-- Rate-limit state for hosts whose shared store is SQL (Spin, native): one row per key,
-- the GCRA theoretical arrival time, and whether the last request was allowed (what the
-- single upsert statement reports back).
CREATE TABLE IF NOT EXISTS rate_limits (
    key        TEXT PRIMARY KEY,
    tat        INTEGER NOT NULL,
    allowed    INTEGER NOT NULL DEFAULT 1,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rate_limits_by_expiry ON rate_limits(expires_at);
