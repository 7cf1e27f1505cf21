# Group commit gathers (commit_gather, nd_store_gather_want): a write
# group that finished with n writes while q more were queued makes the
# next group wait, at most commit_gather, until n + q are queued.  Run on
# SQLite and, when one can be had, on PostgreSQL, with commit_gather 1s
# so that a wait for the timer is plain in the elapsed time:
#
# - one writer publishing one config after another: each publish is a
#   group of its own and none waits for the timer;
# - 8 writers with one publish in flight each, 10 rounds: the groups
#   hold all 8 once the rule has seen them (the nacosd_store_commit_*
#   counters), every publish is answered and the last content of each
#   key is what a read gives;
# - with commit_gather 0 the same writers are not gathered (a group is
#   what is queued when the writer is free), so the bound above is the
#   rule's, not the load's.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes ();
use Test::Nd;
use Test::Nd::Pg;
use Test::Nd::StoreSuite qw(store_conf form publish get_config);

my $BASE = '/nacos/v1/cs/configs';
my $WRITERS = 8;
my $ROUNDS = 10;

my $probe = Test::Nd->new;
$probe->has('store');
plan(skip_all => 'the store debug routes need a --with-debug build')
    unless $probe->is_debug;

sub counters ($t) {
    my $r = $t->http_get('/nacos/actuator/prometheus');
    my %c;
    for my $k (qw(groups ops)) {
        ($c{$k}) = $r->{body} =~ /^nacosd_store_commit_${k}_total (\d+)$/m;
    }
    return \%c;
}

# $WRITERS keep-alive connections, each sending its next publish when
# its answer came; returns the answers' statuses and bodies per writer
sub closed_loop ($t, $tag) {
    my (@socks, %who, @sent, @got, @buf);
    my $send = sub ($i) {
        my $n = $sent[$i]++;
        my $req = $t->request_text('POST', $BASE,
            body => form(dataId => "$tag-$i", group => 'G',
                         content => "$tag $i round $n"),
            keepalive => 1,
            headers => { 'Content-Type'
                         => 'application/x-www-form-urlencoded' });
        syswrite($socks[$i], $req) == length $req or die "write: $!";
    };
    for my $i (0 .. $WRITERS - 1) {
        $socks[$i] = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                           PeerPort => $t->port,
                                           Proto => 'tcp')
            or die "connect: $!";
        $who{"$socks[$i]"} = $i;
        $got[$i] = [];
        $buf[$i] = '';
    }
    $send->($_) for 0 .. $WRITERS - 1;
    my $sel = IO::Select->new(@socks);
    my $deadline = Time::HiRes::time() + 60;
    while ($sel->count && Time::HiRes::time() < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $i = $who{"$s"};
            my $n = sysread($s, my $chunk, 65536);
            unless ($n) {
                $sel->remove($s);
                next;
            }
            $buf[$i] .= $chunk;
            my @r = Test::Nd::parse_responses($buf[$i], 0, 'POST');
            next unless @r;
            $buf[$i] = '';
            push @{ $got[$i] }, map { [ $_->{status}, $_->{body} ] } @r;
            if (@{ $got[$i] } < $ROUNDS) {
                $send->($i);
            } else {
                $sel->remove($s);
            }
        }
    }
    close $_ for @socks;
    return @got;
}

sub run_backend ($backend, $pg) {
    my $t = Test::Nd->new;
    $t->write_conf('nacosd.conf',
        store_conf($t, $backend, $pg, 'commit_gather 1s;'));
    $t->run;
    ok($t->wait_ready(20), "$backend: ready") or diag($t->error_log);

    # one writer, one publish after another
    my $c0 = counters($t);
    ok(defined $c0->{groups} && defined $c0->{ops},
       "$backend: the commit group counters are exported");
    my $t0 = Time::HiRes::time();
    my @st = map { scalar publish($t, dataId => "lone-$_", group => 'G',
                                  content => "lone $_") } 1 .. 5;
    my $lone = Time::HiRes::time() - $t0;
    is_deeply(\@st, [ (200) x 5 ], "$backend: lone publishes answered");
    my $c1 = counters($t);
    is($c1->{groups} - $c0->{groups}, 5,
       "$backend: a lone writer's publishes are a group each");
    # each would wait for the 1 s timer if the lone writer were gathered
    cmp_ok($lone, '<', 2.5,
           "$backend: a lone writer does not wait for commit_gather");

    # $WRITERS writers, one publish in flight each
    my @got = closed_loop($t, 'cl');
    my $c2 = counters($t);
    my $all = $WRITERS * $ROUNDS;
    is(scalar(grep { @$_ == $ROUNDS && !grep { $_->[0] != 200 } @$_ } @got),
       $WRITERS, "$backend: every writer's $ROUNDS publishes answered 200");
    is($c2->{ops} - $c1->{ops}, $all, "$backend: $all operations ran");
    my $groups = $c2->{groups} - $c1->{groups};
    # once the rule has seen them all, a group holds the $WRITERS; a few
    # groups more while it learns them and as the last round ends
    cmp_ok($groups, '<=', $ROUNDS + 4,
           "$backend: $all publishes of $WRITERS writers in $groups groups");
    my $last = 0;
    for my $i (0 .. $WRITERS - 1) {
        my $j = get_config($t, dataId => "cl-$i", group => 'G');
        $last++ if ($j->{content} // '') eq "cl $i round " . ($ROUNDS - 1);
    }
    is($last, $WRITERS, "$backend: each key holds its last publish");
    $t->stop;

    # the same without gathering: groups are what is queued
    my $u = Test::Nd->new;
    $u->write_conf('nacosd.conf',
        store_conf($u, $backend, $pg, 'commit_gather 0;'));
    $u->run;
    ok($u->wait_ready(20), "$backend: ready, commit_gather 0")
        or diag($u->error_log);
    $c1 = counters($u);
    @got = closed_loop($u, 'off');
    $c2 = counters($u);
    is(scalar(grep { @$_ == $ROUNDS } @got), $WRITERS,
       "$backend, commit_gather 0: every publish answered");
    note("$backend, commit_gather 0: $all publishes in "
         . ($c2->{groups} - $c1->{groups}) . " groups");
    $u->stop;
}

run_backend('sqlite', undef);

my $pg = eval { Test::Nd::Pg->new };
if ($pg) {
    run_backend('pg', $pg);
} elsif (($ENV{CI} // '') eq 'true') {
    fail("PostgreSQL for the test started: $@");
} else {
    note("no PostgreSQL, the pg half skipped: $@");
}

done_testing;
