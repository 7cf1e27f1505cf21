#!/usr/bin/perl
# Config notifies lost to a cut link are repaired when it heals.
#
# Three real nodes on one private PostgreSQL; the cluster links between
# nodes 1 and 3 go through the harness proxies.  cache_refresh is 600s:
# the store's periodic re-read (the backstop) does not run while the test
# does, so whatever reaches node 3 comes from the cluster: node 1's
# retried ConfigChangeClusterSyncRequest, its "told again" when node 3 is
# back UP, or node 3's own re-read of the store when it sees node 1 come
# back.  Node 3 holds real 2.x gRPC listeners (t/grpc/listeners.js: each
# its own connection, each fetching a key from node 3 with
# ConfigQueryRequest when notified, one fetch after another) and a 1.x
# client's loop (long poll, then GET of each key the poll names).
#
# Twice, the link 1<->3 is black-holed (no answers, no refusals) while
# node 1 gets 100 publishes of 5 keys: half at once, half after node 1
# sees node 3 DOWN; then the link heals: once soon (node 1 may still have
# a retry pending), once 31 s after node 3 went DOWN (beyond the longest
# retry delay, 30 s: only "told again when back UP" and node 3's re-read
# when it sees node 1 back can repair).  Every listener must end with the
# final content of every key, and the contents it fetched for a key must
# never go back (each content carries its publish number).
use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::MD5 qw(md5_hex);
use Test::More;
use Test::Nd;
use Test::Nd::Cluster;
use Test::Nd::Grpc;
use Test::Nd::Listeners;

my $WAIT    = 15;           # s, for a notify of a healthy link
my $REPAIR  = 30;           # s, after the heal (members UP again within 1s)
my @KEYS    = map { "cut$_.yaml" } 0 .. 4;
my $G       = 'CUT';
my $N       = 100;

my $cl = Test::Nd::Cluster->new(
    nodes => 3,
    proxy => [ [ 1, 3 ], [ 3, 1 ] ],
    conf  => { store   => 'cache_refresh 600s;',
               cluster => "report_interval 500ms;\n"
                        . "    unhealthy_report_interval 1s;\n"
                        . "    call_timeout 1s;" });
Test::Nd::Grpc->ensure_client;

if (!ok($cl->start_all, 'three nodes started and ready')) {
    $cl->done_testing;
    exit 1;
}
ok($cl->wait_all_up(20), 'every node sees every member UP')
    or $cl->diag_views;

sub publish ($i, $d, $content) {
    my $r = $cl->node($i)->http_post('/nacos/v1/cs/configs',
                                     "dataId=$d&group=$G&content=$content");
    return $r->{status} == 200 && $r->{body} eq 'true';
}
sub get ($i, $d) {
    my $r = $cl->node($i)->http_get("/nacos/v1/cs/configs?dataId=$d&group=$G");
    return $r->{status} == 200 ? $r->{body} : "($r->{status})";
}

# the first contents, served by node 3 through a healthy link
my %final;
my $all = 1;
for my $d (@KEYS) {
    $all &&= publish(1, $d, "$d:0");
    $final{$d} = "$d:0";
}
ok($all, 'first contents published on node 1');
ok($cl->wait_for($WAIT, sub { !grep { get(3, $_) ne $final{$_} } @KEYS }),
   'node 3 serves them (the link is healthy)');

my @L = map { "n3-$_" } 1 .. 3;
my $ls = Test::Nd::Listeners->start([ map {
    { id => $_, port => $cl->node(3)->port(9848), fetch => 1,
      keys => [ map { { dataId => $_, group => $G, tenant => '',
                        md5 => md5_hex($final{$_}) } } @KEYS ] }
} @L ]);
ok($ls->wait_ready(30), scalar(@L) . ' gRPC listeners on node 3, each on '
                        . 'every key') or diag(explain($ls->errors));
