// The wasm-pack package (packages/validate) and the server give the same verdict on a
// shared table of request bodies (cases.json), and the same answers of the task status
// machine. BASE_URL: the host under test; PKG_NODE / PKG_WEB: the package built with
// `wasm-pack build --target nodejs` and `--target web`.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const base = process.env.BASE_URL;
const nodePkg = createRequire(import.meta.url)(join(process.env.PKG_NODE, "taskapi_validate.js"));
const webPkg = await import(join(process.env.PKG_WEB, "taskapi_validate.js"));
await webPkg.default({ module_or_path: readFileSync(join(process.env.PKG_WEB, "taskapi_validate_bg.wasm")) });
const { cases } = JSON.parse(readFileSync(new URL("./cases.json", import.meta.url), "utf8"));
const PASSWORD = "correct horse battery staple";
const STATUSES = ["todo", "in_progress", "in_review", "done", "cancelled"];

let seq = 0;
const email = (tag) => `validate.${tag}.${Date.now().toString(36)}.${seq++}@example.test`;

async function call(method, path, { token, body, raw } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined || raw !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(base + path, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function register(tag) {
  const r = await call("POST", "/v1/auth/register", { body: { email: email(tag), password: PASSWORD, name: `User ${tag}` } });
  assert.equal(r.status, 201, `register: ${r.text}`);
  return { token: r.json.access_token, id: r.json.user.id, email: r.json.user.email };
}

let owner; let member; let project;
before(async () => {
  owner = await register("owner");
  member = await register("member");
  const p = await call("POST", "/v1/projects", { token: owner.token, body: { name: "Validation" } });
  assert.equal(p.status, 201, p.text);
  project = p.json.id;
  const m = await call("POST", `/v1/projects/${project}/members`, { token: owner.token, body: { email: member.email, role: "member" } });
  assert.equal(m.status, 201, m.text);
});

async function newTask(status = "todo") {
  const t = await call("POST", `/v1/projects/${project}/tasks`, { token: owner.token, body: { title: `from ${status}`, status } });
  assert.equal(t.status, 201, t.text);
  return t.json.id;
}

// Where each operation's body goes, with what it needs to exist first.
async function route(op) {
  switch (op) {
    case "register": return ["POST", "/v1/auth/register"];
    case "login": return ["POST", "/v1/auth/login"];
    case "refresh": return ["POST", "/v1/auth/refresh"];
    case "updateMe": return ["PATCH", "/v1/me", owner.token];
    case "changePassword": return ["POST", "/v1/me/password", owner.token];
    case "createApiKey": return ["POST", "/v1/api-keys", owner.token];
    case "createProject": return ["POST", "/v1/projects", owner.token];
    case "updateProject": return ["PATCH", `/v1/projects/${project}`, owner.token];
    case "addMember": return ["POST", `/v1/projects/${project}/members`, owner.token];
    case "updateMember": return ["PATCH", `/v1/projects/${project}/members/${member.id}`, owner.token];
    case "createTask": return ["POST", `/v1/projects/${project}/tasks`, owner.token];
    case "updateTask": return ["PATCH", `/v1/tasks/${await newTask()}`, owner.token];
    default: throw new Error(`no route for ${op}`);
  }
}

async function fill(value) {
  let s = JSON.stringify(value);
  if (s.includes("{{member_email}}")) s = s.replaceAll("{{member_email}}", (await register("added")).email);
  s = s.replaceAll("{{email}}", email("new"));
  return JSON.parse(s);
}

// The server's answer as a verdict: 400/413/422 problems are refusals of the body;
// anything else (2xx, or 401/403/404/409 about credentials and state) accepted it.
function serverVerdict(res) {
  if ([400, 413, 422].includes(res.status)) {
    return { valid: false, status: res.status, type: res.json?.type, detail: res.json?.detail, errors: res.json?.errors ?? [] };
  }
  assert.ok(res.status < 500, `server error ${res.status}: ${res.text}`);
  return { valid: true, errors: [] };
}

test("the package and the server give the same verdict on every body of the table", async () => {
  let valid = 0; let invalid = 0;
  for (const c of cases) {
    const body = c.raw !== undefined ? c.raw : await fill(c.body);
    const [method, path, token] = await route(c.operation);
    const pkg = nodePkg.validate(c.operation, body);
    const res = await call(method, path, { token, ...(c.raw !== undefined ? { raw: body } : { body }) });
    const server = serverVerdict(res);
    assert.deepEqual(pkg, server, `${c.operation}: ${c.note} (server answered ${res.status} ${res.text})`);
    pkg.valid ? valid++ : invalid++;
  }
  assert.ok(valid >= 15 && invalid >= 30, `the table exercises both verdicts (valid ${valid}, invalid ${invalid})`);
  console.log(`# ${cases.length} bodies: ${valid} accepted and ${invalid} refused by both`);
});

test("the typed helpers, the web build and the node build agree", () => {
  const typed = {
    register: "validateRegister", login: "validateLogin", refresh: "validateRefresh", updateMe: "validateUpdateMe",
    changePassword: "validateChangePassword", createApiKey: "validateCreateApiKey", createProject: "validateCreateProject",
    updateProject: "validateUpdateProject", addMember: "validateAddMember", updateMember: "validateUpdateMember",
    createTask: "validateCreateTask", updateTask: "validateUpdateTask",
  };
  for (const c of cases) {
    const body = c.raw ?? c.body;
    const v = nodePkg.validate(c.operation, body);
    assert.deepEqual(nodePkg[typed[c.operation]](body), v, c.note);
    assert.deepEqual(webPkg.validate(c.operation, body), v, `web build: ${c.note}`);
    // A JSON string and the value it encodes are judged alike.
    if (c.raw === undefined) assert.deepEqual(nodePkg.validate(c.operation, JSON.stringify(body)), v, c.note);
  }
  assert.equal(nodePkg.maxBodyBytes(), 65536);
  assert.equal(nodePkg.validate("createTask", JSON.stringify({ title: "x".repeat(70000) })).status, 413);
  assert.throws(() => nodePkg.validate("dropTables", "{}"), /unknown operation/);
  assert.throws(() => nodePkg.statusTransition("todo", "later"), /must be one of/);
});

test("the package's status machine is the server's, for every pair of statuses", async () => {
  // The table may have promoted the member; the admin-only moves need a plain member.
  const demote = await call("PATCH", `/v1/projects/${project}/members/${member.id}`, { token: owner.token, body: { role: "member" } });
  assert.equal(demote.status, 200, demote.text);
  for (const from of STATUSES) {
    assert.deepEqual(
      nodePkg.nextStatuses(from),
      STATUSES.filter((to) => ["allowed", "admin_only"].includes(nodePkg.statusTransition(from, to))),
    );
    for (const to of STATUSES) {
      const verdict = nodePkg.statusTransition(from, to);
      assert.equal(webPkg.statusTransition(from, to), verdict);
      // As the owner (an admin): everything but `forbidden` goes through.
      const res = await call("PATCH", `/v1/tasks/${await newTask(from)}`, { token: owner.token, body: { status: to } });
      if (verdict === "forbidden") {
        assert.equal(res.status, 409, `${from} -> ${to}: ${res.text}`);
        assert.match(res.json.type, /invalid-status-transition$/);
      } else {
        assert.equal(res.status, 200, `${from} -> ${to} (${verdict}): ${res.text}`);
        assert.equal(res.json.status, to);
      }
      // As a plain member: `admin_only` moves are refused.
      if (verdict === "admin_only") {
        const m = await call("PATCH", `/v1/tasks/${await newTask(from)}`, { token: member.token, body: { status: to } });
        assert.equal(m.status, 403, `${from} -> ${to} as a member: ${m.text}`);
      }
    }
  }
});
