#!/usr/bin/perl
# libnacos against a 3-node cluster: given every node, the client is on
# node 1; a ConnectResetRequest redirects it to node 3, then node 3 is
# killed and the client fails over to the next node.  Each time the new
# connection listens at once (the bell), the listener hears publishes
# made on other nodes, and the ephemeral instance is registered again
# and seen cluster-wide.  (The push of x1 is one listen more: 1 added,
# 2 reset, 3 pushed, 4 failover.)
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Cluster;
use Test::Nd::Client;

Test::Nd::Client->require_built('nd_client_drive');
my $cl = Test::Nd::Cluster->new(nodes => 3, conf => {
    cluster => "report_interval 500ms;\n    unhealthy_report_interval 1s;" });
Test::Nd->new->has(qw(grpc config naming));

if (!ok($cl->start_all, 'three nodes started and ready')) {
    $cl->done_testing;
    exit 1;
}
ok($cl->wait_all_up(20), 'every node sees every member UP')
    or $cl->diag_views;

my ($a1, $a2, $a3) = map { $cl->addr($_) } 1 .. 3;
my ($p3) = $a3 =~ /:(\d+)$/;
my $pid3 = $cl->node(3)->pid;

my $out = Test::Nd::Client->drive($cl->node(1), '-l', 60000,
    "$a1,$a2,$a3",
    qw(ready listen c G wait_listens 1 register svcf 10.0.1.1 1
       subscribe svcf mark), 'reset', $a3,
    qw(wait_moved wait_listens 2 stats),
    'publish_at', $a1, qw(c G x1), qw(wait_change 1),
    'wait_hosts_at', $a2, 'svcf', '10.0.1.1:1',
    'mark', 'kill_current', "$p3=$pid3",
    qw(wait_moved wait_listens 4 stats),
    'publish_at', $a2, qw(c G x2), qw(wait_change 2),
    'wait_hosts_at', $a2, 'svcf', '10.0.1.1:1');

like($out, qr/^ready \Q$a1\E$/m, 'on node 1 first');
like($out, qr/^reset rc=0 status=200 body=success\nmoved \Q$a3\E\nlistens 2\n/m,
     'ConnectResetRequest with a redirect: moved to node 3, listened at once');
like($out, qr/^stats connects=2 listens=2 .* resets=1 redo_instances=1 redo_subscribes=1$/m,
     'instance and subscription redone on node 3');
like($out, qr/^publish_at rc=0\nchange c G \S+ x1$/m,
     'a publish on node 1 reached the listener on node 3');
like($out, qr/^killed \Q$a3\E\nmoved \Q$a1\E\nlistens 4\n/m,
     'node 3 killed: failed over to node 1, listened at once');
like($out, qr/^stats connects=3 listens=4 .* redo_instances=2 redo_subscribes=2$/m,
     'redone again on node 1');
like($out, qr/^publish_at rc=0\nchange c G \S+ x2$/m,
     'a publish on node 2 reached the listener on node 1');
is(() = $out =~ /^hosts_at \Q$a2\E 10\.0\.1\.1:1$/mg, 2,
   'node 2 sees the instance after each move');

# the driver killed node 3: bring it back so it stops cleanly
$cl->node(3)->wait_exit(10);
ok($cl->restart(3), 'node 3 restarted');

$cl->done_testing;
