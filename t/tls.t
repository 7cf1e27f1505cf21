#!/usr/bin/perl
# TLS on the HTTP and SDK gRPC ports (ssl_certificate, ssl_certificate_key)
# with a self-signed certificate made by this test: curl and the harness
# speak HTTPS, a grpc-js client with TLS credentials sets up, registers
# and queries; a plain client on a TLS port gets nothing and the failed
# handshake is logged; a certificate without its key, or a key file that
# does not match, stops the conf test with a clear error.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;
use Test::Nd::Tls;

my $t = Test::Nd->new;
$t->has(qw/grpc naming/);
Test::Nd::Grpc->ensure_client;
system('curl --version >/dev/null 2>&1') == 0
    or (($ENV{CI} // '') eq 'true' ? BAIL_OUT('curl is needed')
                                    : plan(skip_all => 'curl is needed'));

my ($cert, $key) = Test::Nd::Tls->make($t->testdir);
my ($cert2, $key2) = Test::Nd::Tls->make($t->testdir, 'other');

$t->write_conf('nacosd.conf', $t->conf(
    http => "    ssl_certificate $cert;\n    ssl_certificate_key $key;",
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    ssl_certificate $cert;\n    ssl_certificate_key $key;\n}\n"));
$t->tls_ca($cert);
$t->run;                            # the harness itself: over TLS
my $port = $t->port;
my $gport = $t->port(9848);
my $base = "https://127.0.0.1:$port/nacos";

sub curl (@args) {
    my $out = `curl -s -S --max-time 10 --cacert '$cert' -w '\\n%{http_code}' @args 2>&1`;
    my ($body, $code) = $out =~ /\A(.*)\n(\d{3})\z/s;
    return ($code // 0, $body // $out);
}

my ($code, $body) = curl("'$base/v1/console/health/liveness'");
is($code, 200, 'curl https liveness: 200');
($code, $body) = curl('-X POST', "'$base/v1/ns/instance?serviceName=tls"
                      . "&ip=10.0.0.1&port=80'");
is_deeply([ $code, $body ], [ 200, 'ok' ], 'curl https register');

# a client that does not trust the certificate refuses it
my $out = `curl -s --max-time 10 -o /dev/null -w '%{http_code}' --cacert '$cert2' '$base/v1/console/health/liveness' 2>&1`;
is($out, '000', 'curl with another CA refuses the server');

# plain HTTP on the TLS port: no answer, the handshake error is logged
my $c = $t->connect(tls => undef);
$c->send("GET /nacos/v1/console/health/liveness HTTP/1.1\r\nHost: x\r\n\r\n");
ok($c->wait_closed(5), 'plain HTTP on the TLS port: closed');
unlike($c->buffer, qr/^HTTP/, 'without an HTTP answer');
ok($t->wait_for(5, sub { $t->error_log =~ /TLS handshake failed/ }),
   'the failed handshake is logged');

# ---- gRPC over TLS with grpc-js -----------------------------------------
my @setup = ({ op => 'unary', type => 'ServerCheckRequest', body => {} },
             { op => 'bidi_open' },
             { op => 'bidi_send', type => 'ConnectionSetupRequest',
               body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                         labels => { source => 'sdk' } } },
             { op => 'sleep', ms => 100 });
my $ref = { namespace => 'public', serviceName => 'tls',
            groupName => 'DEFAULT_GROUP', module => 'naming' };
my $lines = Test::Nd::Grpc->run($gport, [
    @setup,
    { op => 'unary', type => 'InstanceRequest',
      body => { %$ref, type => 'registerInstance',
                instance => { ip => '10.0.0.2', port => 80, weight => 1.0,
                              healthy => JSON::PP::true,
                              enabled => JSON::PP::true,
                              ephemeral => JSON::PP::true,
                              clusterName => 'DEFAULT', metadata => {} } } },
    { op => 'unary', type => 'ServiceQueryRequest',
      body => { %$ref, cluster => '', healthyOnly => JSON::PP::false,
                udpPort => 0 } } ], tls_ca => $cert);
my $s = Test::Nd::Grpc->steps($lines);
is($s->{0}{type}, 'ServerCheckResponse', 'grpc-js over TLS: ServerCheck');
is($s->{4}{type}, 'InstanceResponse', 'grpc-js over TLS: register');
is(join(',', sort map { "$_->{ip}:$_->{port}" }
        @{ $s->{5}{body}{serviceInfo}{hosts} // [] }),
   '10.0.0.1:80,10.0.0.2:80', 'grpc-js over TLS: query sees both');

$lines = Test::Nd::Grpc->run($gport, [
    { op => 'unary', type => 'ServerCheckRequest', body => {} } ]);
$s = Test::Nd::Grpc->steps($lines);
ok($s->{0}{grpc_error}, 'grpc-js without TLS on the TLS port: an error')
    or diag(explain($s->{0}));

# ---- conf errors ------------------------------------------------------------
for my $case ([ "ssl_certificate $cert;", 'go together' ],
              [ "ssl_certificate $cert;\n    ssl_certificate_key $key2;",
                "cannot load \Q$key2\E" ],
              [ "ssl_certificate $t->{dir}/none.crt;\n"
                . "    ssl_certificate_key $key;", 'cannot load' ])
{
    my $bad = Test::Nd->new;
    $bad->write_conf('nacosd.conf', $bad->conf(http => "    $case->[0]"));
    my ($rc, $msg) = $bad->run_binary('-t', '-p', $bad->testdir . '/',
                                      '-c', $bad->conf_path);
    isnt($rc, 0, "conf test fails: $case->[0]");
    like($msg, qr/$case->[1]/, 'with a clear message');
}

$t->done_testing;
