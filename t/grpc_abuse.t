#!/usr/bin/perl
# Abandoned gRPC calls cost nothing (issue 12, item 1).  A raw HTTP/2
# client that asks for large configs and never reads the answers gets no
# more work started once the output the server holds for it passes
# queued_output_max, and what it asked for but was not started is
# cancelled when it leaves.  A client that resets every call at once
# (HTTP/2 rapid reset, CVE-2023-44487: 2,000 ConfigQueryRequests for a
# 4 MB config) is sent GOAWAY ENHANCE_YOUR_CALM and closed, and its reset
# calls are never started, while a second client's HealthChecks (real
# @grpc/grpc-js) are all answered.  The counters come from the debug
# build's /v1/core/debug/grpc.  Latency under attack: bench/65-abuse.bench.
use v5.36;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Test::Nd;
use Test::Nd::H2;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw(grpc store config));
Test::Nd::Grpc->ensure_client;
my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    queued_output_max 2m;\n    stream_reset_rate 100;\n}\n"
           . "store {\n    schema_dir $schema;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');
my $gport = $t->port(9848);

# counters exist in a --with-debug build only (what CI runs)
sub stats () {
    $t->http_json('GET', '/nacos/v1/core/debug/grpc', timeout => 30) // {}
}
my $debug = exists stats()->{queuedPeak};

for ([ 'mid.txt', 1024 * 1024 ], [ 'big.txt', 4 * 1024 * 1024 ]) {
    my ($id, $size) = @$_;
    my $r = $t->http_req('POST', '/nacos/v1/cs/configs', timeout => 60,
        body => "dataId=$id&group=G&content=" . ('x' x $size),
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
    is($r->{status}, 200, "$id ($size bytes) published");
}

sub registered_client () {
    my $c = Test::Nd::H2->new($gport);
    $c->frame('HEADERS', 0x4, 1, Test::Nd::H2::request_block(
        path => '/BiRequestStream/requestBiStream'));
    $c->frame('DATA', 0, 1, Test::Nd::H2::payload('ConnectionSetupRequest',
        { clientVersion => 'Nacos-Java-Client:v2.5.1', labels => {} }));
    return $c;
}

sub query_bytes ($sid, $id) {
    return Test::Nd::H2::frame_bytes('HEADERS', 0x4, $sid,
                                     Test::Nd::H2::request_block())
         . Test::Nd::H2::frame_bytes('DATA', 0x1, $sid,
               Test::Nd::H2::payload('ConfigQueryRequest',
                                     { dataId => $id, group => 'G' }));
}

# 1. a client that asks for 40 x 1 MB and reads nothing
SKIP: {
    skip 'counters need a --with-debug build', 3 unless $debug;
    my $c = registered_client();
    $c->send(join '', map { query_bytes(3 + 2 * $_, 'mid.txt') } 0 .. 39);
    $c->ping('nd-ping!', 30);       # all 40 requests were read
    sleep 0.3;
    my $s = stats();
    cmp_ok($s->{callsStarted}, '<=', 5,
           "a client that reads nothing: $s->{callsStarted} of 40 calls "
           . 'started');
    cmp_ok($s->{queuedPeak}, '<=', 2 * 1024 * 1024 + 2 * 1100 * 1024,
           "output held for it stays bounded ($s->{queuedPeak} bytes)");
    my $before = $s->{callsCancelled};
    $c->close;
    $t->wait_for(30, sub { stats()->{callsCancelled} - $before >= 35 });
    $s = stats();
    cmp_ok($s->{callsCancelled} - $before, '>=', 35,
           'its calls not started are cancelled when it leaves');
}

# 2. rapid reset while a victim checks health
my $gate = tempdir(CLEANUP => 1) . '/go';
my @hello = Test::Nd::Grpc->hello;
my $victim = Test::Nd::Grpc->start($gport, [
    @hello, { op => 'gate', file => $gate },
    map({ Test::Nd::Grpc->call('HealthCheckRequest') } 1 .. 200) ]);
ok($victim->wait_line(sub ($l) { ($l->{op} // '') eq 'sleep' }, 60),
   'victim connected');
sleep 0.3;

my $before = stats();
my $a = registered_client();
$a->ping('nd-ping!', 30);
open my $g, '>', $gate or die;
close $g;

my ($sent, $code) = (0, undef);
my $rst = Test::Nd::H2::frame_bytes('RST_STREAM', 0, 0, pack('N', 8));
BATCH: while ($sent < 2000) {
    my $batch = '';
    for (1 .. 50) {
        my $sid = 3 + 2 * $sent++;
        $batch .= query_bytes($sid, 'big.txt')
                . Test::Nd::H2::frame_bytes('RST_STREAM', 0, $sid,
                                            pack('N', 8));
    }
    last unless $a->send($batch);
    while (my $f = $a->read_frame(0.01)) {
        if ($f->{type} == $Test::Nd::H2::TYPE{GOAWAY}) {
            $code = unpack('x4N', $f->{payload});
            last BATCH;
        }
    }
    last if $a->{eof};
}
$code //= $a->goaway(30);
is($code, $Test::Nd::H2::ERR{ENHANCE_YOUR_CALM},
   "the resetting client gets GOAWAY ENHANCE_YOUR_CALM (after $sent calls)");
ok($a->closed(30), 'and is closed');
cmp_ok($sent, '<', 2000, 'before it sent all 2,000 calls');

SKIP: {
    skip 'counters need a --with-debug build', 2 unless $debug;
    my $after = stats();
    is($after->{calmGoaways} - $before->{calmGoaways}, 1, 'counted once');
    cmp_ok($after->{callsCancelled} - $before->{callsCancelled}, '>', 0,
           'reset calls are cancelled before they start');
}

ok($victim->wait_line(sub ($l) { ($l->{event} // '') eq 'done' }, 120),
   'the victim finished');
my @hc = grep { ($_->{op} // '') eq 'unary' && $_->{step} > @hello }
         @{ $victim->lines };
is(scalar @hc, 200, '200 HealthChecks made during and after the attack');
is(scalar(grep { ($_->{body}{resultCode} // 0) == 200 } @hc), 200,
   'all answered');

$t->stop;
done_testing;
