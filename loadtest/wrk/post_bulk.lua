-- Bulk posting on ONE wallet (HOT_WALLET): requests of 100 elements (nine deposits of 1.00 for each
-- withdrawal of 1.00), each element with its own idempotency_key; applied elements are counted from
-- the results.
package.path = package.path .. ";loadtest/wrk/?.lua"
local c = require("common")
setup, done = c.setup, c.done
local SIZE = 100
local wallet = os.getenv("HOT_WALLET")

function init() c.init() end

function request()
   local parts = {}
   for i = 1, SIZE do
      counter = counter + 1
      local key = "bench-" .. run .. "-" .. tid .. "-" .. counter
      if counter % 10 == 0 then
         parts[i] = '{"from_wallet_id": "' .. wallet .. '", "amount": "1.00", "idempotency_key": "' .. key .. '"}'
      else
         parts[i] = '{"to_wallet_id": "' .. wallet .. '", "amount": "1.00", "idempotency_key": "' .. key .. '"}'
      end
   end
   local body = '{"transfers": [' .. table.concat(parts, ", ") .. "]}"
   return wrk.format("POST", "/api/v1/transfers/bulk", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
   if status == 200 then
      local _, d = body:gsub('"kind":"DEPOSIT"', "")
      local _, w = body:gsub('"kind":"WITHDRAW"', "")
      deposits = deposits + d
      withdrawals = withdrawals + w
   elseif status >= 500 then
      server_errors = server_errors + 1
   end
end
