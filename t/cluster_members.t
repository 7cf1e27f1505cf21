# Cluster membership on three real nodes sharing one PostgreSQL: all UP;
# a node killed with SIGKILL goes DOWN on the others and comes back UP on
# restart; a cut link (through the harness proxies) makes its two ends see
# each other not UP while the third node sees both UP; the v1/v2 member
# APIs; a member list changed by SIGHUP.
#
# Intervals are shortened in the conf (the default timing is not what this
# test is about); every wait is bounded by many report rounds.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use B ();
use Test::More;
use Test::Nd;
use Test::Nd::Cluster;

my $ROUNDS = 20;      # seconds: dozens of report rounds at these intervals

my $cl = Test::Nd::Cluster->new(
    nodes => 3,
    proxy => [ [ 1, 2 ], [ 2, 1 ] ],          # links to node 3 are direct
    conf  => { cluster => "report_interval 500ms;\n"
                        . "    unhealthy_report_interval 1s;\n"
                        . "    call_timeout 1s;" });

if (!ok($cl->start_all, 'three nodes started and ready')) {
    $cl->done_testing;
    exit 1;
}
ok($cl->wait_all_up($ROUNDS), 'every node sees every member UP')
    or $cl->diag_views;

for my $link ('1>2', '2>1') {
    my ($i, $j) = split />/, $link;
    my $s = $cl->proxy($i, $j)->stats;
    ok($s->{forwarded} >= 1 && $s->{bytes} > 0,
       "node $i reaches node $j through rpc= (its proxy forwarded)")
        or diag(explain($s));
}

# ---- the member APIs ---------------------------------------------------------

sub is_int ($v) {
    return 0 unless defined $v && !ref $v;
    my $f = B::svref_2object(\$v)->FLAGS;
    return ($f & (B::SVp_IOK | B::SVp_NOK)) && !($f & B::SVp_POK) ? 1 : 0;
}

sub member_ok ($m, $j, $what) {
    my $port = $cl->node($j)->port;
    subtest "$what: member object of node $j" => sub {
        is(ref $m, 'HASH', 'an object') or return;
        is(ref $m->{extendInfo}, 'HASH', 'extendInfo object');
        # types first: comparing as strings would make them strings
        ok(is_int($m->{port}), 'port is a JSON number');
        ok(is_int($m->{extendInfo}{lastRefreshTime}),
           'extendInfo.lastRefreshTime is a number');
        ok(exists $m->{failAccessCnt} && is_int($m->{failAccessCnt}),
           'failAccessCnt is a number');
        is($m->{ip}, '127.0.0.1', 'ip');
        is($m->{port}, $port, 'port');
        is($m->{address}, "127.0.0.1:$port", 'address ip:port');
        is($m->{state}, 'UP', 'state UP');
        ok(defined $m->{extendInfo}{version}
           && $m->{extendInfo}{version} ne '', 'extendInfo.version');
        is(ref $m->{abilities}, 'HASH', 'abilities object');
    };
}

