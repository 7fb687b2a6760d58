-- Deposits and withdrawals of 1.00 spread at random over the wallets listed in WALLETS_FILE.
package.path = package.path .. ";loadtest/wrk/?.lua"
local c = require("common")
setup, response, done = c.setup, c.response, c.done
local paths = {}
function init()
   c.init()
   for _, id in ipairs(c.wallets()) do
      paths[#paths + 1] = "/api/v1/wallets/" .. id .. "/operation"
   end
   math.randomseed(os.time() + tid)
end
function request() return c.operation(paths[math.random(#paths)]) end
