# A graceful stop sends what Distro queued before it goes: registrations
# node 1 answered while its peers could not take the sync (nodes 2 and 3
# paused with SIGSTOP) reach them when they resume during node 1's stop.
# Before, the stop closed the peer connections at once and those syncs
# were lost with the node (the copies appeared only when the clients
# registered again elsewhere).
#
# verify_interval 20 s and synced_expire 60 s: neither a verify nor an
# expiry happens within the test, so what nodes 2 and 3 hold came by the
# syncs.  Node 1 exits 0 with clean logs.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Distro;

my $WAIT = 15;
my $d = Test::Nd::Distro->new(distro => "synced_expire 60s;\n"
                                        . "    verify_interval 20s;");
$d->start or exit 0;
my $cl = $d->cl;
my $svc = 'ddrain';

my $a = $d->client(1, $d->reg($svc, '10.9.0.1', 1), { op => 'hold' });
$d->step_ok($a, 4, 'A registered on node 1');
$d->converged($svc, ['10.9.0.1:1'], $WAIT, 'A listed by every node');

# B and C (one client's batch) registered while nodes 2 and 3 cannot
# answer the syncs
my ($gate, $open) = $d->gate;
my $b = $d->client(1, $gate, $d->batch($svc, ['10.9.0.2', 2], ['10.9.0.3', 3]),
                   { op => 'hold' });
sleep 1;                    # its handshake done, it waits at the gate
$d->node($_)->signal('STOP') for 2, 3;
$open->();
$d->step_ok($b, 5, 'B and C registered on node 1 (its peers paused)');

# the stop begins while they are paused; they resume during it
$d->node(1)->signal('TERM');
select(undef, undef, undef, 0.2);
$d->node($_)->signal('CONT') for 2, 3;
is($d->node(1)->wait_exit($WAIT), 0, 'node 1 stopped: exit 0');

my @want = ('10.9.0.1:1', '10.9.0.2:2', '10.9.0.3:3');
$d->converged($svc, \@want, $WAIT, 'nodes 2 and 3 hold every instance '
              . 'node 1 answered before its stop', 2, 3);

$_->kill for grep { $_->{pid} } @{ $d->{clients} };
$d->done_testing;