my $n1 = $cl->node(1);
my ($j, $r) = $n1->http_json('GET', '/nacos/v1/core/cluster/nodes');
is($r->{status}, 200, 'v1 nodes: 200');
is($j->{code}, 200, 'v1 nodes: code 200');
ok(exists $j->{message} && !defined $j->{message}, 'v1 nodes: message null');
is(ref $j->{data}, 'ARRAY', 'v1 nodes: data is a list');
is(scalar @{ $j->{data} // [] }, 3, 'v1 nodes: three members');
for my $k (1 .. 3) {
    my ($m) = grep { ($_->{address} // '') eq $cl->addr($k) }
              @{ $j->{data} // [] };
    member_ok($m, $k, 'v1 nodes');
}

my $p2 = $cl->node(2)->port;
($j) = $n1->http_json('GET', "/nacos/v1/core/cluster/nodes?keyword=:$p2");
is_deeply([ map { $_->{address} } @{ $j->{data} // [] } ],
          [ $cl->addr(2) ], 'v1 nodes?keyword=<port of node 2>: node 2 only');
($j) = $n1->http_json('GET', '/nacos/v1/core/cluster/nodes?keyword=127.0.0.1');
is(scalar @{ $j->{data} // [] }, 3, 'keyword matching every address: three');
($j) = $n1->http_json('GET', '/nacos/v1/core/cluster/nodes?keyword=no-such');
is_deeply($j->{data}, [], 'keyword matching nothing: empty list');

($j, $r) = $n1->http_json('GET', '/nacos/v2/core/cluster/node/list');
is($r->{status}, 200, 'v2 node/list: 200');
is($j->{code}, 0, 'v2 node/list: code 0');
is($j->{message}, 'success', 'v2 node/list: message success');
is(scalar @{ $j->{data} // [] }, 3, 'v2 node/list: three members');
my ($m2) = grep { ($_->{address} // '') eq $cl->addr(2) } @{ $j->{data} // [] };
member_ok($m2, 2, 'v2 node/list');

my %self;
for my $i (1 .. 3) {
    ($j, $r) = $cl->node($i)->http_json('GET', '/nacos/v2/core/cluster/node/self');
    is($r->{status}, 200, "v2 node/self on node $i: 200");
    ok(($j->{code} // -1) == 0 && ($j->{message} // '') eq 'success',
       "v2 node/self on node $i: code 0, success");
    is($j->{data}{address}, $cl->addr($i), "v2 node/self on node $i: itself");
    $self{$i} = $j->{data};
}
member_ok($self{3}, 3, 'v2 node/self');

# ---- kill -9 and restart -----------------------------------------------------

$cl->kill9(3);
my %seen;
ok($cl->wait_for($ROUNDS, sub {
       my @s = map { $cl->state($_, 3) // 'missing' } 1, 2;
       $seen{$_}++ for @s;
       return !grep { $_ ne 'DOWN' } @s;
   }), 'node 3 killed: nodes 1 and 2 see it DOWN') or $cl->diag_views;
is_deeply([ sort grep { !/^(?:UP|SUSPICIOUS|DOWN)$/ } keys %seen ], [],
          'only UP, SUSPICIOUS or DOWN seen on the way (still a member)');
is($cl->state(1, 2), 'UP', 'node 1 still sees node 2 UP');
is($cl->state(2, 1), 'UP', 'node 2 still sees node 1 UP');
is(scalar @{ $cl->members(1) // [] }, 3, 'node 1 still lists three members');

# a report over HTTP marks the sender UP (the next failed report to the
# dead node undoes it: looked at right away, a few tries)
my $report_ok = 0;
my $report_answer;
for (1 .. 3) {
    $cl->wait_for($ROUNDS, sub { ($cl->state(1, 3) // '') eq 'DOWN' });
    my $body = JSON::PP->new->canonical->encode($self{3});
    ($j, $r) = $n1->http_json('POST', '/nacos/v1/core/cluster/report',
        body => $body, headers => { 'Content-Type' => 'application/json' });
    $report_answer //= $j;
    if (($cl->state(1, 3) // '') eq 'UP') {
        $report_ok = 1;
        last;
    }
}
is($r->{status}, 200, 'POST v1/core/cluster/report: 200');
ok(ref $report_answer eq 'HASH' && ($report_answer->{code} // 0) == 200,
   'the report is answered with a RestResult, code 200')
    or diag($r->{body});
ok($report_ok, 'the report marks the sender (node 3) UP on node 1');

ok($cl->restart(3), 'node 3 restarted and ready');
ok($cl->wait_all_up($ROUNDS), 'after the restart every node sees all UP')
    or $cl->diag_views;

# ---- a cut link ----------------------------------------------------------------

# node $i lists node $k, and not UP / UP
sub not_up ($i, $k) { ($cl->state($i, $k) // 'UP') ne 'UP' }
sub is_up  ($i, $k) { ($cl->state($i, $k) // '') eq 'UP' }

$cl->cut(1, 2);
ok($cl->wait_for($ROUNDS, sub { not_up(1, 2) && not_up(2, 1) }),
   'link 1-2 cut (black hole): node 1 sees 2 not UP, node 2 sees 1 not UP')
    or $cl->diag_views;
ok(is_up(3, 1) && is_up(3, 2), 'node 3 still sees nodes 1 and 2 UP')
    or $cl->diag_views;
ok(is_up(1, 3) && is_up(2, 3), 'nodes 1 and 2 still see node 3 UP')
    or $cl->diag_views;
for my $k (1, 2) {
    my $st = $cl->state($k, 3 - $k) // 'missing';
    like($st, qr/^(?:SUSPICIOUS|DOWN)$/, "node $k sees its cut peer "
                                         . "SUSPICIOUS or DOWN");
}
$cl->heal(1, 2);
ok($cl->wait_all_up($ROUNDS), 'healed: every node sees all UP again')
    or $cl->diag_views;

$cl->cut(1, 2, 'refuse');
ok($cl->wait_for($ROUNDS, sub {
       ($cl->state(1, 2) // '') eq 'DOWN' && ($cl->state(2, 1) // '') eq 'DOWN'
   }), 'link 1-2 refusing connections: both ends see the other DOWN')
    or $cl->diag_views;
ok(is_up(3, 1) && is_up(3, 2), 'node 3 still sees nodes 1 and 2 UP')
    or $cl->diag_views;
$cl->heal(1, 2);
ok($cl->wait_all_up($ROUNDS), 'healed: every node sees all UP again')
    or $cl->diag_views;

# ---- the member list changed by SIGHUP -------------------------------------------

$cl->reload(1, members => [ 1, 2 ]);
ok($cl->wait_for($ROUNDS, sub {
       my $m = $cl->members(1) // [];
       join(',', sort map { $_->{address} // '' } @$m)
           eq join(',', sort map { $cl->addr($_) } 1, 2);
   }), 'node 3 removed from node 1\'s conf, SIGHUP: node 1 lists 2 members')
    or diag(explain($cl->members(1)));
ok($n1->running, 'node 1 runs after the reload');

$cl->reload(1, members => [ 1, 2, 3 ]);
ok($cl->wait_for($ROUNDS, sub { scalar @{ $cl->members(1) // [] } == 3 }),
   'added back, SIGHUP: node 1 lists 3 members');
ok($cl->wait_all_up($ROUNDS), 'and every node sees all UP')
    or $cl->diag_views;

$cl->done_testing;
