-- PATCH /v1/tasks/{id} with a body that changes on every request (so each one is a real
-- write with its event), spread over the tasks listed in TASKS (comma-separated).
-- Env: TOKEN (access token), TASKS.
local token = os.getenv("TOKEN")
local tasks = {}
for id in string.gmatch(os.getenv("TASKS"), "[^,]+") do tasks[#tasks + 1] = id end
local counter = 0
thread_id = 0  -- set per thread by setup(); a global, so that thread:set reaches it
local threads = 0

function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

function request()
  counter = counter + 1
  local id = tasks[(counter + thread_id) % #tasks + 1]
  local body = string.format('{"title":"bench %d-%d","priority":"%s"}', thread_id, counter,
    (counter % 2 == 0) and "high" or "low")
  return wrk.format("PATCH", "/v1/tasks/" .. id, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

-- The report bench/bench.py and bench/peer.py read: bench/wrk/report.lua.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
