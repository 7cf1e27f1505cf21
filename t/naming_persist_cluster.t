# Persistent instances (ephemeral=false) on three real nodes sharing one
# PostgreSQL: a write through any node reaches every node's memory and a
# subscriber on another node is pushed the change.
#
# First cluster, persistent_sync 0 (no periodic rounds): what a commit's
# NamingPersistentSyncRequest makes the other members read is all they
# get.  Registers, updates (weight, metadata), deregisters, a second
# namespace, writes on two nodes at once, and a node killed with -9 that
# misses writes and has them after its restart.  Ephemeral instances of
# the same nodes are left alone.
#
# Second cluster, the shipped persistent_sync (1 s), every cluster link
# through a proxy: with node 3 cut from the others (the database still
# reachable) their writes reach it by its periodic round alone.  Then
# PostgreSQL is stopped: the rounds fail and every node keeps what it
# lists; once it is back a write reaches every node again.
#
# Every wait is bounded by $SYNC, far above a round trip and a round.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use POSIX ();
use Test::Nd;
use Test::Nd::Distro;

my $SYNC = 15;          # s; the sync runs every second
my $NS = '/nacos/v1/ns';
my $svc = 'psvc';

my $d = Test::Nd::Distro->new(naming => 'persistent_sync 0;');
$d->start or exit 0;
my $cl = $d->cl;

sub esc ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }

sub write_ok ($i, $method, $q, $what) {
    my $r = $d->node($i)->http_req($method, "$NS/instance?$q");
    ok($r->{status} == 200 && $r->{body} eq 'ok', $what)
        or diag("$r->{status} $r->{body}");
}

sub reg ($i, $ip, $port, %o) {
    my $q = "serviceName=$svc&ip=$ip&port=$port&ephemeral=false";
    $q .= "&$_=" . esc($o{$_}) for sort keys %o;
    write_ok($i, 'POST', $q, "node $i: persistent $ip:$port registered");
}

# node $i's host $addr of $svc (namespace $ns), or undef
sub host ($i, $addr, $ns = '') {
    my ($j, $r) = $d->node($i)->http_json('GET', "$NS/instance/list?"
        . "serviceName=$svc" . ($ns ne '' ? "&namespaceId=$ns" : ''),
        timeout => 5);
    return undef unless $r->{status} == 200 && ref $j->{hosts} eq 'ARRAY';
    my ($h) = grep { "$_->{ip}:$_->{port}" eq $addr } @{ $j->{hosts} };
    return $h;
}

# ---- a subscriber on node 3, a register through node 1 --------------------

my ($gate, $open) = $d->gate;
my $sub = $d->client(3, $d->subscribe($svc), $gate);
$d->step_ok($sub, 4, 'node 3: subscribed');

reg(1, '10.51.0.1', 8001, weight => 2, metadata => '{"k":"v1"}');
$d->converged($svc, ['10.51.0.1:8001'], $SYNC,
              'the instance written through node 1 is listed by every node');

my $p = $d->wait_push($sub, ['10.51.0.1:8001'], 0, $SYNC);
ok($p, 'the subscriber on node 3 is pushed the instance');

