#!/usr/bin/perl
# GET /nacos/actuator/prometheus: the whole exposition is checked by
# promtool (Prometheus's own parser and linter) and parsed by the
# prometheus_client text parser (t/metrics/parse.py); the figures move
# with the work done: instances registered (ipCount, serviceCount),
# configs published (configCount, store commits, HTTP routes), gRPC
# requests (grpc_server_requests_seconds per type), a held gRPC
# connection and subscriber (longConnection, subscriberCount, pushes),
# a held long poll (longPolling).  Counters never go down, histogram
# buckets add up.
use v5.36;
use Test::More;
use Time::HiRes qw(sleep time);
use JSON::PP;
use Digest::MD5 qw(md5_hex);
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;
use Test::Nd::Metrics;

my $t = Test::Nd->new;
$t->has(qw(grpc store naming config));
Test::Nd::Grpc->ensure_client;

Test::Nd::Metrics->need;

my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . "store {\n    schema_dir $schema;\n}\n"
           . "config {\n    long_poll_floor 1s;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');
my $gport = $t->port(9848);
my $path = Test::Nd::Metrics::path();

sub scrape ($what) { Test::Nd::Metrics::scrape($t, $what) }
sub check_sane { Test::Nd::Metrics::sane(@_) }
sub mon ($m, $module, $name) {
    $m->{qq(nacos_monitor{module="$module",name="$name"})};
}

my $m0 = scrape('idle');
for my $f (qw(nacos_monitor nacosd_memory_rss_bytes nacosd_event_loop_lag_seconds
              nacosd_store_commit_seconds nacosd_grpc_connections)) {
    ok(defined Test::Nd::Metrics::type($f), "family $f is exposed");
}
cmp_ok($m0->{nacosd_memory_rss_bytes}, '>', 0, 'RSS is measured');
cmp_ok($m0->{nacosd_memory_private_bytes}, '>', 0, 'private memory too');
is(mon($m0, 'naming', 'ipCount'), 0, 'ipCount 0 at start');

# --- naming over HTTP ------------------------------------------------------
for my $i (1 .. 3) {
    my $r = $t->http_req('POST', "/nacos/v1/ns/instance?serviceName=m.svc"
                         . "&ip=10.0.0.$i&port=80");
    is($r->{body}, 'ok', "instance $i registered");
}
my $m1 = scrape('after registering');
is(mon($m1, 'naming', 'ipCount'), 3, 'ipCount: 3 instances');
is(mon($m1, 'naming', 'serviceCount'), mon($m0, 'naming', 'serviceCount') + 1,
   'serviceCount: one more service');
is($m1->{'http_server_requests_seconds_count{method="POST",uri="/nacos/v1/ns/instance"}'},
   3, 'http_server_requests_seconds: 3 POST /nacos/v1/ns/instance');
check_sane($m0, $m1, 'after registering');

# --- config ------------------------------------------------------------------
my $c0 = mon($m1, 'config', 'configCount');
for my $i (1 .. 2) {
    my $r = $t->http_req('POST', '/nacos/v1/cs/configs',
        body => "dataId=m$i.yaml&group=G&content=k$i",
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
    is($r->{body}, 'true', "config $i published");
}
my $m2 = scrape('after publishing');
is(mon($m2, 'config', 'configCount'), $c0 + 2, 'configCount: 2 more');
cmp_ok($m2->{nacosd_store_commit_seconds_count},
       '>=', $m1->{nacosd_store_commit_seconds_count} + 2,
       'store commits counted');
check_sane($m1, $m2, 'after publishing');

# --- gRPC: requests by type, a held connection, a subscriber, a push ----------
my $cli = Test::Nd::Grpc->start($gport, [
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'bidi_open' },
    { op => 'bidi_send', type => 'ConnectionSetupRequest',
      body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                labels => { module => 'naming' } } },
    { op => 'sleep', ms => 100 },
    map({ { op => 'unary', type => 'ConfigQueryRequest',
            body => { dataId => 'm1.yaml', group => 'G' } } } 1 .. 3),
    { op => 'unary', type => 'SubscribeServiceRequest',
      body => { namespace => 'public', serviceName => 'm.svc',
                groupName => 'DEFAULT_GROUP', clusters => '',
                subscribe => JSON::PP::true, module => 'naming' } },
    { op => 'hold' } ]);
ok($cli->wait_line(sub ($l) { ($l->{type} // '') eq 'SubscribeServiceResponse' },
                   15), 'gRPC client subscribed');
my $m3 = scrape('gRPC client held');
is($m3->{'grpc_server_requests_seconds_count{requestClass="ConfigQueryRequest"}'},
   3, 'grpc_server_requests_seconds: 3 ConfigQueryRequest');
is(mon($m3, 'core', 'longConnection'), 1, 'longConnection: 1');
is($m3->{'nacosd_grpc_connections{state="registered"}'}, 1,
   'nacosd_grpc_connections registered: 1');
is(mon($m3, 'naming', 'subscriberCount'), 1, 'subscriberCount: 1');

# a change pushes to the subscriber; its answer is timed
$t->http_req('POST', '/nacos/v1/ns/instance?serviceName=m.svc&ip=10.0.0.9&port=80');
ok($t->wait_for(10, sub {
       (Test::Nd::Metrics::peek($t, 'nacosd_push_latency_seconds_count') // 0)
           >= 1 }),
   'the push to the subscriber is answered and timed');
my $m4 = scrape('after a push');
cmp_ok($m4->{nacosd_grpc_pushes_total}, '>', $m3->{nacosd_grpc_pushes_total},
       'nacosd_grpc_pushes_total went up');
cmp_ok(mon($m4, 'naming', 'totalPush'), '>', mon($m3, 'naming', 'totalPush'),
       'totalPush went up');
check_sane($m3, $m4, 'after a push');
$cli->kill;
ok($t->wait_for(10, sub {
       (Test::Nd::Metrics::peek($t,
           'nacos_monitor{module="core",name="longConnection"}') // -1) == 0 }),
   'longConnection back to 0 once the client is gone');

# --- a held long poll ------------------------------------------------------
# listening with the current md5: held until the config changes
my $body = "Listening-Configs=m1.yaml%02G%02" . md5_hex('k1') . '%01';
my $poll = $t->connect;
$poll->send("POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: x\r\n"
    . "Content-Type: application/x-www-form-urlencoded\r\n"
    . "Long-Pulling-Timeout: 30000\r\n"
    . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
ok($t->wait_for(10, sub {
       (Test::Nd::Metrics::peek($t,
           'nacos_monitor{module="config",name="longPolling"}') // 0) == 1 }),
   'longPolling: 1 while a poll is held');

# a changed key answers it: the gauge follows
$t->http_req('POST', '/nacos/v1/cs/configs',
    body => 'dataId=m1.yaml&group=G&content=changed',
    headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
my $pr = $poll->read_response(timeout => 10);
is($pr && $pr->{status}, 200, 'the held poll is answered by the change');
my $m5 = scrape('after the poll');
is(mon($m5, 'config', 'longPolling'), 0, 'longPolling: back to 0');
check_sane($m4, $m5, 'after the poll');

# --- the route -------------------------------------------------------------
is($t->http_req('POST', $path)->{status}, 405, 'POST: 405');
my $h = $t->http_req('HEAD', $path);
is($h->{status}, 200, 'HEAD: 200');

$t->done_testing;
