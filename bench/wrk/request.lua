-- One fixed request, repeated: METHOD (default GET), BODY (sent as JSON when set) and
-- TOKEN (a bearer token when set), for the side-by-side comparison (bench/peer.py), where
-- wrk runs with one thread.
local method = os.getenv("METHOD") or "GET"
local body = os.getenv("BODY")
if body == "" then body = nil end
local token = os.getenv("TOKEN")

wrk.method = method
wrk.body = body
if body then wrk.headers["Content-Type"] = "application/json" end
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end

-- The report bench/bench.py and bench/peer.py read: bench/wrk/report.lua.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
