# The cluster RPC port (HTTP + 1001) under bad input, on a real gRPC stack
# (grpc-js, t/grpc) and in raw HTTP/2 frames: SDK request types are
# refused there and cluster-only types on the SDK port, with an
# ErrorResponse on a connection that stays usable; unknown types too;
# garbage and broken frames end that connection only; an oversized
# message is an error.  Two real nodes, so "other connections unaffected"
# includes the nodes' own cluster links.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use Test::Nd;
use Test::Nd::Cluster;
use Test::Nd::Grpc;
use Test::Nd::H2;

my $ROUNDS = 20;

my $cl = Test::Nd::Cluster->new(
    nodes => 2,
    conf  => { cluster => "report_interval 500ms;\n"
                        . "    unhealthy_report_interval 1s;",
               extra => "grpc {\n    max_message_size 1m;\n}\n" });
Test::Nd::Grpc->ensure_client;

if (!ok($cl->start_all, 'two nodes started and ready')) {
    $cl->done_testing;
    exit 1;
}
ok($cl->wait_all_up($ROUNDS), 'both nodes see both UP') or $cl->diag_views;

my $t = $cl->node(1);
my $cport = $t->port(9849);
my $sport = $t->port(9848);
my %E = %Test::Nd::H2::ERR;

my $probe = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$cport",
                                  Proto => 'tcp', Timeout => 3);
if (!ok($probe, "the cluster RPC port listens on HTTP + 1001 ($cport)")) {
    $cl->done_testing;
    exit 1;
}
close $probe;

