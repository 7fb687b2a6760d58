-- Deposits and withdrawals of 1.00 on ONE wallet (HOT_WALLET): the hot-wallet case.
package.path = package.path .. ";loadtest/wrk/?.lua"
local c = require("common")
setup, response, done = c.setup, c.response, c.done
local path = "/api/v1/wallets/" .. os.getenv("HOT_WALLET") .. "/operation"
function init() c.init() end
function request() return c.operation(path) end
