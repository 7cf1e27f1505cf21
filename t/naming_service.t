# Naming services (v1 and v2), lists and paging, catalog, operator
# endpoints, and the v2 envelope, error codes and client read APIs.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;

my $t = Test::Nd->new;
$t->has('naming');
$t->run;

sub req ($m, $p) { $t->http_req($m, "/nacos$p") }
sub js ($m, $p) { scalar $t->http_json($m, "/nacos$p") }

# v1 service CRUD
is(req('POST', '/v1/ns/service?serviceName=s1&protectThreshold=0.3&metadata=k%3Dv')->{body},
   'ok', 'create s1');
my $r = req('POST', '/v1/ns/service?serviceName=s1');
is($r->{status}, 400, 'create twice: 400');
is($r->{body}, 'specified service DEFAULT_GROUP@@s1 already exists!', 'create twice: text');
$r = req('POST', '/v1/ns/service?serviceName=s9&selector=%7B%22type%22%3A%22bogus%22%7D');
is($r->{body}, 'not match any type of selector!', 'bad selector: text');
my $j = js('GET', '/v1/ns/service?serviceName=s1');
is($j->{name}, 's1', 'detail: name');
is($j->{groupName}, 'DEFAULT_GROUP', 'detail: groupName');
is($j->{namespaceId}, 'public', 'detail: namespaceId');
ok(abs($j->{protectThreshold} - 0.3) < 1e-6, 'detail: protectThreshold');
is_deeply($j->{metadata}, { k => 'v' }, 'detail: metadata');
is_deeply($j->{selector}, { type => 'none' }, 'detail: selector none');
is_deeply($j->{clusters}, [], 'detail: no clusters yet');
$r = req('GET', '/v1/ns/service?serviceName=nope');
is($r->{status}, 400, 'detail unknown: 400');
is($r->{body}, 'service not found, namespace: public, serviceName: DEFAULT_GROUP@@nope',
   'detail unknown: text');
$r = req('PUT', '/v1/ns/service?serviceName=s1');
is($r->{body}, "Param 'protectThreshold' is required.", 'update: threshold required');
is(req('PUT', '/v1/ns/service?serviceName=s1&protectThreshold=0.8&metadata=a%3Db')->{body},
   'ok', 'update: ok');
$j = js('GET', '/v1/ns/service?serviceName=s1');
is_deeply($j->{metadata}, { a => 'b' }, 'update: metadata replaced');
$r = req('PUT', '/v1/ns/service?serviceName=nope&protectThreshold=1');
is($r->{body}, 'service DEFAULT_GROUP@@nope not found!', 'update unknown: text');

# a service with instances cannot be deleted
req('POST', '/v1/ns/instance?serviceName=s2&ip=1.1.1.1&port=1');
$r = req('DELETE', '/v1/ns/service?serviceName=s2');
is($r->{status}, 400, 'delete non-empty: 400');
is($r->{body}, "Service DEFAULT_GROUP\@\@s2 is not empty, can't be delete. Please unregister instance first",
   'delete non-empty: text');
$r = req('DELETE', '/v1/ns/service?serviceName=nope');
is($r->{body}, 'service DEFAULT_GROUP@@nope not found!', 'delete unknown: text');
is(req('DELETE', '/v1/ns/service?serviceName=s1')->{body}, 'ok', 'delete empty: ok');

# list and paging
for my $i (1 .. 5) { req('POST', "/v1/ns/instance?serviceName=p$i&ip=2.2.2.2&port=$i") }
req('POST', '/v1/ns/instance?serviceName=other&groupName=G2&ip=2.2.2.2&port=9');
$j = js('GET', '/v1/ns/service/list?pageNo=1&pageSize=3');
is($j->{count}, 6, 'list: count is the total (s2 + p1..p5)');
is(scalar @{ $j->{doms} }, 3, 'list: one page');
$j = js('GET', '/v1/ns/service/list?pageNo=3&pageSize=3');
is_deeply($j->{doms}, [], 'list: past the end is empty');
$j = js('GET', '/v1/ns/service/list?pageNo=1&pageSize=10&groupName=G2');
is_deeply($j->{doms}, ['other'], 'list: group filter, bare names');
$r = req('GET', '/v1/ns/service/list?pageSize=3');
is($r->{body}, "Param 'pageNo' is required.", 'list: pageNo required');

# catalog
$j = js('GET', '/v1/ns/catalog/services?pageNo=1&pageSize=100&serviceNameParam=p');
is($j->{count}, 5, 'catalog services: name filter');
is($j->{serviceList}[0]{ipCount}, 1, 'catalog services: ipCount');
is($j->{serviceList}[0]{healthyInstanceCount}, 1, 'catalog services: healthy count');
$j = js('GET', '/v1/ns/catalog/instances?serviceName=p1&clusterName=DEFAULT&pageNo=1&pageSize=10');
is($j->{count}, 1, 'catalog instances: count');
is($j->{list}[0]{ip}, '2.2.2.2', 'catalog instances: ip');
$r = req('GET', '/v1/ns/catalog/instances?serviceName=zz&clusterName=DEFAULT&pageNo=1&pageSize=10');
is($r->{status}, 404, 'catalog instances: unknown service 404');

