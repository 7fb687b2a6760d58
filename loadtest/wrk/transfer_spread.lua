-- Transfers of 1.00 between random pairs of the wallets in WALLETS_FILE.
package.path = package.path .. ";loadtest/wrk/?.lua"
local c = require("common")
setup, response, done = c.setup, c.response, c.done
local ids = {}
function init()
   c.init()
   ids = c.wallets()
   math.randomseed(os.time() + tid)
end
function request()
   local a = math.random(#ids)
   local b = 1 + (a + math.random(#ids - 1) - 1) % #ids  -- any other wallet
   return c.transfer(ids[a], ids[b])
end
