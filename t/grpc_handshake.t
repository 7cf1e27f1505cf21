#!/usr/bin/perl
# A connection that never finishes its handshake is closed after
# handshake_timeout (checked every probe_interval): on the SDK port one
# that sends nothing, or the HTTP/2 preface but no ConnectionSetupRequest;
# on the cluster port one that never completes the preface and SETTINGS.
# A registered connection is not touched.  Before, such connections stayed
# open for ever and enough of them ran the server out of descriptors.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::H2;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has('grpc');
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    handshake_timeout 1s;\n    probe_interval 200ms;\n}\n"));
$t->run;
my $port = $t->port(9848);

# the bound: the timeout, one probe interval, and room for a slow host
my $BOUND = 8;

my $silent = Test::Nd::H2->new($port, raw => 1);
my $no_setup = Test::Nd::H2->new($port);
$no_setup->call(1, 'ServerCheckRequest');
ok($no_setup->response(1), 'preface and a ServerCheck answered');

# a real client that sets up and stays
my $g = Test::Nd::Grpc->start($port, [
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'bidi_open' },
    { op => 'bidi_send', type => 'ConnectionSetupRequest',
      body => { clientVersion => 'Nacos-Java-Client:v2.5.1', labels => {} } },
    { op => 'sleep', ms => 2500 },
    { op => 'unary', type => 'HealthCheckRequest', body => {} },
    { op => 'hold' } ]);

ok($silent->closed($BOUND), 'a connection that sent nothing: closed');
ok($no_setup->closed($BOUND),
   'a connection without ConnectionSetupRequest: closed');

my $l = $g->wait_line(sub ($x) { ($x->{step} // -1) == 4 }, 20);
ok($l && ($l->{type} // '') eq 'HealthCheckResponse',
   'a registered connection still answers after the timeout')
    or diag(explain($l));
$g->kill;

like($t->error_log, qr/no handshake within handshake_timeout/,
     'the closes are logged');

$t->done_testing;
