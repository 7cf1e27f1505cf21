# Naming v1 instances: register, list, detail, update, deregister, and
# every validation error with its Nacos status and text.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;

my $t = Test::Nd->new;
$t->has('naming');
$t->run;
# persistent writes are refused until the store's instances are loaded
ok($t->wait_ready, 'ready');

my $ns = '/nacos/v1/ns';

sub req ($m, $path, $q) { $t->http_req($m, "$ns$path?$q") }
sub js ($m, $path, $q) { scalar $t->http_json($m, "$ns$path?$q") }

# register: query parameters, then a form body (Python v1 style)
my $r = req('POST', '/instance',
            'serviceName=order&ip=10.0.0.5&port=8080&metadata=%7B%22version%22%3A%221%22%7D');
is($r->{status}, 200, 'register: 200');
is($r->{body}, 'ok', 'register: ok');
$r = $t->http_post("$ns/instance",
                   'serviceName=DEFAULT_GROUP%40%40order&ip=10.0.0.6&port=8080'
                   . '&weight=2.5&enable=false&clusterName=c1&metadata=a%3D1%2Cb%3D2');
is($r->{body}, 'ok', 'register from a form body, grouped name');

my $j = js('GET', '/instance/list', 'serviceName=order');
is($j->{name}, 'DEFAULT_GROUP@@order', 'list: name grouped');
is($j->{groupName}, 'DEFAULT_GROUP', 'list: groupName');
is($j->{clusters}, '', 'list: clusters empty');
is($j->{cacheMillis}, 10000, 'list: cacheMillis');
ok($j->{lastRefTime} > 1_600_000_000_000, 'list: lastRefTime is wall ms');
is(scalar @{ $j->{hosts} }, 1, 'list: disabled instance not listed');
my $h = $j->{hosts}[0];
is($h->{instanceId}, '10.0.0.5#8080#DEFAULT#DEFAULT_GROUP@@order', 'instanceId');
is($h->{serviceName}, 'DEFAULT_GROUP@@order', 'host serviceName grouped');
is($h->{metadata}{version}, '1', 'metadata from JSON');
is($h->{weight}, 1, 'weight 1.0');
ok($h->{healthy} && $h->{enabled} && $h->{ephemeral}, 'healthy, enabled, ephemeral');
is($h->{instanceHeartBeatTimeOut}, 15000, 'instanceHeartBeatTimeOut');
is($h->{instanceIdGenerator}, 'simple', 'instanceIdGenerator');
for my $k (qw(checksum allIPs reachProtectionThreshold valid)) {
    ok(exists $j->{$k}, "list has $k");
}

# enabled again through PUT (overlay), metadata merged
$r = req('PUT', '/instance', 'serviceName=order&ip=10.0.0.6&port=8080&clusterName=c1&enabled=true&weight=3&metadata=c%3D3');
is($r->{body}, 'ok', 'update: ok');
$j = js('GET', '/instance/list', 'serviceName=order&clusters=c1');
is($j->{clusters}, 'c1', 'list: clusters echoed');
is(scalar @{ $j->{hosts} }, 1, 'cluster filter: one host');
is($j->{hosts}[0]{weight}, 3, 'update: weight');
is_deeply($j->{hosts}[0]{metadata}, { a => 1, b => 2, c => 3 }, 'update: metadata merged');
$j = js('GET', '/instance/list', 'serviceName=order');
is(scalar @{ $j->{hosts} }, 2, 'both listed once enabled');

# detail
$j = js('GET', '/instance', 'serviceName=order&ip=10.0.0.6&port=8080&clusterName=c1');
is($j->{service}, 'DEFAULT_GROUP@@order', 'detail: service');
is($j->{clusterName}, 'c1', 'detail: clusterName');
is($j->{instanceId}, '10.0.0.6#8080#c1#DEFAULT_GROUP@@order', 'detail: instanceId');
$r = req('GET', '/instance', 'serviceName=order&ip=10.0.0.7&port=8080');
is($r->{status}, 404, 'detail: unknown ip 404');
is($r->{body}, 'no matched ip found!', 'detail: no matched ip text');
$r = req('GET', '/instance', 'serviceName=nosuch&ip=10.0.0.7&port=8080');
is($r->{status}, 404, 'detail: unknown service 404');
is($r->{body}, 'no ips found for cluster DEFAULT in service DEFAULT_GROUP@@nosuch',
   'detail: no ips text');

# a missing service lists as empty
$j = js('GET', '/instance/list', 'serviceName=ghost&healthyOnly=true');
is_deeply($j->{hosts}, [], 'unknown service: hosts []');
is($j->{name}, 'DEFAULT_GROUP@@ghost', 'unknown service: name');

