-- POST /v1/auth/refresh, each request with a refresh token never used before (a reused
-- one would be answered 401 and revoke its session). Env: TOKENS, a file of one token per
-- line; the threads take disjoint lines.
thread_id = 0  -- set per thread by setup(); a global, so that thread:set reaches it
local threads = 0
local tokens = {}
local next_index = 1

function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

function init(args)
  local n = 0
  local per = tonumber(os.getenv("THREADS") or "1")
  for line in io.lines(os.getenv("TOKENS")) do
    if n % per == thread_id then tokens[#tokens + 1] = line end
    n = n + 1
  end
end

function request()
  local token = tokens[next_index]
  next_index = next_index + 1
  if token == nil then token = "rt_exhausted" end
  return wrk.format("POST", "/v1/auth/refresh", { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

-- One machine-readable line for bench/bench.py.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
