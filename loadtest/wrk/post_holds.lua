-- Holds of 1.00 on ONE wallet (HOLD_WALLET), each with its own Idempotency-Key: the hot-wallet case of
-- two-step payments (they go through live batching as deposits do).
package.path = package.path .. ";loadtest/wrk/?.lua"
local c = require("common")
setup, response, done = c.setup, c.response, c.done
local path = "/api/v1/wallets/" .. os.getenv("HOLD_WALLET") .. "/holds"
function init() c.init() end
function request() return c.hold(path) end
