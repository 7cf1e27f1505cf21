# HTTP/1.1 keep-alive, HTTP/1.0 and Connection: close, pipelining, and the
# idle keepalive_timeout.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Time::HiRes qw(time sleep);

my $t = Test::Nd->new;
$t->write_conf('nacosd.conf', $t->conf(http => 'keepalive_timeout 1s;'));
$t->run;

my $live = '/nacos/v1/console/health/liveness';
sub req ($path, %o) {
    return $t->request_text($o{method} // 'GET', $path, keepalive => 1, %o);
}

# several requests, one connection
my $c = $t->connect;
for my $i (1 .. 3) {
    $c->send(req($live));
    my $r = $c->read_response;
    is($r && $r->{status}, 200, "keep-alive request $i: 200");
    is($r && $r->{body}, 'OK', "keep-alive request $i: body");
    unlike($r ? $r->{headers}{connection} // '' : '', qr/close/i,
           "keep-alive request $i: no Connection: close");
}
ok(!$c->wait_closed(0.3), 'connection still open after three requests');

# the idle timer is re-armed by activity: requests 0.6s apart, timeout 1s
my $ok = 0;
for my $i (1 .. 4) {
    sleep 0.6 if $i > 1;
    $c->send(req($live));
    my $r = $c->read_response;
    $ok++ if $r && $r->{status} == 200;
}
is($ok, 4, 'requests 0.6s apart all served on one connection (timeout 1s)');

# idle keepalive_timeout closes the connection
my $t0 = time;
ok($c->wait_closed(5), 'idle connection closed by keepalive_timeout');
my $el = time - $t0;
cmp_ok($el, '>=', 0.8, 'not closed before keepalive_timeout');
cmp_ok($el, '<=', 3.5, 'closed soon after keepalive_timeout');

# HTTP/1.0 without keep-alive: response, then close
$c = $t->connect;
$c->send("GET $live HTTP/1.0\r\n\r\n");
my $r = $c->read_response;
is($r && $r->{status}, 200, 'HTTP/1.0: 200');
is($r && $r->{body}, 'OK', 'HTTP/1.0: body');
ok($c->wait_closed(0.8), 'HTTP/1.0: connection closed after the response');

# Connection: close
$c = $t->connect;
$c->send(req($live, headers => { Connection => 'close' }));
$r = $c->read_response;
is($r && $r->{status}, 200, 'Connection: close: 200');
ok($c->wait_closed(0.8), 'Connection: close: connection closed');

# pipelining: five requests in one write, answered in order
my @reqs = (
    req($live),
    req('/nacos/nope'),
    req($live, method => 'POST', body => 'abc',
        headers => { 'Content-Type' => 'text/plain' }),
    req('/nacos/v1/core/cluster/nodes'),
    req('/nacos/v1/console/health/readiness'),
);
$c = $t->connect;
my @r = $t->http_keepalive(\@reqs, pipeline => 1, conn => $c);
is(scalar @r, 5, 'pipelined: five responses');
is_deeply([ map { $_->{status} } @r ], [ 200, 404, 405, 200, $r[4]{status} ],
          'pipelined: statuses in request order');
like($r[4]{status} // 0, qr/^(?:200|503)$/, 'pipelined: readiness answered');
is($r[0]{body}, 'OK', 'pipelined: first body');
like($r[3]{body} // '', qr/"data"/, 'pipelined: cluster/nodes body');
is($c->buffer, '', 'pipelined: nothing extra after the responses');
$c->send(req($live));
$r = $c->read_response;
is($r && $r->{status}, 200, 'pipelined: connection still usable');

# pipelined, last one asks to close: all answered, then closed
$c = $t->connect;
@r = $t->http_keepalive([ req($live), req('/nacos/nope'),
                          req($live, headers => { Connection => 'close' }) ],
                        pipeline => 1, conn => $c);
is_deeply([ map { $_->{status} } @r ], [ 200, 404, 200 ],
          'pipelined with close: all three answered');
ok($c->wait_closed(0.8), 'pipelined with close: closed after the last');

# two requests dribbled in 3-byte writes
my $two = req($live) . req('/nacos/v1/core/cluster/nodes');
$c = $t->connect;
for (my $i = 0; $i < length $two; $i += 3) {
    $c->send(substr($two, $i, 3));
    sleep 0.002;
}
my ($r1, $r2) = ($c->read_response, $c->read_response);
is($r1 && $r1->{status}, 200, 'dribbled: first request answered');
is($r2 && $r2->{status}, 200, 'dribbled: second request answered');
like($r2 ? $r2->{body} : '', qr/"data"/, 'dribbled: second body');

$t->done_testing;
