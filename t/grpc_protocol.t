#!/usr/bin/perl
# gRPC transport against a real gRPC stack: handshake, registration,
# dispatch errors, bad input of every kind, and that other connections
# are unaffected.
use v5.36;
use Test::More;
use IO::Socket::INET;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has('grpc');
Test::Nd::Grpc->ensure_client;

$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    max_message_size 64k;\n}\n"));
$t->run;
my $gport = $t->port(9848);

my $setup = { op => 'bidi_send', type => 'ConnectionSetupRequest',
              body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                        tenant => 'dev', abilityTable => {},
                        labels => { source => 'sdk', module => 'naming',
                                    AppName => 'order-svc' } },
              clientIp => '10.1.2.3' };

my $out = Test::Nd::Grpc->run($gport, [
    { op => 'unary', type => 'ServerCheckRequest',
      body => { headers => {}, module => 'internal' } },
    { op => 'unary', type => 'HealthCheckRequest', body => {} },
    { op => 'bidi_open' },
    $setup,
    { op => 'sleep', ms => 150 },
    { op => 'unary', type => 'HealthCheckRequest', body => {} },
    { op => 'unary', type => 'NoSuchRequest', body => {} },
    { op => 'raw_unary', type => 'HealthCheckRequest', json => '{"a":' },
    { op => 'raw_unary', type => 'HealthCheckRequest', json => '[1,2]' },
    { op => 'raw_unary', hex => 'ffffffff0102' },
    { op => 'raw_unary', size => 70000 },
    { op => 'unary', type => 'HealthCheckRequest', body => {} },
]);
my $s = Test::Nd::Grpc->steps($out);

is($s->{0}{type}, 'ServerCheckResponse', 'ServerCheck answered');
like($s->{0}{body}{connectionId}, qr/^\d{13}_127\.0\.0\.1_\d+$/,
     'connection id is millis_ip_port');
is($s->{0}{body}{supportAbilityNegotiation}, JSON::PP::true,
   'ability negotiation offered (SetupAck: t/naming_grpc_persist.t)');
ok($s->{0}{body}{success} && $s->{0}{body}{resultCode} == 200
   && $s->{0}{body}{errorCode} == 0, 'success, resultCode, errorCode');

is($s->{1}{type}, 'ErrorResponse', 'request before setup: ErrorResponse');
is($s->{1}{body}{errorCode}, 301, 'errorCode 301');
is($s->{1}{body}{success}, JSON::PP::false, 'success false');

is($s->{5}{type}, 'HealthCheckResponse', 'after setup: HealthCheckResponse');
is($s->{6}{type}, 'ErrorResponse', 'unknown type: ErrorResponse');
is($s->{6}{body}{errorCode}, 302, 'unknown type: 302');
is($s->{7}{body}{errorCode}, 502, 'invalid JSON: 502');
is($s->{8}{body}{errorCode}, 502, 'JSON that is not an object: 502');
is($s->{9}{grpc_error}{code}, 13, 'invalid protobuf: grpc-status INTERNAL');
is($s->{10}{grpc_error}{code}, 8,
   'message over max_message_size: RESOURCE_EXHAUSTED');
is($s->{11}{type}, 'HealthCheckResponse',
   'the connection still works after each bad request');
is($out->[-1]{event}, 'done', 'client finished');

# the registered connection, as operators see it
my $hold = Test::Nd::Grpc->start($gport, [
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'bidi_open' }, $setup, { op => 'hold' } ]);
ok($hold->wait_line(sub ($l) { ($l->{op} // '') eq 'hold' }),
   'second client connected');
my $conns;
for (1 .. 50) {
    $conns = scalar $t->http_json('GET', '/nacos/v1/core/loader/current');
    last if $conns && %$conns;
    select(undef, undef, undef, 0.05);
}
my ($id) = keys %$conns;
is(scalar keys %$conns, 1, 'one registered connection listed');
my $m = $conns->{$id}{metaInfo};
is($m->{clientIp}, '10.1.2.3', 'client ip from the setup metadata');
is($m->{version}, 'Nacos-Java-Client:v2.5.1', 'client version');
is($m->{tenant}, 'dev', 'tenant');
is($m->{labels}{AppName}, 'order-svc', 'labels');

# garbage on the gRPC port: that connection is closed, nothing else
my $g = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$gport", Timeout => 3);
print $g "GET / HTTP/1.1\r\nHost: x\r\n\r\n" . ("\xff" x 100);
my $buf = '';
$g->blocking(1);
local $SIG{ALRM} = sub { die "timeout\n" };
alarm 5;
my $closed = eval { 1 while sysread($g, $buf, 4096, length $buf); 1 };
alarm 0;
ok($closed, 'garbage bytes: server closes the connection');

# a truncated gRPC frame, sent as raw HTTP/2 through nghttp
SKIP: {
    skip 'nghttp (nghttp2-client) not installed', 2
        if system('nghttp --version >/dev/null 2>&1') != 0;
    my $f = $t->testdir . '/trunc.bin';
    open my $fh, '>:raw', $f or die;
    print $fh "\0\0\0\0\x64" . ("x" x 10);        # says 100, has 10
    close $fh;
    my $res = `nghttp -v -d '$f' -H 'content-type: application/grpc' -H 'te: trailers' http://127.0.0.1:$gport/Request/request 2>&1`;
    like($res, qr/grpc-status: 13/, 'truncated frame: grpc-status 13');
    $res = `nghttp -v -d '$f' -H 'content-type: application/grpc' http://127.0.0.1:$gport/Other/method 2>&1`;
    like($res, qr/grpc-status: 12/, 'unknown method: grpc-status 12');
}

$out = Test::Nd::Grpc->run($gport, [
    { op => 'unary', type => 'ServerCheckRequest', body => {} } ]);
is(Test::Nd::Grpc->steps($out)->{0}{type}, 'ServerCheckResponse',
   'new connections still served after bad input');
ok($t->http_get('/nacos/v1/console/health/liveness')->{status} == 200,
   'HTTP still served');

$conns = scalar $t->http_json('GET', '/nacos/v1/core/loader/current');
ok(exists $conns->{$id}, 'the held connection is unaffected');

$hold->kill;
$t->done_testing;
