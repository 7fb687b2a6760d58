-- GET one wallet (HOT_WALLET), the baseline the POST scenarios are compared with.
package.path = package.path .. ";loadtest/wrk/?.lua"
local c = require("common")
setup, response, done = c.setup, c.response, c.done
local path = "/api/v1/wallets/" .. os.getenv("HOT_WALLET")
function init() c.init() end
function request() return wrk.format("GET", path) end
