# Heartbeats: light beats, 20404, re-registration from the beat body,
# expiry (unhealthy, then removed) with timeouts shortened through the
# preserved.* metadata, and the empty-service cleaner.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;


my $t = Test::Nd->new;
$t->has('naming');
$t->write_conf('nacosd.conf', $t->conf(extra =>
    "naming { empty_service_clean_interval 200ms; empty_service_expire 500ms; }\n"));
$t->run;
# persistent writes are refused until the store's instances are loaded
ok($t->wait_ready, 'ready');

my $ns = '/nacos/v1/ns';
sub js ($m, $q) { scalar $t->http_json($m, "$ns$q") }
sub esc ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf("%%%02X", ord $1)/ge; $s }

# light beat for an unknown instance: 20404
my $j = js('PUT', '/instance/beat?serviceName=svc&ip=10.1.1.1&port=80');
is($j->{code}, 20404, 'unknown instance: code 20404');
is($j->{clientBeatInterval}, 5000, 'clientBeatInterval 5000');
ok($j->{lightBeatEnabled}, 'lightBeatEnabled');

# a beat body registers the instance (Java 1.x sends it in the form body)
my $beat = '{"ip":"10.1.1.1","port":80,"weight":2.0,"serviceName":"DEFAULT_GROUP@@svc",'
         . '"cluster":"c2","metadata":{"preserved.heart.beat.interval":"700"},'
         . '"scheduled":false,"period":5000,"stopped":false}';
