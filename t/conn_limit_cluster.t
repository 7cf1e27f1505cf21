# Connections across a 3-node cluster with 300 @grpc/grpc-js clients that
# behave as the Java SDK (answer ConnectResetRequest, then connect to the
# redirect address):
#   - smartReloadCluster after one node took all 300 leaves every node
#     within the loader factor of the average; /cluster reports the counts;
#   - automatic rebalancing: with B and C stopped all 300 sit on A; B and C
#     restarted, within a few intervals each node holds about a third
#     (within rebalance_factor) and no client was reset twice; each client
#     holds an instance (registered again on its new node, as the SDK's
#     redo), which every node lists throughout, and a subscriber is pushed
#     no list without one of them: the moved connection's client is
#     released moved_grace after it went, once the new one holds it.
#
# Report and rebalance intervals are shortened through the conf.
use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Cluster;
use Test::Nd::Conns;
use Time::HiRes qw(time);

my $N = 300;

sub conf ($rebalance) {
    return { cluster => "report_interval 300ms;\n"
                      . "    unhealthy_report_interval 500ms;\n"
                      . "    call_timeout 1s;",
             extra => "conn_limit {\n    check_interval 300ms;\n"
                    . "    reset_timeout 3s;\n"
                    . "    rebalance $rebalance;\n"
                    . "    rebalance_interval 500ms;\n"
                    . "    rebalance_delay 0;\n"
                    . "    rebalance_factor 0.1;\n"
                    . "    rebalance_batch 100;\n}\n"
                    . "naming {\n    moved_grace 3s;\n}\n" };
}

my $cl = Test::Nd::Cluster->new(nodes => 3, conf => conf('off'));
$cl->node(1)->has('conn_limit');
if (!ok($cl->start_all, 'three nodes started and ready')) {
    $cl->done_testing;
    exit 1;
}
ok($cl->wait_all_up(20), 'every node sees every member UP')
    or $cl->diag_views;

sub count ($i) {
    my $c = $cl->node($i)->http_json('GET', '/nacos/v2/core/loader/current');
    return ref $c eq 'HASH' ? scalar keys %$c : -1;
}
sub counts () { [ map { count($_) } 1 .. 3 ] }
sub within ($factor) {
    my $c = counts();
    my $avg = ($N + 1) / 3;
    return !grep { $_ < $avg * (1 - $factor) || $_ > $avg * (1 + $factor) }
                 @$c;
}

my @ports = map { $cl->node($_)->port(9848) } 1 .. 3;
sub ip ($k) { '10.7.' . int($k / 250) . '.' . ($k % 250 + 1) }
my %want = map { (ip($_) . ':8080' => 1) } 1 .. $N;

# how many of the clients' instances node $i does not list
sub missing ($i) {
    my $r = $cl->node($i)->http_json('GET',
        '/nacos/v1/ns/instance/list?serviceName=cl-svc');
    my %have = map { ("$_->{ip}:$_->{port}" => 1) }
               @{ ref $r eq 'HASH' ? $r->{hosts} // [] : [] };
    return scalar grep { !$have{$_} } keys %want;
}
my $c = Test::Nd::Conns->start({
    servers => \@ports, concurrency => 20,
    clients => [ map { { who => "c$_", register => 'cl-svc',
                         clientIp => ip($_) } } 1 .. $N ] });
ok($c->wait_line(sub ($l) { ($l->{ev} // '') eq 'all_started' }, 60),
   "$N clients started");
my $sub = Test::Nd::Conns->start({
    servers => \@ports,
    clients => [ { who => 'sub', clientIp => '10.99.0.1',
                   subscribe => 'cl-svc' } ] });
ok($sub->wait_line(sub ($l) { ($l->{ev} // '') eq 'sub' }, 10),
   'a subscriber subscribed');
is_deeply(counts(), [ $N + 1, 0, 0 ], "all on node 1");
ok($cl->wait_for(20, sub { !grep { missing($_) } 1 .. 3 }),
   "every node lists the $N instances");

# /cluster: every member's count
my $m = $cl->node(1)->http_json('GET', '/nacos/v2/core/loader/cluster');
is($m->{memberCount}, 3, '/cluster: three members');
ok($m->{completed}, '/cluster: every member answered');
is($m->{total}, $N + 1, '/cluster: every connection counted');
is($m->{max}, $N + 1, '/cluster: max');

# smartReloadCluster
my $r = $cl->node(1)->http_get(
    '/nacos/v2/core/loader/smartReloadCluster?loaderFactor=0.1');
is($r->{status}, 200, 'smartReloadCluster answers 200');
is($r->{body}, 'Ok', 'and "Ok"');
ok($cl->wait_for(20, sub { within(0.1) }),
   'every node within the loader factor of the average')
    or diag(explain(counts()));
is(scalar @{ $c->events('gave_up') }, 0, 'no client gave up');

# automatic rebalancing: on everywhere; B and C stop, all go to A
$cl->reload($_, %{ conf('on') }) for 1 .. 3;
$cl->stop(2);
$cl->stop(3);
ok($cl->wait_for(30, sub { count(1) == $N + 1 }), "all back on node 1")
    or diag(explain(counts()));

ok($cl->restart(2), 'node 2 restarted');
ok($cl->restart(3), 'node 3 restarted');
my $mark = scalar @{ $c->lines };
my $smark = scalar @{ $sub->lines };

# rebalancing; meanwhile (and until every moved client's old one is
# released) every node lists every instance
my (%worst, $balanced);
my $until = time + 40;
while (time < $until) {
    for my $i (1 .. 3) {
        my $n = missing($i);
        $worst{$i} = $n if $n > ($worst{$i} // 0);
    }
    if (!$balanced && within(0.1)) {
        $balanced = time;
        $until = $balanced + 5;          # past moved_grace (3 s)
    }
}
ok($balanced, 'rebalanced: each node holds about a third')
    or diag(explain(counts()));
is_deeply([ map { $worst{$_} // 0 } 1 .. 3 ], [ 0, 0, 0 ],
          'no node ever missed an instance while connections moved');
my @pushes = grep { ($_->{ev} // '') =~ /^(?:push|sub)$/ }
             @{ $sub->lines }[ $smark .. $#{ $sub->lines } ];
my @gaps = grep { my %h = map { ($_ => 1) } @{ $_->{hosts} };
                  grep { !$h{$_} } keys %want } @pushes;
ok(scalar @pushes, scalar(@pushes) . ' pushes to the subscriber');
is(scalar @gaps, 0, 'none of them lacks an instance that only moved')
    or diag(explain([ map { my %h = map { ($_ => 1) } @{ $_->{hosts} };
                            { t => $_->{t}, ev => $_->{ev},
                              missing => [ grep { !$h{$_} } sort keys %want ] } }
                      @gaps[0 .. 2] ]));

my %resets;
$resets{ $_->{who} }++ for grep { ($_->{ev} // '') eq 'reset' }
                           @{ $c->lines }[ $mark .. $#{ $c->lines } ];
my @twice = grep { $resets{$_} > 1 } keys %resets;
is(scalar @twice, 0, 'no client was reset twice')
    or diag(explain([ grep { ($_->{who} // '') eq $twice[0] }
                      @{ $c->lines }[ $mark .. $#{ $c->lines } ] ]),
            explain(counts()));
ok(scalar keys %resets >= $N / 3, scalar(keys %resets)
   . ' clients moved (at least a third)');
like($cl->node(1)->error_log, qr/rebalance: \d+ SDK connections here/,
     'node 1 logged its rebalancing');

$_->kill for $c, $sub;
$cl->done_testing;
