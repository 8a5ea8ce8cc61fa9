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

-- One machine-readable line for bench/peer.py.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
