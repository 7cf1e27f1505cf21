-- wrk: POST /nacos/v1/ns/instance, a new instance every request, spread
-- over 10,000 services (unique ip:port per thread and request)
local counter = 0
local tid = 0
local threads = {}

function setup(thread)
    tid = tid + 1
    thread:set("tid", tid)
end

function init(args)
    counter = 0
end

function request()
    counter = counter + 1
    local n = counter
    local svc = n % 10000
    local ip = string.format("10.%d.%d.%d", tid % 250, math.floor(n / 250) % 250, n % 250)
    local port = 1 + math.floor(n / 62500) % 60000
    return wrk.format("POST", "/nacos/v1/ns/instance?serviceName=bench-" .. svc
        .. "&ip=" .. ip .. "&port=" .. port)
end
