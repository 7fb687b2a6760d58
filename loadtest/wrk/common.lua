-- Shared by the wrk scripts of `make bench`: per-thread counters of acknowledged deposits,
-- withdrawals, transfers and holds and of 5xx answers, and one result line at the end for scripts/bench.sh
-- to parse (which checks the ledger against them).
local M = {}
local threads = {}
local thread_count = 0

function M.setup(thread)
   thread_count = thread_count + 1
   thread:set("tid", thread_count)
   table.insert(threads, thread)
end

function M.init()
   deposits, withdrawals, transfers, holds, server_errors = 0, 0, 0, 0, 0
   counter = 0
   run = os.getenv("BENCH_RUN") or tostring(os.time())
end

function M.response(status, headers, body)
   if status == 200 or status == 201 then
      if body:find('"status":"active"', 1, true) then
         holds = holds + 1
      elseif body:find('"kind":"TRANSFER"', 1, true) then
         transfers = transfers + 1
      elseif body:find('"WITHDRAW"', 1, true) then
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

-- A transfer of 1.00 from one wallet to another, with its own Idempotency-Key (scoped to the source).
function M.transfer(from, to)
   counter = counter + 1
   local body = '{"from_wallet_id": "' .. from .. '", "to_wallet_id": "' .. to .. '", "amount": "1.00"}'
   local headers = {
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = "bench-" .. run .. "-" .. tid .. "-" .. counter,
   }
   return wrk.format("POST", "/api/v1/transfers", headers, body)
end

-- A hold of 1.00 on the wallet of `path` (its holds endpoint), with its own Idempotency-Key.
function M.hold(path)
   counter = counter + 1
   local headers = {
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = "bench-" .. run .. "-" .. tid .. "-" .. counter,
   }
   return wrk.format("POST", path, headers, '{"amount": "1.00"}')
end

-- The wallet ids of WALLETS_FILE, one a line.
function M.wallets()
   local ids = {}
   for id in io.lines(os.getenv("WALLETS_FILE")) do
      ids[#ids + 1] = id
   end
   return ids
end

function M.done(summary, latency, requests)
   local d, w, t, h, e = 0, 0, 0, 0, 0
   for _, th in ipairs(threads) do
      d = d + th:get("deposits")
      w = w + th:get("withdrawals")
      t = t + th:get("transfers")
      h = h + th:get("holds")
      e = e + th:get("server_errors")
   end
   local errors = summary.errors
   io.write(string.format(
      "RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d server_errors=%d socket_errors=%d deposits=%d withdrawals=%d transfers=%d holds=%d\n",
      summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      errors.status, e, errors.connect + errors.read + errors.write + errors.timeout, d, w, t, h))
end

return M