# operator
$j = js('GET', '/v1/ns/operator/metrics');
is_deeply($j, { status => 'UP' }, 'metrics: status only');
$j = js('GET', '/v1/ns/operator/metrics?onlyStatus=false');
is($j->{instanceCount}, 7, 'metrics: instanceCount');
is($j->{ephemeralIpPortClientCount}, 7, 'metrics: ip:port clients');
$j = js('GET', '/v1/ns/operator/switches');
is($j->{defaultPushCacheMillis}, 10000, 'switches: defaultPushCacheMillis');
is($j->{clientBeatInterval}, 5000, 'switches: clientBeatInterval');

# v2 envelope
$j = js('POST', '/v2/ns/instance?serviceName=v2svc&groupName=G3&ip=3.3.3.3&port=3');
is_deeply($j, { code => 0, message => 'success', data => 'ok' }, 'v2 register: envelope');
$j = js('GET', '/v2/ns/instance/list?serviceName=v2svc&groupName=G3');
is($j->{code}, 0, 'v2 list: code 0');
is($j->{data}{name}, 'G3@@v2svc', 'v2 list: ServiceInfo in data');
$j = js('GET', '/v2/ns/instance?serviceName=v2svc&groupName=G3&ip=3.3.3.3&port=3');
is($j->{data}{serviceName}, 'G3@@v2svc', 'v2 detail: serviceName');
($j, $r) = $t->http_json('POST', '/nacos/v2/ns/instance?ip=3.3.3.3&port=3');
is($r->{status}, 400, 'v2 missing serviceName: 400');
is($j->{code}, 10000, 'v2 missing serviceName: code 10000');
is($j->{message}, 'parameter missing', 'v2 missing: message');
($j, $r) = $t->http_json('POST', '/nacos/v2/ns/instance?serviceName=x&ip=3.3.3.3&port=3&weight=99999');
is($j->{code}, 21001, 'v2 bad weight: 21001');
is($j->{message}, 'weight error', 'v2 bad weight: message');
($j, $r) = $t->http_json('POST', '/nacos/v2/ns/instance?serviceName=x&ip=3.3.3.3&port=3&metadata=zz');
is($j->{code}, 21002, 'v2 bad metadata: 21002');
$j = js('POST', '/v2/ns/service?serviceName=v2s&groupName=G3&protectThreshold=0.5');
is($j->{data}, 'ok', 'v2 service create');
$j = js('GET', '/v2/ns/service?serviceName=v2s&groupName=G3');
is($j->{data}{serviceName}, 'v2s', 'v2 service detail: serviceName');
is($j->{data}{groupName}, 'G3', 'v2 service detail: groupName');
ok(exists $j->{data}{clusterMap}, 'v2 service detail: clusterMap');
($j, $r) = $t->http_json('POST', '/nacos/v2/ns/service?serviceName=v2s&groupName=G3');
is($j->{code}, 21007, 'v2 service exists: 21007');
($j, $r) = $t->http_json('GET', '/nacos/v2/ns/service?serviceName=zz');
is($j->{code}, 21008, 'v2 service missing: 21008');
$j = js('GET', '/v2/ns/service/list?groupName=G3');
is_deeply([ sort @{ $j->{data}{services} } ], [ 'v2s', 'v2svc' ], 'v2 service list');
$j = js('GET', '/v2/ns/operator/metrics');
is($j->{data}{status}, 'UP', 'v2 metrics');

# v2 client read APIs
$j = js('GET', '/v2/ns/client/list');
ok((grep { $_ eq '3.3.3.3:3#true' } @{ $j->{data} }), 'client list has the ip:port client');
$j = js('GET', '/v2/ns/client?clientId=3.3.3.3:3%23true');
is($j->{data}{clientIp}, '3.3.3.3', 'client detail: clientIp');
ok($j->{data}{ephemeral}, 'client detail: ephemeral');
$j = js('GET', '/v2/ns/client/publish/list?clientId=3.3.3.3:3%23true');
is($j->{data}[0]{serviceName}, 'v2svc', 'publish list: service');
is($j->{data}[0]{registeredInstance}{port}, 3, 'publish list: instance');
$j = js('GET', '/v2/ns/client/service/publisher/list?serviceName=v2svc&groupName=G3');
is($j->{data}[0]{clientId}, '3.3.3.3:3#true', 'service publishers');
($j, $r) = $t->http_json('GET', '/nacos/v2/ns/client?clientId=nope');
is($r->{status}, 404, 'unknown client: 404');

$t->done_testing;