my $h = host(2, '10.51.0.1:8001');
ok($h && $h->{weight} == 2 && ($h->{metadata}{k} // '') eq 'v1'
   && $h->{healthy} && $h->{enabled} && !$h->{ephemeral},
   'node 2 holds its weight, metadata and flags')
    or diag(explain($h));

# ---- an update through node 2 ---------------------------------------------

write_ok(2, 'PUT', "serviceName=$svc&ip=10.51.0.1&port=8001&ephemeral=false"
                   . "&weight=5&metadata=" . esc('{"k":"v2"}'),
         'node 2: weight and metadata updated');
for my $i (1, 3) {
    ok($cl->wait_for($SYNC, sub {
           my $x = host($i, '10.51.0.1:8001');
           $x && $x->{weight} == 5 && ($x->{metadata}{k} // '') eq 'v2' }),
       "node $i: the update arrives");
}

# ---- writes through two nodes at once, an ephemeral service beside --------

reg(2, '10.51.0.2', 8002);
reg(3, '10.51.0.3', 8003);
# never beaten: timeouts past the test's length
my $keep = esc('{"preserved.heart.beat.timeout":"600000",'
               . '"preserved.ip.delete.timeout":"600000"}');
my $eph = $d->node(2)->http_req('POST', "$NS/instance?serviceName=$svc-e"
                                       . "&ip=10.51.1.1&port=9001"
                                       . "&metadata=$keep");
is($eph->{status}, 200, 'node 2: an ephemeral instance in another service');
my @all = ('10.51.0.1:8001', '10.51.0.2:8002', '10.51.0.3:8003');
$d->converged($svc, \@all, $SYNC,
              'every node lists the writes of nodes 2 and 3');

# ---- a deregister through node 2 -------------------------------------------

write_ok(2, 'DELETE', "serviceName=$svc&ip=10.51.0.1&port=8001"
                      . "&ephemeral=false", 'node 2: deregistered');
@all = grep { $_ ne '10.51.0.1:8001' } @all;
$d->converged($svc, \@all, $SYNC, 'the deregistered instance leaves every '
              . 'node, the others stay');
ok($d->wait_push($sub, \@all, 1, $SYNC),
   'the subscriber on node 3 is pushed the list without it');

# ---- one instance updated through two nodes at once -------------------------

reg(1, '10.51.3.1', 8201);
$d->converged($svc, [@all, '10.51.3.1:8201'], $SYNC,
              'a fourth instance listed by every node');
{
    my @pids;
    for my $k (1 .. 20) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $i = $k % 2 ? 1 : 2;
            $d->node($i)->http_req('PUT', "$NS/instance?serviceName=$svc"
                . "&ip=10.51.3.1&port=8201&ephemeral=false&weight=$k");
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid($_, 0) for @pids;
}
my $w = $cl->pg->psql("SELECT weight FROM naming_instance "
                      . "WHERE ip = '10.51.3.1' AND port = 8201");
ok($w =~ /^\d+$/, "the table holds the last of 20 concurrent updates "
   . "(weight $w)");
ok($cl->wait_for($SYNC, sub {
       my @ws = map { my $x = host($_, '10.51.3.1:8201'); $x ? $x->{weight} : -1 }
                1 .. 3;
       !grep { $_ != $w } @ws }),
   'every node holds the table\'s weight after 20 updates through nodes 1 '
   . 'and 2 at once')
    or diag(explain([ map { host($_, '10.51.3.1:8201') } 1 .. 3 ]));
write_ok(1, 'DELETE', "serviceName=$svc&ip=10.51.3.1&port=8201"
                      . "&ephemeral=false", 'node 1: the fourth deregistered');
$d->converged($svc, \@all, $SYNC, 'and it leaves every node');

# ---- another namespace -----------------------------------------------------

write_ok(1, 'POST', "serviceName=$svc&ip=10.51.2.1&port=8101"
                    . "&ephemeral=false&namespaceId=ns-p",
         'node 1: persistent instance in namespace ns-p');
ok($cl->wait_for($SYNC, sub { host(2, '10.51.2.1:8101', 'ns-p')
                              && host(3, '10.51.2.1:8101', 'ns-p') }),
   'nodes 2 and 3 list it in ns-p');
ok(!host(2, '10.51.2.1:8101'), '... and not in public');

# ---- node 3 killed: it misses writes, and has them after its restart -------

$cl->kill9(3);
reg(1, '10.51.0.9', 8009);
write_ok(2, 'DELETE', "serviceName=$svc&ip=10.51.0.3&port=8003"
                      . "&ephemeral=false",
         'node 2: deregistered what node 3 had written');
@all = ((grep { $_ ne '10.51.0.3:8003' } @all), '10.51.0.9:8009');
$d->converged($svc, \@all, $SYNC, 'nodes 1 and 2 agree while 3 is down',
              1, 2);
ok($cl->restart(3), 'node 3 restarted after kill -9');
ok($cl->wait_all_up(20), 'every node sees every member UP again');
$d->converged($svc, \@all, $SYNC, 'node 3 holds every change it missed');
$d->converged("$svc-e", ['10.51.1.1:9001'], $SYNC,
              'the ephemeral instance stayed through every sync');

# and it keeps following
write_ok(3, 'DELETE', "serviceName=$svc&ip=10.51.0.9&port=8009"
                      . "&ephemeral=false", 'node 3: deregistered');
@all = grep { $_ ne '10.51.0.9:8009' } @all;
$d->converged($svc, \@all, $SYNC, 'the restarted node\'s write reaches '
              . 'the others');

$open->();
$_->kill for grep { $_->{pid} } @{ $d->{clients} };
$cl->teardown;

# ---- the periodic round: node 3 cut from the other members -------------------

$d = Test::Nd::Distro->new(proxy => 1);
$d->start or exit 0;
$cl = $d->cl;

reg(1, '10.52.0.1', 8001);
$d->converged($svc, ['10.52.0.1:8001'], $SYNC,
              'second cluster: the first write is listed by every node');

$cl->cut(1, 3);
$cl->cut(2, 3);
reg(1, '10.52.0.2', 8002);
write_ok(2, 'DELETE', "serviceName=$svc&ip=10.52.0.1&port=8001"
                      . "&ephemeral=false", 'node 2: deregistered');
$d->converged($svc, ['10.52.0.2:8002'], $SYNC,
              'node 3, cut from nodes 1 and 2, follows their writes by its '
              . 'own rounds');
$cl->heal(1, 3);
$cl->heal(2, 3);

# ---- the database down: rounds fail, memory stays; then they catch up -------

$cl->pg->stop('fast');
ok($cl->wait_for($SYNC, sub {
       $d->node(3)->error_log =~ /naming: persistent sync: / }),
   'node 3: a round failed while PostgreSQL is down');
$d->converged($svc, ['10.52.0.2:8002'], $SYNC,
              'every node still lists the instance (a failed round removes '
              . 'nothing)');
$cl->pg->start;
ok($cl->wait_for($SYNC, sub {
       $d->node(2)->http_req('POST', "$NS/instance?serviceName=$svc"
                             . "&ip=10.52.0.3&port=8003&ephemeral=false")
           ->{status} == 200 }),
   'node 2: a persistent register once PostgreSQL is back');
$d->converged($svc, ['10.52.0.2:8002', '10.52.0.3:8003'], $SYNC,
              'every node follows again');

$d->done_testing;
