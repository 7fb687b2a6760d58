-- GET /health: the same process's answer without the database, the ceiling the read and write paths
-- are measured against (issue 13: GET one wallet >= 0.6x, hot-wallet POST >= 0.5x).
package.path = package.path .. ";loadtest/wrk/?.lua"
local c = require("common")
setup, response, done = c.setup, c.response, c.done
function init() c.init() end
function request() return wrk.format("GET", "/health") end
