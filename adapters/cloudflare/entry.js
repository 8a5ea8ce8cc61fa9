// The worker's entry point: the Rust worker that worker-build writes to build/index.js,
// plus the one answer Rust cannot give on wasm32, where a panic aborts the instance:
// a 500 problem for the request whose handler panicked. The Rust panic hook has already
// logged the panic with the request id, and the runtime shim reinitialises the instance
// before the next request.
import Api, { RateLimiter } from "./build/index.js";

export { RateLimiter };

const VALID_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
// The name under which the request id chosen here is handed to the worker (src/lib.rs).
const REQUEST_ID_VAR = "__TASKAPI_REQUEST_ID";

// A UUIDv7, as the Rust side generates them (RFC 9562).
function uuidv7() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// The `internal` problem as the core renders it (PROBLEM_TYPES and ApiError::Internal in
// src/http/problem.rs); written here because the wasm instance that would render it is gone.
function internalProblem(requestId) {
  const body = JSON.stringify({
    type: "https://taskapi.dev/problems/internal",
    title: "Internal server error",
    status: 500,
    detail: "an internal error occurred; quote the request id when reporting it",
    request_id: requestId,
  });
  return new Response(body, {
    status: 500,
    headers: {
      "Content-Type": "application/problem+json",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "X-Request-Id": requestId,
    },
  });
}

// A panic aborts the wasm instance inside a microtask, so the promise of the request
// that panicked (and of any other request in flight on this isolate, whose state went
// with the instance) would never settle. The runtime reports the abort as an uncaught
// WebAssembly.RuntimeError; every request in flight then answers a 500 problem.
const inFlight = new Set();
addEventListener("error", (event) => {
  if (event.error instanceof WebAssembly.RuntimeError) {
    for (const abort of inFlight) abort(event.error);
  }
});

export default {
  async fetch(request, env, ctx) {
    // The request id is fixed here, so the panic log line (written in Rust) and this
    // answer name the same one.
    // A request without a valid id gets one here; it reaches the worker through a
    // per-request view of `env` (its bindings by the prototype), which costs far less
    // than copying the request to change one header.
    let requestId = request.headers.get("X-Request-Id");
    if (requestId === null || !VALID_REQUEST_ID.test(requestId)) {
      requestId = uuidv7();
      env = Object.create(env, { [REQUEST_ID_VAR]: { value: requestId } });
    }
    let abort;
    const aborted = new Promise((_, reject) => {
      abort = reject;
    });
    inFlight.add(abort);
    try {
      return await Promise.race([new Api(ctx, env).fetch(request), aborted]);
    } catch (err) {
      console.error(JSON.stringify({
        time: new Date().toISOString(),
        level: "error",
        msg: "request",
        request_id: requestId,
        method: request.method,
        route: null,
        status: 500,
        problem: "internal",
        error: String(err?.message ?? err).slice(0, 300),
      }));
      return internalProblem(requestId);
    } finally {
      inFlight.delete(abort);
    }
  },
};
