#!/usr/bin/perl
# Metrics of a 2-node cluster (one private PostgreSQL): member states,
# cluster RPC calls per peer, Distro batches sent by the owner and
# received and applied by the peer, the synced instance in the peer's
# ipCount; a member stopped turns DOWN (or SUSPICIOUS) in the other's
# nacosd_cluster_member_state and its calls fail.  Every scrape is read
# by promtool and the prometheus_client parser (Test::Nd::Metrics).

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Distro;
use Test::Nd::Metrics;

Test::Nd::Metrics->need;

my $d = Test::Nd::Distro->new(nodes => 2);
$d->start or exit 0;
my ($n1, $n2) = ($d->node(1), $d->node(2));
my ($a1, $a2) = ($d->cl->addr(1), $d->cl->addr(2));

sub scrape ($i, $what) { Test::Nd::Metrics::scrape($d->node($i), $what) }
sub state_of ($m, $member, $state) {
    $m->{qq(nacosd_cluster_member_state{member="$member",state="$state"})};
}

my $m1 = scrape(1, 'node 1, all UP');
is(state_of($m1, $_, 'UP'), 1, "node 1 sees $_ UP") for $a1, $a2;
is(state_of($m1, $a2, 'DOWN'), 0, 'and not DOWN');
cmp_ok($m1->{qq(nacosd_cluster_messages_answered_total{peer="$a2"})}, '>', 0,
       'node 1: its member reports to node 2 are answered');

# a gRPC client of node 1 registers: node 1 owns it and syncs it to node 2
my $c = $d->client(1, $d->reg('msvc', '10.40.0.1', 8001), { op => 'hold' });
$d->step_ok($c, 4, 'node 1: registered over gRPC');
$d->converged('msvc', [ '10.40.0.1:8001' ], 10, 'synced to node 2');

my $m1b = scrape(1, 'node 1 after a registration');
my $m2 = scrape(2, 'node 2 after the sync');
cmp_ok($m1b->{qq(nacosd_distro_batches_sent_total{peer="$a2"})}, '>=', 1,
       'node 1: a Distro batch sent to node 2');
is($m1b->{qq(nacosd_distro_queue_length{peer="$a2"})}, 0,
   'node 1: nothing left queued for node 2');
cmp_ok($m1b->{qq(nacosd_cluster_messages_sent_total{peer="$a2"})}, '>',
       $m1->{qq(nacosd_cluster_messages_sent_total{peer="$a2"})},
       'node 1: more cluster calls to node 2');
cmp_ok($m2->{'nacosd_distro_received_total{op="SYNC"}'}, '>=', 1,
       'node 2: a SYNC received');
cmp_ok($m2->{nacosd_distro_clients_applied_total}, '>=', 1,
       'node 2: the client applied');
is($m2->{'nacos_monitor{module="naming",name="ipCount"}'}, 1,
   'node 2: ipCount counts the synced instance');
Test::Nd::Metrics::sane($m1, $m1b, 'node 1');

# node 2 goes away: node 1's view and its failed calls say so
$d->cl->stop(2);
ok($d->cl->wait_for(20, sub {
       (Test::Nd::Metrics::peek($n1, qq(nacosd_cluster_member_state{member="$a2",state="UP"})) // 1) == 0 }),
   'node 1: node 2 no longer UP');
my $m1c = scrape(1, 'node 1, node 2 stopped');
is(state_of($m1c, $a2, 'DOWN') + state_of($m1c, $a2, 'SUSPICIOUS'), 1,
   'node 2 is DOWN or SUSPICIOUS');
cmp_ok($m1c->{qq(nacosd_cluster_message_failures_total{peer="$a2",reason="error"})}
       + $m1c->{qq(nacosd_cluster_message_failures_total{peer="$a2",reason="timeout"})},
       '>', 0, 'node 1: calls to node 2 failed');
Test::Nd::Metrics::sane($m1b, $m1c, 'node 1 after the stop');

$d->done_testing;