# errors
my @bad = (
    [ 'POST', 'ip=1.1.1.1&port=1', 400, "Param 'serviceName' is required." ],
    [ 'POST', 'serviceName=s&port=1', 400, "Param 'ip' is required." ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1', 400, "Param 'port' is required." ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1&port=70000', 400,
      "Param 'port' is illegal, the value should be between 0 and 65535." ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1&port=x', 400,
      "Param 'port' is illegal, the value should be between 0 and 65535." ],
    [ 'POST', 'serviceName=s&ip=1.1%201.1&port=1', 400,
      "Param 'ip' is illegal, illegal characters should not appear in the param." ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1&port=1&weight=10001', 400,
      'instance format invalid: The weights range from 0.0 to 10000.0' ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1&port=1&weight=-0.5', 400,
      'instance format invalid: The weights range from 0.0 to 10000.0' ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1&port=1&clusterName=a_b', 400,
      "Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: a_b)" ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1&port=1&clusterName=a.b', 400,
      "Param 'cluster' is illegal, illegal characters should not appear in the param." ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1&port=1&metadata=novalue', 400,
      'metadata format incorrect:novalue' ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1&port=1&metadata=a%3D1%3D2', 400,
      'metadata format incorrect:a=1=2' ],
    [ 'POST', 'serviceName=s&ip=1.1.1.1&port=1&metadata=%7B%22preserved.heart.beat.interval%22%3A%2220000%22%7D',
      400, "Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'." ],
    [ 'POST', 'serviceName=%40%40s&ip=1.1.1.1&port=1', 400,
      "Param 'serviceName' is illegal, groupName can't be empty" ],
    [ 'POST', 'serviceName=g%40%40&ip=1.1.1.1&port=1', 400,
      "Param 'serviceName' is illegal, it should be format as 'groupName\@\@serviceName'" ],
    [ 'DELETE', 'serviceName=s&ip=1.1.1.1', 400, "Param 'port' is required." ],
    [ 'PUT', 'serviceName=nosvc&ip=1.1.1.1&port=1', 400,
      "service not found, namespace: public, service: Service{namespace='public', group='DEFAULT_GROUP', name='nosvc', ephemeral=true, revision=0}" ],
);
for my $b (@bad) {
    my ($m, $q, $st, $body) = @$b;
    $r = req($m, '/instance', $q);
    is($r->{status}, $st, "$m $q: $st");
    is($r->{body}, $body, "$m $q: text");
}

# a NUL in k=v metadata: refused like the JSON form refuses \u0000 (it
# was stored as \u0000, which reads back as no metadata at all;
# t/fuzz/naming_beat/crashes/kv-nul-value)
$r = req('POST', '/instance', 'serviceName=s&ip=1.1.1.1&port=1&metadata=a%3Db%00c');
is($r->{status}, 400, 'metadata with a NUL: 400');
like($r->{body}, qr/^metadata format incorrect:a=b/, 'metadata with a NUL: text');

# ephemeral vs persistent services
$r = req('POST', '/instance', 'serviceName=order&ip=10.0.0.9&port=1&ephemeral=false');
is($r->{status}, 400, 'persistent into an ephemeral service: 400');
is($r->{body}, "Current service DEFAULT_GROUP\@\@order is ephemeral service, can't register persistent instance.",
   'persistent into ephemeral: text');
$r = req('POST', '/instance', 'serviceName=pers&ip=10.0.0.9&port=1&ephemeral=false');
is($r->{body}, 'ok', 'persistent instance registered');
$r = req('POST', '/instance', 'serviceName=pers&ip=10.0.0.9&port=2');
is($r->{body}, "Current service DEFAULT_GROUP\@\@pers is persistent service, can't register ephemeral instance.",
   'ephemeral into persistent: text');
$j = js('GET', '/instance/list', 'serviceName=pers');
is($j->{hosts}[0]{ephemeral}, JSON::PP::false, 'persistent instance: ephemeral false');

# metadata batch
$j = js('PUT', '/instance/metadata/batch', 'serviceName=order&metadata=k%3Dv');
is_deeply([ sort @{ $j->{updated} } ],
          [ '10.0.0.5:8080:unknown:DEFAULT:ephemeral', '10.0.0.6:8080:unknown:c1:ephemeral' ],
          'metadata batch PUT: all instances');
$j = js('DELETE', '/instance/metadata/batch',
        'serviceName=order&metadata=k%3Dv&instances=%5B%7B%22ip%22%3A%2210.0.0.5%22%2C%22port%22%3A8080%7D%5D');
is_deeply($j->{updated}, [ '10.0.0.5:8080:unknown:DEFAULT:ephemeral' ], 'metadata batch DELETE: one');
$j = js('GET', '/instance', 'serviceName=order&ip=10.0.0.5&port=8080');
ok(!exists $j->{metadata}{k}, 'batch delete removed the key');
$j = js('GET', '/instance', 'serviceName=order&ip=10.0.0.6&port=8080&clusterName=c1');
is($j->{metadata}{k}, 'v', 'batch put added the key');
$r = req('PUT', '/instance/metadata/batch', 'serviceName=order');
is($r->{body}, "Param 'metadata' is required.", 'metadata batch: metadata required');

# deregister: ok even when nothing matches, then gone
is(req('DELETE', '/instance', 'serviceName=order&ip=9.9.9.9&port=1')->{body}, 'ok',
   'deregister unknown: ok');
is(req('DELETE', '/instance', 'serviceName=order&ip=10.0.0.5&port=8080')->{body}, 'ok',
   'deregister: ok');
$j = js('GET', '/instance/list', 'serviceName=order');
is(scalar @{ $j->{hosts} }, 1, 'deregistered instance gone');

# namespaces are separate
req('POST', '/instance', 'serviceName=order&ip=1.2.3.4&port=1&namespaceId=dev');
$j = js('GET', '/instance/list', 'serviceName=order&namespaceId=dev');
is(scalar @{ $j->{hosts} }, 1, 'namespace dev: its own instance');
is($j->{hosts}[0]{ip}, '1.2.3.4', 'namespace dev: ip');

$t->done_testing;
