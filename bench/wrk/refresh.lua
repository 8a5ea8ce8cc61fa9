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

-- The report bench/bench.py and bench/peer.py read: bench/wrk/report.lua.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
