-- Deposits and withdrawals of 1.00 spread at random over the wallets listed in WALLETS_FILE.
package.path = package.path .. ";loadtest/wrk/?.lua"
local c = require("common")
setup, response, done = c.setup, c.response, c.done
local paths = {}
function init()
   c.init()
   for id in io.lines(os.getenv("WALLETS_FILE")) do
      paths[#paths + 1] = "/api/v1/wallets/" .. id .. "/operation"
   end
   math.randomseed(os.time() + tid)
end
function request() return c.operation(paths[math.random(#paths)]) end