sub refused ($s, $what) {
    my $b = $s->{body} // {};
    ok(($s->{type} // '') eq 'ErrorResponse' && ($b->{resultCode} // 200) != 200
       && ($b->{errorCode} // 0) != 0,
       "$what: ErrorResponse, resultCode not 200, errorCode set")
        or diag(explain($s));
}

my $member = { ip => '127.0.0.1', port => $cl->node(2)->port,
               address => $cl->addr(2), state => 'UP', extendInfo => {},
               failAccessCnt => 0, abilities => {} };
my $instance = { namespace => 'public', serviceName => 'cluster-rpc-svc',
                 groupName => 'DEFAULT_GROUP', module => 'naming',
                 type => 'registerInstance',
                 instance => { ip => '10.9.9.9', port => 9999, weight => 1.0,
                               healthy => JSON::PP::true,
                               enabled => JSON::PP::true,
                               ephemeral => JSON::PP::true,
                               clusterName => 'DEFAULT', metadata => {} } };

# a held raw HTTP/2 connection to the cluster port, made before the bad
# input, must be unaffected by it
my $held = Test::Nd::H2->new($cport);
$held->call(1, 'ServerCheckRequest');
is($held->response(1)->{message}{type}, 'ServerCheckResponse',
   'cluster port, raw HTTP/2: ServerCheckRequest answered');

# ---- SDK types on the cluster port ---------------------------------------------

# held open at the end: an ephemeral instance would live as long as its
# connection, so a registration is looked for while it is open
my $g = Test::Nd::Grpc->start($cport, [
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'bidi_open' },
    { op => 'bidi_send', type => 'ConnectionSetupRequest',
      body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                labels => { source => 'cluster' } } },
    { op => 'sleep', ms => 100 },
    { op => 'unary', type => 'InstanceRequest', body => $instance },
    { op => 'unary', type => 'ConfigQueryRequest',
      body => { dataId => 'a.yaml', group => 'DEFAULT_GROUP', tenant => '' } },
    { op => 'unary', type => 'NoSuchClusterRequest', body => {} },
    { op => 'unary', type => 'ServerCheckRequest',
      body => { pad => 'x' x (12 << 20) } },
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'hold' },
]);
ok($g->wait_line(sub ($l) { ($l->{op} // '') eq 'hold' }, 60),
   'cluster port, grpc-js: every step answered');
my $s = Test::Nd::Grpc->steps($g->lines);
is($s->{0}{type}, 'ServerCheckResponse',
   'cluster port, grpc-js: ServerCheckRequest answered');
refused($s->{4}, 'InstanceRequest on the cluster port');
refused($s->{5}, 'ConfigQueryRequest on the cluster port');
refused($s->{6}, 'an unknown type on the cluster port');
ok(defined $s->{7}{grpc_error} || ($s->{7}{type} // '') eq 'ErrorResponse',
   'a 12 MiB message on the cluster port: an error')
    or diag(explain($s->{7}));
is($s->{8}{type}, 'ServerCheckResponse',
   'the connection is still usable after each of them');

SKIP: {
    skip 'no naming module', 1 unless $t->has_module('naming');
    my ($j) = $t->http_json('GET', '/nacos/v1/ns/instance/list?serviceName='
                                   . 'cluster-rpc-svc');
    ok(!grep({ ($_->{ip} // '') eq '10.9.9.9' } @{ $j->{hosts} // [] }),
       'the refused InstanceRequest registered nothing');
}
$g->kill;

# ---- a cluster-only type on the SDK port ------------------------------------------

my $out = Test::Nd::Grpc->run($sport, [
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'bidi_open' },
    { op => 'bidi_send', type => 'ConnectionSetupRequest',
      body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                labels => { source => 'sdk', module => 'naming' } } },
    { op => 'sleep', ms => 100 },
    { op => 'unary', type => 'HealthCheckRequest', body => {} },
    { op => 'unary', type => 'MemberReportRequest',
      body => { node => $member } },
    { op => 'unary', type => 'HealthCheckRequest', body => {} },
]);
$s = Test::Nd::Grpc->steps($out);
is($s->{4}{type}, 'HealthCheckResponse', 'SDK port: set up');
refused($s->{5}, 'MemberReportRequest on the SDK port');
is($s->{6}{type}, 'HealthCheckResponse',
   'SDK port: the connection is still usable');

# ---- garbage and broken frames on the cluster port ---------------------------------

{
    my $c = Test::Nd::H2->new($cport, raw => 1);
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n" . ("\xff" x 100));
    ok($c->closed, 'garbage bytes: the connection is closed');
}

sub frame { Test::Nd::H2::frame_bytes(@_) }
my $pre = Test::Nd::H2::PREFACE . frame('SETTINGS', 0, 0);
my $req = Test::Nd::H2::request_block();

for my $case (
    [ 'first frame not SETTINGS', Test::Nd::H2::PREFACE,
      frame('PING', 0, 0, 'x' x 8) ],
    [ 'HEADERS on stream 0', $pre, frame('HEADERS', 0x5, 0, $req) ],
    [ 'HPACK index past the tables', $pre, frame('HEADERS', 0x5, 1, "\xbe") ],
    [ 'DATA on an idle stream', $pre, frame('DATA', 0, 1, 'xx') ],
    [ 'frame over 16384', $pre, frame(0xfa, 0, 0, 'x' x 16385) ],
) {
    my ($what, @bytes) = @$case;
    my $c = Test::Nd::H2->new($cport, raw => 1);
    $c->send(join '', @bytes);
    my $code = $c->goaway;
    ok(defined $code && $code != $E{NO_ERROR}, "$what: GOAWAY with an error")
        or diag('GOAWAY code: ' . ($code // 'none'));
    ok($c->closed, "$what: connection closed");
}

# ---- nothing else was hurt ---------------------------------------------------------

ok($t->running, 'node 1 still runs');
$held->call(3, 'ServerCheckRequest');
is($held->response(3)->{message}{type}, 'ServerCheckResponse',
   'the held cluster-port connection is unaffected');
my $fresh = Test::Nd::H2->new($cport);
$fresh->call(1, 'ServerCheckRequest');
is($fresh->response(1)->{message}{type}, 'ServerCheckResponse',
   'a new cluster-port connection is served');
$out = Test::Nd::Grpc->run($sport, [
    { op => 'unary', type => 'ServerCheckRequest', body => {} } ]);
is(Test::Nd::Grpc->steps($out)->{0}{type}, 'ServerCheckResponse',
   'the SDK port still serves');
is($t->http_get('/nacos/v1/console/health/liveness')->{status}, 200,
   'HTTP still serves');
ok($cl->wait_all_up($ROUNDS), 'the nodes still see each other UP')
    or $cl->diag_views;

$held->close;
$fresh->close;
$cl->done_testing;
