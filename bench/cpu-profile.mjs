// Records a CPU profile of a worker through workerd's inspector (Chrome DevTools protocol):
//   node bench/cpu-profile.mjs INSPECTOR_PORT OUT.cpuprofile [SAMPLING_US]
// Connects to the first worker target listed at http://127.0.0.1:PORT/json, starts V8's
// sampling profiler, prints "started", records until a line arrives on stdin (or stdin
// closes), then writes the profile (the .cpuprofile JSON that Chrome DevTools opens) to OUT.
import { writeFileSync } from "node:fs";

const [port, out, sampling = "100"] = process.argv.slice(2);
if (!port || !out) {
  console.error("usage: node bench/cpu-profile.mjs INSPECTOR_PORT OUT.cpuprofile [SAMPLING_US]");
  process.exit(2);
}
const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const target = targets.find((t) => t.webSocketDebuggerUrl && !/internal|miniflare|proxy|entry/i.test(t.title ?? ""))
  ?? targets.find((t) => t.webSocketDebuggerUrl);
if (!target) {
  console.error(`no inspector target at port ${port}: ${JSON.stringify(targets)}`);
  process.exit(1);
}
const ws = new WebSocket(target.webSocketDebuggerUrl.replace("localhost", "127.0.0.1"));
await new Promise((ok, fail) => {
  ws.onopen = ok;
  ws.onerror = fail;
});
let next = 1;
const waiting = new Map();
ws.onmessage = (ev) => {
  const msg = JSON.parse(ev.data);
  if (msg.id && waiting.has(msg.id)) {
    const { ok, fail } = waiting.get(msg.id);
    waiting.delete(msg.id);
    msg.error ? fail(new Error(JSON.stringify(msg.error))) : ok(msg.result);
  }
};
const send = (method, params = {}) =>
  new Promise((ok, fail) => {
    const id = next++;
    waiting.set(id, { ok, fail });
    ws.send(JSON.stringify({ id, method, params }));
  });

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: Number(sampling) });
await send("Profiler.start");
console.log(`started ${target.title ?? target.id}`);
await new Promise((done) => {
  process.stdin.once("data", done);
  process.stdin.once("end", done);
});
const { profile } = await send("Profiler.stop");
writeFileSync(out, JSON.stringify(profile));
console.log(`wrote ${out}`);
ws.close();
process.exit(0);