is_deeply([ map { @{ $_->{changed} // [] } } $ls->events('ready') ], [],
          'none of them out of date');

# and a 1.x client's listener loop on node 3: long poll, GET what changed
my $lp = Test::Nd::Listeners->long_poller('n3-lp', $cl->node(3),
                                          [ map { [ $_, $G, $final{$_} ] }
                                            @KEYS ]);
push @L, 'n3-lp';

# ---- the cuts -----------------------------------------------------------------

# listener => dataId => [ contents fetched, in order ]
sub fetches () {
    my %f;
    for my $e ($ls->events('fetched'), $lp->events('fetched')) {
        push @{ $f{ $e->{l} }{ $e->{dataId} } }, $e->{content} // '(deleted)';
    }
    return \%f;
}

my $seq = 0;

# cut 1<->3; N/2 publishes on node 1; node 1 sees node 3 DOWN; N/2 more;
# the cut held $hold s more; heal; node 3's listeners must converge
sub round ($name, $hold) {
    $cl->cut(1, 3);
    my $ok = 1;
    my $burst = sub ($n) {
        for (1 .. $n) {
            my $d = $KEYS[ $seq % @KEYS ];
            my $c = "$d:" . ++$seq;
            $ok &&= publish(1, $d, $c) or diag("publish $c failed");
            $final{$d} = $c;
        }
    };
    $burst->($N / 2);
    ok($cl->wait_for(20, sub { ($cl->state(1, 3) // '') eq 'DOWN' }),
       "$name: node 1 sees node 3 DOWN behind the black-holed link")
        or $cl->diag_views;
    $burst->($N / 2);
    ok($ok, "$name: $N publishes on node 1 during the cut");
    ok($cl->wait_for($WAIT, sub { !grep { get(2, $_) ne $final{$_} } @KEYS }),
       "$name: node 2 (its links healthy) serves the final content of "
       . 'every key');
    sleep $hold if $hold;

    # what node 3 had before the heal (notes: how the repair went)
    note("$name: before the heal node 3 serves "
         . join(', ', map { get(3, $_) } @KEYS) . '; listener fetches so '
         . 'far: ' . scalar($ls->events('fetched')));
    $cl->heal(1, 3);
    ok($cl->wait_all_up(20), "$name: healed, every node sees every member "
                             . 'UP again') or $cl->diag_views;

    my $converged = sub {
        my $f = fetches();
        for my $l (@L) {
            for my $d (@KEYS) {
                my $s = $f->{$l}{$d} // [];
                return 0 unless @$s && $s->[-1] eq $final{$d};
            }
        }
        return 1;
    };
    my $done = $cl->wait_for($REPAIR, $converged);
    ok($done, "$name: every listener on node 3 ends with the final content "
              . "of every key (within ${REPAIR}s of the heal; the store "
              . 'refresh is 600s)');
    is(get(3, $_), $final{$_}, "$name: node 3 serves the final $_")
        for @KEYS;
    note("$name: after the heal, listener fetches in all: "
         . scalar($ls->events('fetched')));
    if (!$done) {
        my $f = fetches();
        for my $l (@L) {
            diag("$l last fetched: " . join(', ', map {
                "$_=" . (($f->{$l}{$_} // [])->[-1] // 'nothing') } @KEYS));
        }
        diag('final: ' . join(', ', map { "$_=$final{$_}" } @KEYS));
    }
}

# 1. healed soon after node 3 went DOWN: node 1 may still have a retry
#    pending (0.5, 1.5, 4.5 s ...), or tells node 3 again when it is UP
round('short cut', 0);

# 2. the cut held 31 s after node 3 went DOWN, beyond the longest retry
#    delay (30 s): no retry of node 1 is pending at the heal, so node 3
#    hears of the lost changes only because it is back UP
round('long cut', 31);

note("node 1 log, config notify lines:\n" . join("\n",
    grep { /config: notify/ } split /\n/, $cl->node(1)->error_log));

my $f = fetches();
for my $l (@L) {
    my @back;
    for my $d (@KEYS) {
        my $last = -1;
        for my $c (@{ $f->{$l}{$d} // [] }) {
            my ($n) = $c =~ /:(\d+)$/;
            push @back, "$d: $c after seq $last" if !defined $n || $n < $last;
            $last = $n if defined $n && $n > $last;
        }
    }
    ok(!@back, "listener $l never fetched an older content after a newer one")
        or diag(join("\n", @back));
}
ok(!@{ $ls->errors } && !@{ $lp->errors },
   'the listeners saw no error or stream end')
    or diag(explain([ @{ $ls->errors }, @{ $lp->errors } ]));
$ls->kill;
$lp->kill;

$cl->done_testing;
