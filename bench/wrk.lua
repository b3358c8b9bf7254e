-- wrk script for bench/run.sh. Environment:
--   BENCH_METHOD   HTTP method (default GET)
--   BENCH_BODY     request body
--   BENCH_COOKIES  file with one Cookie header value per line: requests cycle through them
--   BENCH_LOGIN_USERS, BENCH_PASSWORD  login bodies for bench0 … bench<N-1>, in turn
-- done() prints: WRK rps=.. p50_ms=.. p99_ms=.. requests=.. non2xx=.. errors=..

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.body = os.getenv("BENCH_BODY")

local cookies_file = os.getenv("BENCH_COOKIES")
if cookies_file then
  local cookies = {}
  for line in io.lines(cookies_file) do
    if line ~= "" then table.insert(cookies, line) end
  end
  local n = math.random(#cookies)
  function request()
    n = n % #cookies + 1
    return wrk.format(nil, nil, { ["Cookie"] = cookies[n] }, nil)
  end
end

local login_users = tonumber(os.getenv("BENCH_LOGIN_USERS") or "")
if login_users then
  local password = os.getenv("BENCH_PASSWORD")
  local n = math.random(login_users)
  function request()
    n = n % login_users + 1
    return wrk.format(nil, nil, nil,
      string.format('{"username":"bench%d","password":"%s"}', n - 1, password))
  end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

non2xx = 0
function response(status)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    "WRK rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests, bad,
    e.connect + e.read + e.write + e.timeout))
end
