#!/usr/bin/perl
# A client that takes no more pushes (its stream window spent and never
# granted again, as a client that stopped reading) cannot make the server
# hold its pushes without end: its queue past push_queue_max closes it at
# the next push, and a queue of at least push_blocked_size that stays so
# for push_blocked_timeout closes it at the next probe (Nacos ejects such
# a connection after 300 s).  A client that reads is served meanwhile.
use v5.36;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Test::Nd;
use Test::Nd::H2;

# instances with 1.5 KB of metadata: a push of a service is 1.6 KB an
# instance
my $meta = '%7B%22k%22%3A%22' . ('v' x 1500) . '%22%7D';

sub node ($extra) {
    my $t = Test::Nd->new;
    $t->has(qw(grpc naming));
    $t->write_conf('nacosd.conf', $t->conf(
        extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
               . "    push_timeout 60s;\n    probe_interval 500ms;\n"
               . "$extra}\n"
               . "naming {\n    push_min_interval 0;\n}\n"));
    $t->run;
    ok($t->wait_ready(20), 'ready');
    return $t;
}

# a registered connection subscribed to @svc; window 0: the server can
# send it no DATA at all, every push waits on its bi-stream
sub subscriber ($t, $window, @svc) {
    my $c = Test::Nd::H2->new($t->port(9848),
                              settings => { INITIAL_WINDOW_SIZE => $window });
    $c->frame('HEADERS', 0x4, 1, Test::Nd::H2::request_block(
        path => '/BiRequestStream/requestBiStream'));
    $c->frame('DATA', 0, 1, Test::Nd::H2::payload('ConnectionSetupRequest',
        { clientVersion => 'Nacos-Java-Client:v2.5.1', labels => {} }));
    my $sid = 3;
    for my $svc (@svc) {
        $c->call($sid, 'SubscribeServiceRequest', {
            namespace => 'public', groupName => 'DEFAULT_GROUP',
            serviceName => $svc, clusters => '',
            subscribe => JSON::PP::true });
        $sid += 2;
    }
    ok(defined $c->ping, "subscriber of @svc: connected");
    return $c;
}

sub register ($t, $svc, $i) {
    my $r = $t->http_req('POST', "/nacos/v1/ns/instance?serviceName=$svc"
                         . "&ip=10.0.0.$i&port=8080&metadata=$meta");
    return $r->{status} == 200;
}

# ---- push_queue_max -----------------------------------------------------------
{
    my $t = node("    push_queue_max 64k;\n");
    my $c = subscriber($t, 0, map { "qa-$_" } 1 .. 4);

    # 4 services x 10 instances: 40 pushes of 1.6 to 16 KB, 350 KB in all
    my $ok = 1;
    for my $i (1 .. 10) {
        $ok &&= register($t, "qa-$_", $i) for 1 .. 4;
    }
    ok($ok, 'instances registered');
    ok($c->closed(10), 'the client whose queue passed push_queue_max is closed');
    ok($t->wait_for(5, sub {
           $t->error_log =~ /push queue over push_queue_max/ }),
       'the log says why');
    unlike($t->error_log, qr/blocked past push_blocked_timeout/,
           'not by the blocked timeout (300 s here)');
    $t->stop;
}

# ---- push_blocked_timeout -------------------------------------------------------
{
    my $t = node("    push_blocked_size 4k;\n    push_blocked_timeout 2s;\n");
    my $blocked = subscriber($t, 0, 'qb-1');

    # a reading client with room for every push: never blocked
    my $reader = subscriber($t, 1 << 30, 'qb-1');
    $reader->frame('WINDOW_UPDATE', 0, 0, pack('N', (1 << 30)));

    my $ok = 1;
    $ok &&= register($t, 'qb-1', $_) for 1 .. 5;
    ok($ok, 'instances registered: 24 KB of pushes, under push_queue_max');

    my $t0 = time;
    ok($blocked->closed(20), 'the blocked client is closed');
    my $took = time - $t0;
    ok($t->wait_for(5, sub {
           $t->error_log =~ /push queue blocked past push_blocked_timeout/ }),
       'the log says why');
    unlike($t->error_log, qr/push queue over push_queue_max/,
           'not by push_queue_max (4 MB here)');

    # the reader got every push meanwhile, and is still connected
    my $pushes = 0;
    while (my $f = $reader->read_frame(0.5)) {
        $pushes++ if $f->{type} == $Test::Nd::H2::TYPE{DATA} && $f->{sid} == 1;
    }
    ok($pushes >= 5, "the reader got the pushes ($pushes DATA frames)");
    ok(defined $reader->ping, 'the reader is still connected');
    note(sprintf 'blocked client closed %.1f s after the last push', $took);
    $t->done_testing;
}
