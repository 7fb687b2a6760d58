-- Shared by the wrk scripts of `make bench`: per-thread counters of acknowledged deposits and
-- withdrawals (every amount is 1.00, so they give the expected balance) and of 5xx answers, and one
-- result line at the end for scripts/bench.sh to parse.
local M = {}
local threads = {}
local thread_count = 0

function M.setup(thread)
   thread_count = thread_count + 1
   thread:set("tid", thread_count)
   table.insert(threads, thread)
end

function M.init()
   deposits, withdrawals, server_errors = 0, 0, 0
   counter = 0
   run = os.getenv("BENCH_RUN") or tostring(os.time())
end

function M.response(status, headers, body)
   if status == 200 or status == 201 then
      if body:find('"WITHDRAW"', 1, true) then
         withdrawals = withdrawals + 1
      elseif body:find('"DEPOSIT"', 1, true) then
         deposits = deposits + 1
      end
   elseif status >= 500 then
      server_errors = server_errors + 1
   end
end

-- Nine deposits of 1.00 for one withdrawal of 1.00, each with its own Idempotency-Key.
function M.operation(path)
   counter = counter + 1
   local kind = (counter % 10 == 0) and "WITHDRAW" or "DEPOSIT"
   local body = '{"operation_type": "' .. kind .. '", "amount": "1.00"}'
   local headers = {
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = "bench-" .. run .. "-" .. tid .. "-" .. counter,
   }
   return wrk.format("POST", path, headers, body)
end

function M.done(summary, latency, requests)
   local d, w, e = 0, 0, 0
   for _, t in ipairs(threads) do
      d = d + t:get("deposits")
      w = w + t:get("withdrawals")
      e = e + t:get("server_errors")
   end
   local errors = summary.errors
   io.write(string.format(
      "RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d server_errors=%d socket_errors=%d deposits=%d withdrawals=%d\n",
      summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      errors.status, e, errors.connect + errors.read + errors.write + errors.timeout, d, w))
end

return M
