# Core HTTP endpoints, 404 and 405, and context_path.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;

my $t = Test::Nd->new;
$t->run;
my $port = $t->port;

# liveness / readiness
my $r = $t->http_get('/nacos/v1/console/health/liveness');
is($r->{status}, 200, 'liveness: 200');
is($r->{body}, 'OK', 'liveness: body OK');

$r = $t->http_get('/nacos/v1/console/health/liveness?probe=1&x=%20');
is($r->{status}, 200, 'liveness with a query string: 200');

ok($t->wait_ready(10), 'readiness turns 200 within 10s');
$r = $t->http_get('/nacos/v1/console/health/readiness');
is($r->{status}, 200, 'readiness: 200');
is($r->{body}, 'OK', 'readiness: body OK');

# cluster nodes
my ($j, $resp) = $t->http_json('GET', '/nacos/v1/core/cluster/nodes');
is($resp->{status}, 200, 'cluster/nodes: 200');
like($resp->{headers}{'content-type'} // '', qr{application/json},
     'cluster/nodes: JSON content type');
ok(ref $j eq 'HASH', 'cluster/nodes: JSON object') or diag($resp->{body});
is($j->{code}, 200, 'cluster/nodes: code 200');
ok(exists $j->{message} && !defined $j->{message},
   'cluster/nodes: message null');
is(ref $j->{data}, 'ARRAY', 'cluster/nodes: data array');
is(scalar @{ $j->{data} // [] }, 1, 'cluster/nodes: one node (standalone)');
my $n = $j->{data}[0] // {};
is($n->{ip}, '127.0.0.1', 'node ip');
is($n->{port}, $port, 'node port is the http port');
ok(!ref $n->{port} && $resp->{body} =~ /"port"\s*:\s*$port\b/,
   'node port is a JSON number');
is($n->{state}, 'UP', 'node state UP');
is($n->{address}, "127.0.0.1:$port", 'node address ip:port');
is($n->{failAccessCnt}, 0, 'node failAccessCnt 0');
is(ref $n->{extendInfo}, 'HASH', 'node extendInfo object');
ok(defined $n->{extendInfo}{version} && length $n->{extendInfo}{version},
   'node extendInfo.version');

# 404
for my $path ('/nacos/x', '/nacos/v1/console/health/nope',
              '/nacos/v1/console/health/liveness/extra', '/elsewhere') {
    $r = $t->http_get($path);
    is($r->{status}, 404, "GET $path: 404");
    like($r->{body}, qr/"status"\s*:\s*404/, "GET $path: body has status 404");
}

# 405: a known path with a method it does not serve
for my $m (qw(POST PUT DELETE)) {
    $r = $t->http_req($m, '/nacos/v1/console/health/liveness', body => 'a=b');
    is($r->{status}, 405, "$m liveness: 405");
    like($r->{headers}{allow} // '', qr/\bGET\b/,
         "$m liveness: Allow header lists GET");
}
$r = $t->http_req('DELETE', '/nacos/v1/core/cluster/nodes');
is($r->{status}, 405, 'DELETE cluster/nodes: 405');

# the server keeps serving after errors
$r = $t->http_get('/nacos/v1/console/health/liveness');
is($r->{status}, 200, 'liveness after errors: 200');
$t->stop;

# context_path
my $f = Test::Nd->new;
$f->write_conf('nacosd.conf', $f->conf(context_path => '/foo'));
$f->run;
$r = $f->http_get('/foo/v1/console/health/liveness');
is($r->{status}, 200, 'context_path /foo: /foo/.../liveness 200');
is($r->{body}, 'OK', 'context_path /foo: body OK');
$r = $f->http_get('/foo/v1/core/cluster/nodes');
is($r->{status}, 200, 'context_path /foo: cluster/nodes 200');
$r = $f->http_get('/nacos/v1/console/health/liveness');
is($r->{status}, 404, 'context_path /foo: /nacos/.../liveness 404');
like($r->{body}, qr/"status"\s*:\s*404/, 'context_path /foo: 404 body');
$r = $f->http_get('/foov1/console/health/liveness');
is($r->{status}, 404, 'context_path /foo: prefix must end at a "/"');
$f->stop;

done_testing;
