#!/usr/bin/perl
# Connection liveness: idle connections are probed with
# ClientDetectionRequest; a client that answers stays, a silent one is
# unregistered; a dropped TCP connection is unregistered at once.  The
# probe times are shortened through the conf.
use v5.36;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has('grpc');
Test::Nd::Grpc->ensure_client;

$t->write_conf('nacosd.conf', $t->conf(
    events => "shutdown_timeout 20s;",
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    idle_probe 1s;\n    probe_interval 200ms;\n"
           . "    probe_timeout 800ms;\n}\n"));
$t->run;
my $gport = $t->port(9848);

sub client ($label, @more) {
    return Test::Nd::Grpc->start($gport, [
        { op => 'unary', type => 'ServerCheckRequest', body => {} },
        { op => 'bidi_open' },
        { op => 'bidi_send', type => 'ConnectionSetupRequest',
          body => { clientVersion => 'test', labels => { name => $label } } },
        @more,
        { op => 'hold' } ]);
}

sub conns () {
    my $c = $t->http_json('GET', '/nacos/v1/core/loader/current') // {};
    return { map { $c->{$_}{metaInfo}{labels}{name} => $_ } keys %$c };
}

sub wait_for ($what, $cb, $timeout) {
    my $end = time + $timeout;
    while (time < $end) {
        return 1 if $cb->();
        sleep 0.05;
    }
    return 0;
}

my $alive = client('alive');
my $silent = client('silent', { op => 'silent', value => 1 });

ok(wait_for('both registered', sub { keys %{ conns() } == 2 }, 10),
   'both connections registered');
my $ids = conns();

# idle 1 s -> probe; no answer within 0.8 s -> unregistered
ok(wait_for('silent dropped', sub { !exists conns()->{silent} }, 10),
   'a client that does not answer ClientDetectionRequest is unregistered');
ok(exists conns()->{alive}, 'a client that answers stays registered');
ok($alive->wait_line(sub ($l) {
       ($l->{event} // '') eq 'push'
       && $l->{type} eq 'ClientDetectionRequest' }, 5),
   'the live client was probed too');
ok($silent->wait_line(sub ($l) {
       ($l->{event} // '') eq 'push'
       && $l->{type} eq 'ClientDetectionRequest' }, 1),
   'the silent client received the probe it ignored');
like($t->error_log, qr/no answer to ClientDetectionRequest/,
     'the reason is logged');
like($t->error_log, qr/\Q$ids->{silent}\E unregistered/,
     'the silent connection id is logged as unregistered');

# the live client keeps answering over several probe rounds
sleep 2.5;
ok(exists conns()->{alive}, 'still registered after several probes');
my $probes = grep { ($_->{event} // '') eq 'push' } @{ $alive->lines };
cmp_ok($probes, '>=', 2, "probed repeatedly ($probes times), answered each");

# a dropped TCP connection is unregistered without waiting for a probe
$alive->kill('KILL');
ok(wait_for('alive gone', sub { !exists conns()->{alive} }, 0.9),
   'a killed client is unregistered before the next probe could fire');

# graceful stop with a registered long connection does not hang
my $last = client('last');
ok(wait_for('last registered', sub { exists conns()->{last} }, 10),
   'another client registered');
my $t0 = time;
is($t->stop, 0, 'TERM with an open bi-stream: clean exit');
cmp_ok(time - $t0, '<', 20, 'without waiting for shutdown_timeout (20 s)');
ok($last->wait_line(sub ($l) { ($l->{event} // '') =~ /stream_(end|error)/ },
                    5), 'the client saw its stream end');
$last->kill;
$silent->kill;

done_testing;
