// Runs the built worker under Miniflare driven directly from Node (no wrangler): the
// same workerd, with the local D1 and the RateLimiter Durable Object persisted where
// `wrangler --persist-to STATE` keeps them (so `wrangler d1 migrations apply` and
// `wrangler d1 execute` prepare and seed it), listening on 127.0.0.1:PORT until killed.
//   node bench/miniflare.mjs PORT STATE_DIR [KEY=VALUE ...]
import { join } from "node:path";
import { Miniflare } from "miniflare";

const [port, state, ...vars] = process.argv.slice(2);
const root = new URL("..", import.meta.url).pathname;
const bindings = Object.fromEntries(vars.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));

const mf = new Miniflare({
  host: "127.0.0.1",
  port: Number(port),
  modules: true,
  scriptPath: join(root, "adapters/cloudflare/entry.js"),
  modulesRoot: join(root, "adapters/cloudflare"),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2026-11-17",
  bindings,
  // The database_id of wrangler.toml, so that wrangler's local commands find the same file.
  d1Databases: { DB: "00000000-0000-4000-8000-000000000000" },
  d1Persist: join(state, "v3", "d1"),
  durableObjects: { RATE_LIMITER: { className: "RateLimiter", useSQLite: true } },
  durableObjectsPersist: join(state, "v3", "do"),
});
const url = await mf.ready;
console.log(`ready ${url}`);
const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
