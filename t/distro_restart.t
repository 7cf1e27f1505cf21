# Distro across restarts and a crash, three real nodes, 300 ephemeral
# instances from six gRPC connections (three on node 1, three on node 3,
# one batch of 50 each):
#   - node 2 restarted: readiness answers 503 until the snapshot from a
#     peer is loaded; the first time it answers 200 node 2 already lists
#     all 300 (a restart never serves an empty registry);
#   - node 1 killed with SIGKILL: nodes 2 and 3 keep its clients'
#     instances as synced copies until synced_expire, then drop them;
#   - those clients reconnected to node 2: listed by every node again;
#   - node 1 back: ready with all 300; after two more synced_expire
#     periods every node still lists each of the 300 exactly once.
#
# synced_expire and verify_interval are shortened through the conf; every
# wait is bounded by several of them.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Test::Nd;
use Test::Nd::Distro;

my $EXPIRE = 6;             # s, synced_expire below
my $SYNC = 30;              # s: 300 instances, replication in ms; generous
my $READY = 30;             # s: snapshot from a peer, then ready

my $d = Test::Nd::Distro->new(
    distro => "synced_expire ${EXPIRE}s;\n    verify_interval 1s;");
$d->start or exit 0;

my $svc = 'drestart';
my $PER = 50;

sub pairs_of ($c) { map { [ "10.51.$c.$_", 6000 + $_ ] } 1 .. $PER }
sub addrs_of (@c) { map { my $c = $_; map { "$_->[0]:$_->[1]" } pairs_of($c) } @c }

my @on1 = (1, 2, 3);     # connections on node 1
my @on3 = (4, 5, 6);     # connections on node 3
my @all = addrs_of(@on1, @on3);

my %client;
for my $c (@on1, @on3) {
    $client{$c} = $d->client($c <= 3 ? 1 : 3,
                             $d->batch($svc, pairs_of($c)), { op => 'hold' });
}
$d->step_ok($client{$_}, 4, "connection $_: batch of $PER registered")
    for @on1, @on3;
$d->converged($svc, \@all, $SYNC, '300 instances listed by every node');

# ---- node 2 restarted: not ready until it holds the snapshot --------------

$d->cl->stop(2);
my $t2 = $d->node(2);
$t2->run;                              # answers liveness
my (@codes, $first);
my $ready = $d->cl->wait_for($READY, sub {
    my $r = $t2->http_get('/nacos/v1/console/health/readiness', timeout => 5);
    push @codes, $r->{status};
    return 0 unless $r->{status} == 200;
    $first = $d->addrs(2, $svc);       # right after the first 200
    return 1;
});
ok($ready, "restarted node 2 ready within $READY s")
    or diag(explain(\@codes));
my %seen;
$seen{$_}++ for @codes;
note('readiness answers before ready: '
     . join(', ', map { "$_ x$seen{$_}" } sort keys %seen));
ok(!grep({ $_ != 503 && $_ != 200 } @codes),
   'readiness answered only 503 until 200')
    or diag(explain(\%seen));
ok($first && join(',', @$first) eq join(',', sort @all),
   'the first time node 2 is ready it lists all 300, each once')
    or $d->diag_state($svc, \@all, 2);
$d->converged($svc, \@all, $SYNC, 'and every node still lists all 300');

# ---- node 1 killed: its clients' copies expire after synced_expire ---------

$d->cl->kill9(1);
my $killed = time;
ok($d->same($svc, \@all, 2, 3),
   'right after the kill nodes 2 and 3 still list node 1\'s instances '
   . '(synced copies live until synced_expire)')
    or $d->diag_state($svc, \@all, 2, 3);
$d->converged($svc, [ addrs_of(@on3) ], 5 * $EXPIRE,
              "node 1 killed: its clients' instances gone from nodes 2 and 3 "
              . 'after synced_expire', 2, 3);
note(sprintf 'gone %.1f s after the kill (synced_expire %d s)',
     time - $killed, $EXPIRE);
$client{$_}->kill for @on1;

# ---- the same clients reconnect to node 2 ----------------------------------

for my $c (@on1) {
    $client{$c} = $d->client(2, $d->batch($svc, pairs_of($c)),
                             { op => 'hold' });
}
$d->step_ok($client{$_}, 4, "connection $_ again, on node 2: registered")
    for @on1;
$d->converged($svc, \@all, $SYNC,
              'reconnected to node 2: all 300 on nodes 2 and 3', 2, 3);

# ---- node 1 back; nothing lost, nothing duplicated, nothing expires --------

my $t1 = $d->node(1);
$t1->run;
ok($t1->wait_ready($READY), "node 1 restarted and ready within $READY s");
ok($d->same($svc, \@all, 1), 'node 1 lists all 300 once ready')
    or $d->diag_state($svc, \@all, 1);
$d->converged($svc, \@all, $SYNC, 'all 300 on every node');

# two synced_expire periods: the copies are renewed by verify, so none
# expires, and nothing is added twice
my @bad;
my $until = time + 2 * $EXPIRE;
while (time < $until) {
    for my $i (1 .. 3) {
        push @bad, sprintf('%.1f s: node %d', time - $until + 2 * $EXPIRE, $i)
            unless $d->same($svc, \@all, $i);
    }
    Time::HiRes::sleep(0.5);
}
ok(!@bad, "for two synced_expire periods every node lists each of the 300 "
          . 'exactly once') or do {
    diag("@bad[0 .. ($#bad > 10 ? 10 : $#bad)]");
    $d->diag_state($svc, \@all);
};

$d->done_testing;
