-- Transfers of 1.00 from payers picked at random from WALLETS_FILE into ONE wallet (HOT_WALLET): the
-- transfer version of a hot wallet, a merchant paid by thousands.
package.path = package.path .. ";loadtest/wrk/?.lua"
local c = require("common")
setup, response, done = c.setup, c.response, c.done
local payers, merchant = {}, os.getenv("HOT_WALLET")
function init()
   c.init()
   payers = c.wallets()
   math.randomseed(os.time() + tid)
end
function request() return c.transfer(payers[math.random(#payers)], merchant) end
