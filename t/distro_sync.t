# Distro on three real nodes, gRPC (2.x) clients: an instance registered
# on node 1 is listed by nodes 2 and 3 and pushed to a gRPC subscriber on
# node 3; deregistered, it is gone everywhere; a closed connection, and a
# silent one (TCP open, ClientDetectionRequest unanswered) take their
# instances off every node.  Registrations on every node reach every node.
#
# The probe times are shortened through the conf; every wait is bounded by
# many rounds of them (replication itself is typically milliseconds).

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Distro;

my $SYNC = 10;        # seconds: replication is milliseconds, this is generous
my $PROBE = 20;       # idle_probe 2s + probe_interval 1s + probe_timeout 1s,
                      # then replication: many rounds

my $d = Test::Nd::Distro->new(
    grpc => "idle_probe 2s;\n    probe_interval 1s;\n    probe_timeout 1s;");
$d->start or exit 0;

my $svc = 'dsync';

# ---- a subscriber on node 3 ----------------------------------------------------

my $sub = $d->client(3, $d->subscribe($svc), { op => 'hold' });
$d->step_ok($sub, 4, 'node 3: subscribed (SubscribeServiceResponse 200)');
# the push that follows a subscribe (empty service)
ok($d->wait_push($sub, [], 0, $SYNC), 'node 3 subscriber: first (empty) push');

# ---- register on node 1: seen by every node, pushed on node 3 ------------------

my ($g1, $open1) = $d->gate;
my ($g2, $open2) = $d->gate;
my ($g3, $open3) = $d->gate;
my $pub = $d->client(1,
    $d->reg($svc, '10.31.0.1', 8001),                   # 4
    $g1,                                                # 5
    $d->dereg($svc, '10.31.0.1', 8001),                 # 6
    $g2,                                                # 7
    $d->reg($svc, '10.31.0.2', 8002),                   # 8
    $g3);                                               # 9, then it closes
$d->step_ok($pub, 4, 'node 1: gRPC register answered 200');

$d->converged($svc, [ '10.31.0.1:8001' ], $SYNC,
              'registered on node 1: listed by nodes 1, 2 and 3');
my $n = @{ $d->pushes($sub) };
my $p = $d->wait_push($sub, [ '10.31.0.1:8001' ], 0, $SYNC);
ok($p, 'node 3 subscriber pushed the instance registered on node 1')
    or diag(explain($d->pushes($sub)));
is($p && $p->{serviceInfo}{name}, $svc, 'push: the service name');
is($p && $p->{serviceInfo}{hosts}[0]{serviceName}, "DEFAULT_GROUP\@\@$svc",
   'push: instance serviceName grouped');

# ---- deregister: gone everywhere, pushed ---------------------------------------

$n = @{ $d->pushes($sub) };
$open1->();
$d->step_ok($pub, 6, 'node 1: gRPC deregister answered 200');
$d->converged($svc, [], $SYNC, 'deregistered on node 1: gone from every node');
ok($d->wait_push($sub, [], $n, $SYNC),
   'node 3 subscriber pushed the empty service');

# ---- register again, close the connection: gone everywhere ---------------------

$open2->();
$d->step_ok($pub, 8, 'node 1: registered again');
$d->converged($svc, [ '10.31.0.2:8002' ], $SYNC,
              'registered again: listed by every node');
$n = @{ $d->pushes($sub) };
$open3->();
ok($pub->wait_line(sub ($l) { ($l->{event} // '') eq 'done' }, $SYNC),
   'node 1 client closed its connection');
$d->converged($svc, [], $SYNC, 'closed connection: gone from every node');
ok($d->wait_push($sub, [], $n, $SYNC),
   'node 3 subscriber pushed the removal');

# ---- every node to every node ----------------------------------------------------

my %want;
my @pubs;
for my $i (1 .. 3) {
    push @pubs, $d->client($i, $d->reg("${svc}-all", "10.32.0.$i", 8100 + $i),
                           { op => 'hold' });
    $want{$i} = "10.32.0.$i:" . (8100 + $i);
}
$d->step_ok($pubs[$_ - 1], 4, "node $_: registered into ${svc}-all") for 1 .. 3;
$d->converged("${svc}-all", [ values %want ], $SYNC,
              'one instance registered on each node: all three on every node');
# a killed client (TCP gone without a goodbye)
$pubs[1]->kill('KILL');
$d->converged("${svc}-all", [ @want{1, 3} ], $SYNC,
              'client on node 2 killed: its instance gone from every node');

# ---- a silent client: unregistered by the probe, gone everywhere ---------------

$n = @{ $d->pushes($sub) };
my $sil = $d->client(2, $d->reg($svc, '10.31.0.3', 8003),
                     { op => 'silent', value => 1 }, { op => 'hold' });
$d->step_ok($sil, 4, 'node 2: the silent-to-be client registered');
# it registered and fell silent at once: its instance may already be on
# its way out, so it is looked for on node 3's push stream, not polled
ok($d->wait_push($sub, [ '10.31.0.3:8003' ], $n, $SYNC),
   'node 3 subscriber pushed the instance of the client on node 2');
$d->converged($svc, [], $PROBE,
              'silent client (probe unanswered): gone from every node');
ok(kill(0, $sil->{pid}), 'the silent client process still runs (its '
                         . 'instance went with the probe, not with its exit)');
like($d->node(2)->error_log, qr/ClientDetectionRequest/,
     'node 2 logged the unanswered probe');
ok(!grep({ ($_->{event} // '') =~ /^stream_(?:end|error)$/ } @{ $sub->lines }),
   'the answering subscriber on node 3 kept its stream');
$d->converged("${svc}-all", [ @want{1, 3} ], $SYNC,
              'the answering clients kept their instances everywhere');

$d->done_testing;
