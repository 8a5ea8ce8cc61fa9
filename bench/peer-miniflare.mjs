// Runs the peer of the benchmark comparison (a worker bundled by `wrangler deploy --dry-run`,
// e.g. Cloudflare's chanfana OpenAPI template) under Miniflare driven from Node, exactly as
// bench/miniflare.mjs runs ours: the same miniflare package, so the same workerd. One
// instance per PORT:STATE pair, each over its own local D1 persisted where
// `wrangler --persist-to STATE` keeps it (so `wrangler d1 migrations apply` and
// `wrangler d1 execute` prepare and seed it). Listens on 127.0.0.1 until killed.
//   node bench/peer-miniflare.mjs BUNDLE.js WRANGLER_CONFIG PORT:STATE [PORT:STATE ...]
// With BENCH_INSPECTOR_PORT=N, the first instance's workerd inspector listens on 127.0.0.1:N.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const [bundle, configPath, ...instances] = process.argv.slice(2);
if (!bundle || !configPath || instances.length === 0) {
  console.error("usage: node bench/peer-miniflare.mjs BUNDLE.js WRANGLER_CONFIG PORT:STATE [PORT:STATE ...]");
  process.exit(2);
}

// The peer's wrangler.jsonc (or wrangler.json): comments and trailing commas removed, then
// JSON, which is enough for the templates' configs.
function readJsonc(path) {
  const text = readFileSync(path, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "")
    .replace(/,(\s*[}\]])/g, "$1");
  return JSON.parse(text);
}

const config = readJsonc(configPath);
const d1 = Object.fromEntries((config.d1_databases ?? []).map((d) => [d.binding, d.database_id]));

const servers = [];
for (const instance of instances) {
  const [port, state] = [instance.slice(0, instance.indexOf(":")), instance.slice(instance.indexOf(":") + 1)];
  // Miniflare 5 takes Miniflare 4's options converted, with the modules listed (the entry
  // first, then the bundle's other chunks) and one persistence root.
  const root = dirname(resolve(bundle));
  const chunks = readdirSync(root).filter((f) => f.endsWith(".js") && join(root, f) !== resolve(bundle));
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: Number(port),
    ...(process.env.BENCH_INSPECTOR_PORT && servers.length === 0
      ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT), inspectorHost: "127.0.0.1" }
      : {}),
    modulesRoot: root,
    modules: [resolve(bundle), ...chunks.map((f) => join(root, f))].map((path) => ({ type: "ESModule", path })),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags ?? [],
    bindings: config.vars ?? {},
    d1Databases: d1,
    resourcePersistencePath: join(state, "v3"),
  }));
  servers.push(mf);
  console.log(`ready ${await mf.ready} (${state})`);
}

const stop = async () => {
  await Promise.allSettled(servers.map((mf) => mf.dispose()));
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
