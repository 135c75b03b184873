-- wrk script: sends each request with the next token from a file (one per line, cycled in
-- order, so an LRU cache smaller than the pool never hits), and prints a JSON summary.
-- usage: wrk ... -s tokens.lua <url> -- <token file> <header|body|form> <start index> [body prefix file]
local tokens = {}
local n = 0
local idx = 0
local mode = "header"
local body_prefix = ""

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      n = n + 1
      tokens[n] = line
    end
  end
  if n == 0 then error("no tokens in " .. args[1]) end
  mode = args[2] or "header"
  -- A soak runs wrk many times; each run continues where the last one stopped in the pool.
  idx = (tonumber(args[3] or "0") or 0) % n
  if mode == "body" or mode == "form" then
    local f = assert(io.open(args[4], "r"))
    body_prefix = f:read("*a")
    f:close()
  end
end

function request()
  idx = idx % n + 1
  local t = tokens[idx]
  if mode == "body" then
    -- The STS /authorize body (for ext_authz, which forwards it) plus the usual header (for cellauth).
    return wrk.format("POST", "/authorize",
      { ["Authorization"] = "Bearer " .. t, ["Content-Type"] = "application/json" },
      body_prefix .. t .. '"}')
  end
  if mode == "form" then
    -- An RFC 8693 token exchange to the STS (bench/lib/scaling.ts): the form ends with the token.
    return wrk.format("POST", "/token", { ["Content-Type"] = "application/x-www-form-urlencoded" }, body_prefix .. t)
  end
  return wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. t })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"p999_us":%.0f,"mean_us":%.1f,"max_us":%.0f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