my $r = $t->http_req('PUT', "$ns/instance/beat?serviceName=DEFAULT_GROUP%40%40svc",
                     body => 'beat=' . esc($beat),
                     headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
$j = Test::Nd::decode_json($r->{body});
is($j->{code}, 10200, 'beat with body: code 10200');
is($j->{clientBeatInterval}, 700, 'beat interval from preserved metadata');
$j = js('GET', '/instance/list?serviceName=svc');
is(scalar @{ $j->{hosts} }, 1, 'beat registered the instance');
is($j->{hosts}[0]{clusterName}, 'c2', 'cluster from the beat body');
is($j->{hosts}[0]{weight}, 2, 'weight from the beat body');

# a light beat now finds it
$j = js('PUT', '/instance/beat?serviceName=svc&ip=10.1.1.1&port=80&clusterName=c2');
is($j->{code}, 10200, 'light beat: 10200');
$j = $t->http_json('PUT', '/nacos/v2/ns/instance/beat?serviceName=svc&ip=10.1.1.1&port=80');
is($j->{code}, 10200, 'v2 beat: not enveloped, 10200');

# expiry: unhealthy after 1 s, removed after 2 s without beats
my $meta = esc('{"preserved.heart.beat.interval":"200","preserved.heart.beat.timeout":"1000",'
               . '"preserved.ip.delete.timeout":"2000"}');
is($t->http_req('POST', "$ns/instance?serviceName=exp&ip=10.2.2.2&port=1&metadata=$meta")->{body},
   'ok', 'short-lived instance registered');
is($t->http_req('POST', "$ns/instance?serviceName=exp&ip=10.2.2.3&port=1&metadata=$meta")->{body},
   'ok', 'second short-lived instance registered');

sub host ($ip) {
    my $l = js('GET', '/instance/list?serviceName=exp');
    my ($h) = grep { $_->{ip} eq $ip } @{ $l->{hosts} // [] };
    return $h;
}

# keep .3 alive with beats while .2 expires
my $keep = sub { js('PUT', '/instance/beat?serviceName=exp&ip=10.2.2.3&port=1') };
ok(host('10.2.2.2')->{healthy}, 'healthy at first');
my $seen_unhealthy = $t->wait_for(5, sub {
    $keep->();
    my $h = host('10.2.2.2');
    return $h && !$h->{healthy};
});
ok($seen_unhealthy, 'unhealthy after the beat timeout');
ok(host('10.2.2.3')->{healthy}, 'the beating instance stays healthy');

# a beat brings it back, then silence removes it
$j = js('PUT', '/instance/beat?serviceName=exp&ip=10.2.2.2&port=1');
is($j->{code}, 10200, 'beat on the unhealthy instance');
ok(host('10.2.2.2')->{healthy}, 'healthy again after a beat');
ok($t->wait_for(6, sub { $keep->(); !host('10.2.2.2') }),
   'removed after the delete timeout');
ok(host('10.2.2.3'), 'the beating instance is still there');
$j = js('PUT', '/instance/beat?serviceName=exp&ip=10.2.2.2&port=1');
is($j->{code}, 20404, 'beat after removal: 20404');

# protect threshold: a service with metadata, all instances unhealthy
is($t->http_req('POST', "$ns/service?serviceName=prot&protectThreshold=0.5")->{body}, 'ok',
   'service with protectThreshold 0.5 created');
$r = $t->http_req('POST', "$ns/instance?serviceName=prot&ip=10.3.3.3&port=1&ephemeral=false");
is($r->{body}, 'ok', 'persistent instance in prot');
$t->http_req('POST', "$ns/instance?serviceName=prot&ip=10.3.3.4&port=1&ephemeral=false&healthy=false");
$j = js('GET', '/instance/list?serviceName=prot');
ok($j->{reachProtectionThreshold}, '1 healthy of 2 <= 0.5: protection reached');
ok((!grep { !$_->{healthy} } @{ $j->{hosts} }), 'protected: all hosts reported healthy');
$j = js('GET', '/instance/list?serviceName=prot&healthyOnly=true');
ok(!$j->{reachProtectionThreshold}, 'healthyOnly: ratio 1, no protection');
is(scalar @{ $j->{hosts} }, 1, 'healthyOnly: one host');
$t->http_req('PUT', "$ns/service?serviceName=prot&protectThreshold=0.4");
$j = js('GET', '/instance/list?serviceName=prot');
ok(!$j->{reachProtectionThreshold}, 'threshold 0.4: not reached');
is(scalar(grep { !$_->{healthy} } @{ $j->{hosts} }), 1, 'unprotected: one unhealthy host');

# without service metadata (created by registration) nothing is protected
$t->http_req('POST', "$ns/instance?serviceName=noprot&ip=10.4.4.4&port=1&healthy=false&ephemeral=false");
$j = js('GET', '/instance/list?serviceName=noprot');
ok(!$j->{reachProtectionThreshold}, 'no service metadata: no protection');
ok(!$j->{hosts}[0]{healthy}, 'no service metadata: host stays unhealthy');

# manual health needs a cluster whose checker is NONE
$r = $t->http_req('PUT', "$ns/health/instance?serviceName=prot&ip=10.3.3.4&port=1&healthy=true");
is($r->{status}, 400, 'manual health with the TCP checker: 400');
is($r->{body}, 'health check is still working, service: DEFAULT_GROUP@@prot, cluster: DEFAULT',
   'manual health: text');
$r = $t->http_req('PUT', "$ns/health/instance?serviceName=prot&ip=10.3.3.4&port=1");
is($r->{body}, "Param 'healthy' is required.", 'manual health: healthy required');
is($t->http_req('PUT', "$ns/cluster?serviceName=prot&clusterName=DEFAULT&healthChecker="
                . esc('{"type":"NONE"}'))->{body}, 'ok', 'cluster checker set to NONE');
is($t->http_req('PUT', "$ns/health/instance?serviceName=prot&ip=10.3.3.4&port=1&healthy=true")->{body},
   'ok', 'manual health: ok');
$j = js('GET', '/instance/list?serviceName=prot&healthyOnly=true');
is(scalar @{ $j->{hosts} }, 2, 'manual health applied');

# empty services are cleaned (shortened by the conf above)
$t->http_req('POST', "$ns/instance?serviceName=gone&ip=10.5.5.5&port=1");
$t->http_req('DELETE', "$ns/instance?serviceName=gone&ip=10.5.5.5&port=1");
ok($t->wait_for(5, sub {
    $t->http_req('GET', "$ns/service?serviceName=gone")->{status} == 400 }),
   'empty service removed by the cleaner');
ok(js('GET', '/service?serviceName=exp')->{name}, 'a service with instances stays');

$t->done_testing;
