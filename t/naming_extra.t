# Naming odds and ends (issue 5): /v1/ns/service/names, PUT switches,
# the selector parameter of the service lists.

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

req('POST', '/v1/ns/instance?serviceName=alpha&ip=1.1.1.1&port=1');
req('POST', '/v1/ns/instance?serviceName=beta&ip=1.1.1.1&port=2');
req('POST', '/v1/ns/instance?serviceName=alphabet&groupName=G1&ip=1.1.1.1&port=3');
req('POST', '/v1/ns/instance?serviceName=gamma&namespaceId=dev&ip=1.1.1.1&port=4');

# service/names: grouped names, every namespace without namespaceId
my $names = 'services';             # as ref/nacos-wire.md (Nacos 2.0-2.2)
my $j = js('GET', '/v1/ns/service/names');
is($j->{count}, 4, 'names: count over all namespaces');
is_deeply([ sort @{ $j->{$names}{public} } ],
          [ 'DEFAULT_GROUP@@alpha', 'DEFAULT_GROUP@@beta', 'G1@@alphabet' ],
          'names: public, grouped names');
is_deeply($j->{$names}{dev}, ['DEFAULT_GROUP@@gamma'], 'names: dev');
$j = js('GET', '/v1/ns/service/names?namespaceId=public&expr=alpha');
is($j->{count}, 2, 'names: expr filters');
is_deeply([ sort keys %{ $j->{$names} } ], ['public'], 'names: one namespace');
$j = js('GET', '/v1/ns/service/names?expr=G1%40%40.*bet');
is_deeply($j->{$names}{public}, ['G1@@alphabet'], 'names: expr is a regex on group@@name');
is($j->{count}, 1, 'names: regex count');
$j = js('GET', '/v1/ns/service/names?namespaceId=public&expr=alpha%7Cbeta');
is_deeply($j->{$names}{public}, ['DEFAULT_GROUP@@alpha'],
          'names: whole-name match of .*alpha|beta.* (Java matches)');
$j = js('POST', '/v1/ns/service/names?namespaceId=nope');
is_deeply($j, { count => 0, $names => { nope => [] } }, 'names: POST, unknown namespace');
my $r = req('GET', '/v1/ns/service/names?expr=%28abc');
is($r->{status}, 400, 'names: bad regex 400');
is(req('GET', '/v1/ns/service/names?namespaceId=%FF')->{status}, 400,
   'names: non-UTF-8 namespaceId 400');

# PUT switches: honoured entries change behaviour and the GET
is(req('PUT', '/v1/ns/operator/switches?entry=clientBeatInterval&value=7000')->{body},
   'ok', 'switch clientBeatInterval: ok');
$j = js('GET', '/v1/ns/operator/switches');
is($j->{clientBeatInterval}, 7000, 'switch clientBeatInterval: GET');
$j = js('PUT', '/v1/ns/instance/beat?serviceName=alpha&ip=1.1.1.1&port=1');
is($j->{clientBeatInterval}, 7000, 'switch clientBeatInterval: beat answer');
ok($j->{lightBeatEnabled}, 'beat answer: light beat on by default');

is(js('GET', '/v1/ns/instance/list?serviceName=alpha')->{cacheMillis}, 10000,
   'cacheMillis before the switch');
is(req('PUT', '/v1/ns/ops/switches?entry=pushCacheMillis&value=20000')->{body},
   'ok', 'switch pushCacheMillis (ops path): ok');
is(js('GET', '/v1/ns/operator/switches')->{defaultPushCacheMillis}, 20000,
   'switch pushCacheMillis: GET');
is(js('GET', '/v1/ns/instance/list?serviceName=alpha')->{cacheMillis}, 20000,
   'switch pushCacheMillis: cached ServiceInfo redone');
$r = req('PUT', '/v1/ns/operator/switches?entry=pushCacheMillis&value=9999');
is($r->{status}, 400, 'pushCacheMillis too small: 400');
is($r->{body}, 'min cache time for http or tcp is too small(<10000)', 'too small: text');
$r = req('PUT', '/v1/ns/operator/switches?entry=clientBeatInterval&value=5s');
is($r->{status}, 400, 'bad long: 400');
is($r->{body}, 'For input string: "5s"', 'bad long: text');
$r = req('PUT', '/v1/ns/operator/switches?value=1');
is($r->{status}, 400, 'missing entry: 400');
is($r->{body}, "Parameter 'entry' is missing", 'missing entry: text');
$r = req('PUT', '/v1/ns/operator/switches?entry=clientBeatInterval');
is($r->{body}, "Parameter 'value' is missing", 'missing value: text');
is(req('PUT', '/v1/ns/operator/switches?entry=bogus&value=1')->{body}, 'ok',
   'unknown entry: ok, as Nacos');
is(js('GET', '/v1/ns/operator/switches')->{clientBeatInterval}, 7000,
   'unknown entry: nothing changed');

is(req('PUT', '/v1/ns/operator/switches?entry=lightBeatEnabled&value=false')->{body},
   'ok', 'switch lightBeatEnabled: ok');
ok(!js('GET', '/v1/ns/operator/switches')->{lightBeatEnabled}, 'lightBeatEnabled: GET');
$j = js('PUT', '/v1/ns/instance/beat?serviceName=alpha&ip=1.1.1.1&port=1');
ok(!$j->{lightBeatEnabled}, 'lightBeatEnabled: beat answer');
req('PUT', '/v1/ns/operator/switches?entry=lightBeatEnabled&value=on');
ok(js('GET', '/v1/ns/operator/switches')->{lightBeatEnabled}, 'lightBeatEnabled: "on" is true');

# v2 PUT switches
$j = js('PUT', '/v2/ns/operator/switches?entry=clientBeatInterval&value=6000');
is_deeply($j, { code => 0, message => 'success', data => 'ok' }, 'v2 switch: envelope');
is(js('GET', '/v2/ns/operator/switches')->{data}{clientBeatInterval}, 6000, 'v2 switch: GET');
($j, $r) = $t->http_json('PUT', '/nacos/v2/ns/operator/switches?entry=pushCacheMillis&value=1');
is($r->{status}, 500, 'v2 switch bad value: 500');
is($j->{code}, 30000, 'v2 switch bad value: 30000');
($j, $r) = $t->http_json('PUT', '/nacos/v2/ns/operator/switches?entry=pushCacheMillis');
is($r->{status}, 400, 'v2 switch no value: 400');
is($j->{code}, 10000, 'v2 switch no value: 10000');

# selector on the service lists: Nacos 2.x ignores it (listService's TODO)
my $label = '%7B%22type%22%3A%22label%22%2C%22expression%22%3A%22CONSUMER.label.a%20%3D%20PROVIDER.label.a%22%7D';
$j = js('GET', "/v1/ns/service/list?pageNo=1&pageSize=10&selector=$label");
is_deeply([ sort @{ $j->{doms} } ], [ 'alpha', 'beta' ], 'v1 list: label selector, no filter');
$j = js('GET', '/v1/ns/service/list?pageNo=1&pageSize=10&selector=%7Bnot-json');
is($j->{count}, 2, 'v1 list: bad selector ignored');
$j = js('GET', "/v2/ns/service/list?selector=$label");
is($j->{data}{count}, 2, 'v2 list: label selector, no filter');
$j = js('GET', '/v2/ns/service/list?selector=%7B%22type%22%3A%22bogus%22%7D');
is($j->{code}, 0, 'v2 list: unknown selector type ignored');
is($j->{data}{count}, 2, 'v2 list: unknown selector, full list');

$t->done_testing;
