-- wrk script of the Peiling bench: started by bench/load.py, for hello world and submissions.
--
-- Environment (set by bench/load.py):
--   BENCH_METHOD     GET or POST
--   BENCH_BODY       POST only: the urlencoded form body without its `token` field; every
--                    request gets a token of its own (run id + thread number + counter)
--   BENCH_COOKIE     the Cookie header (the form cookie the CSRF token is bound to); it is
--                    the only cookie ever sent, so the "already answered" cookie is not
--   BENCH_RUN_ID     random prefix, different for every wrk run
--   BENCH_WINDOW_MS  the measuring window. After it no new request is sent (delay() holds
--                    every connection), while wrk itself runs a grace period longer: every
--                    request the server received is answered before wrk stops, so stored
--                    rows can be compared exactly with the 303 answers counted here.
--
-- done() prints one line: BENCH_RESULT {json}, with the answers counted by status, in all
-- and within the window, wrk's error counts and latency percentiles (microseconds).

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local spec = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, spec)
  return tonumber(spec.tv_sec) * 1000 + tonumber(spec.tv_nsec) / 1e6
end

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
local cookie = os.getenv("BENCH_COOKIE") or ""
local run_id = os.getenv("BENCH_RUN_ID") or "bench-run"
local window_ms = tonumber(os.getenv("BENCH_WINDOW_MS") or "10000")

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

local deadline, counter, headers, fixed, stem, token_length

function init(args)
  -- Globals, so that done() can collect them with thread:get().
  all = {}
  in_window = {}
  deadline = now_ms() + window_ms
  counter = 0
  headers = {}
  if cookie ~= "" then headers["Cookie"] = cookie end
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    -- Every token of this thread has the same length, so every request is the same bytes
    -- up to its token: build them once (as hello world's fixed request is built once), so
    -- that wrk spends no more on a submission than on a hello world.
    local sample = token_for(0)
    local whole = wrk.format(method, nil, headers, body .. "&token=" .. sample)
    stem = whole:sub(1, #whole - #sample)
    token_length = #sample
  else
    fixed = wrk.format(method, nil, headers, nil)
  end
end

function delay()
  if now_ms() >= deadline then
    return 3600000 -- window over: hold this connection until wrk stops
  end
  return 0
end

function token_for(n)
  return string.format("%s-%d-%09d", run_id, thread_no, n)
end

function request()
  if fixed then return fixed end
  counter = counter + 1
  local token = token_for(counter)
  if #token == token_length then return stem .. token end
  return wrk.format(method, nil, headers, body .. "&token=" .. token)
end

function response(status, headers, body)
  all[status] = (all[status] or 0) + 1
  if now_ms() < deadline then
    in_window[status] = (in_window[status] or 0) + 1
  end
end

local function add_into(total, counts)
  for status, n in pairs(counts) do total[status] = (total[status] or 0) + n end
end

local function encode(counts)
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', tostring(status), n))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local all_total, window_total = {}, {}
  for _, thread in ipairs(threads) do
    add_into(all_total, thread:get("all") or {})
    add_into(window_total, thread:get("in_window") or {})
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"statuses": %s, "in_window": %s, "window_ms": %d, "requests": %d, '
      .. '"duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, '
      .. '"max": %d}}\n',
    encode(all_total), encode(window_total), window_ms, summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
