// Runs the built worker under Miniflare driven directly from Node (no wrangler): the
// same workerd, with the local D1 and the RateLimiter Durable Object persisted where
// `wrangler --persist-to STATE` keeps them (so `wrangler d1 migrations apply` and
// `wrangler d1 execute` prepare and seed it), listening on 127.0.0.1:PORT until killed.
//   node bench/miniflare.mjs PORT STATE_DIR [KEY=VALUE ...]
// With BENCH_METRICS_DATASET=NAME in the environment the worker also gets its METRICS
// binding (a local Analytics Engine dataset), as wrangler.toml configures it; with
// BENCH_INSPECTOR_PORT=N, workerd's inspector listens on 127.0.0.1:N (bench/cpu_profile.py);
// BENCH_WORKER_ROOT=DIR serves DIR/entry.js and DIR/build instead of adapters/cloudflare's
// (bench/ab.py compares two builds side by side).
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const [port, state, ...vars] = process.argv.slice(2);
const root = new URL("..", import.meta.url).pathname;
const bindings = Object.fromEntries(vars.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));

// Miniflare 5 takes a new option shape: these are Miniflare 4's, converted (which needs the
// module list spelled out instead of modulesRules, and one persistence root).
const cf = process.env.BENCH_WORKER_ROOT || join(root, "adapters/cloudflare");
const build = join(cf, "build");
const mf = new Miniflare(convertV4MiniflareOptions({
  host: "127.0.0.1",
  port: Number(port),
  inspectorPort: process.env.BENCH_INSPECTOR_PORT ? Number(process.env.BENCH_INSPECTOR_PORT) : undefined,
  inspectorHost: process.env.BENCH_INSPECTOR_PORT ? "127.0.0.1" : undefined,
  modulesRoot: cf,
  modules: [
    { type: "ESModule", path: join(cf, "entry.js") },
    { type: "ESModule", path: join(build, "index.js") },
    { type: "CompiledWasm", path: join(build, "index_bg.wasm") },
  ],
  compatibilityDate: "2026-11-17",
  bindings,
  // The database_id of wrangler.toml, so that wrangler's local commands find the same file.
  d1Databases: { DB: "00000000-0000-4000-8000-000000000000" },
  durableObjects: { RATE_LIMITER: { className: "RateLimiter", useSQLite: true } },
  analyticsEngineDatasets: process.env.BENCH_METRICS_DATASET
    ? { METRICS: { dataset: process.env.BENCH_METRICS_DATASET } }
    : undefined,
  // Each resource under its plugin's name: v3/d1 and v3/do, as wrangler --persist-to.
  resourcePersistencePath: join(state, "v3"),
}));
const url = await mf.ready;
console.log(`ready ${url}`);
const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
