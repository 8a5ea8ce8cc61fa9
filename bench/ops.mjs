// Runs the per-operation benchmarks inside wasm (bench/ops built for
// wasm32-unknown-unknown, bound with wasm-bindgen --target nodejs) and prints their JSON.
//   node bench/ops.mjs DIR   (DIR holds taskapi_bench_ops.js)
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const dir = resolve(process.argv[2]);
const ops = createRequire(import.meta.url)(join(dir, "taskapi_bench_ops.js"));
process.stdout.write(ops.runBenchmarks() + "\n");
