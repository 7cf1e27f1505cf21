-- wrk: GET /nacos/v1/ns/instance/list of a random one of 10,000 services
math.randomseed(os.time())

function request()
    return wrk.format("GET", "/nacos/v1/ns/instance/list?serviceName=q-"
        .. math.random(0, 9999))
end
