-- Shared by the wrk scripts: thread numbering, per-thread slices of a pre-generated lines file,
-- status counting, a monotonic clock (LuaJIT ffi) and a JSON summary written in done().
-- Environment: BENCH_LINES (input file), BENCH_THREADS (wrk -t), BENCH_OUT (summary JSON).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")

function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

-- Thread-local state (each wrk thread has its own Lua state).
items = {}
idx = 0
counts = {}      -- status -> n, for every response
ok = 0           -- completed units of work (a 200 check)
exhausted = 0    -- 1 when this thread ran out of pre-generated lines
lat = {}         -- per-unit latencies in microseconds (scripts that measure their own)
first_error = "" -- the first unexpected response body of this thread (diagnostics)

function note_error(status, body)
  if first_error == "" then first_error = tostring(status) .. " " .. string.sub(body or "", 1, 300) end
end

function load_slice()
  local n = tonumber(os.getenv("BENCH_THREADS") or "1")
  local path = os.getenv("BENCH_LINES")
  if not path then return end
  local i = 0
  for line in io.lines(path) do
    if i % n == tid then
      local fields = {}
      for f in line:gmatch("%S+") do fields[#fields + 1] = f end
      items[#items + 1] = fields
    end
    i = i + 1
  end
end

function next_item()
  idx = idx + 1
  local item = items[idx]
  if item == nil then
    exhausted = 1
    wrk.thread:stop()
    return items[#items]
  end
  return item
end

function count(status)
  local k = tostring(status)
  counts[k] = (counts[k] or 0) + 1
end

function done(summary, latency, requests)
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  local merged, okn, ex, first, errs = {}, 0, 0, true, {}
  out:write('{"requests":', summary.requests, ',"duration_us":', summary.duration,
    ',"bytes":', summary.bytes,
    ',"errors":{"connect":', summary.errors.connect, ',"read":', summary.errors.read,
    ',"write":', summary.errors.write, ',"status":', summary.errors.status,
    ',"timeout":', summary.errors.timeout, '}',
    ',"latency_us":{"mean":', latency.mean, ',"max":', latency.max,
    ',"p50":', latency:percentile(50), ',"p90":', latency:percentile(90),
    ',"p99":', latency:percentile(99), '}')
  out:write(',"unit_latencies_us":[')
  for _, t in ipairs(threads) do
    local c = t:get("counts") or {}
    for k, v in pairs(c) do merged[k] = (merged[k] or 0) + v end
    okn = okn + (t:get("ok") or 0)
    ex = ex + (t:get("exhausted") or 0)
    local e = t:get("first_error") or ""
    if e ~= "" then errs[#errs + 1] = e end
    local l = t:get("lat") or {}
    for _, v in ipairs(l) do
      if first then first = false else out:write(",") end
      out:write(string.format("%d", v))
    end
  end
  out:write('],"first_errors":[')
  for i, e in ipairs(errs) do
    if i > 1 then out:write(",") end
    out:write('"', (e:gsub('\\', '\\\\'):gsub('"', '\\"'):gsub('[%c]', ' ')), '"')
  end
  out:write('],"ok":', okn, ',"threads_exhausted":', ex, ',"status":{')
  first = true
  for k, v in pairs(merged) do
    if first then first = false else out:write(",") end
    out:write('"', k, '":', v)
  end
  out:write('}}\n')
  out:close()
end
