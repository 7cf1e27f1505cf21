# Distro and 1.x HTTP ephemeral clients on three real nodes: every write
# goes to node 2; an ip:port another node is responsible for is forwarded
# there and the client gets that node's answer, a plain `ok` or beat JSON.
# The instances are listed by every node and stay healthy while beaten
# (through node 2, then through nodes 1 and 3, which forward too); when
# beats stop each one becomes unhealthy, then is removed, on every
# node, once (never healthy again, never back once gone).  The nacos npm
# client pointed at node 2 alone works the same.
#
# The beat timeouts are shortened through the instance metadata
# (preserved.heart.beat.timeout 3 s, preserved.ip.delete.timeout 8 s);
# every wait is bounded by several of them.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use Time::HiRes qw(time);
use Test::Nd;
use Test::Nd::Distro;
use Test::Nd::Node;

Test::Nd::Distro->require_modules;
Test::Nd::Node::require_packages('nacos@2' => 'nacos');

my $BEAT_TIMEOUT = 3;     # s, preserved.heart.beat.timeout below
my $DEL_TIMEOUT = 8;      # s, preserved.ip.delete.timeout below
my $SYNC = 10;            # s: replication is milliseconds, this is generous
my $EXPIRE = 4 * $DEL_TIMEOUT;   # bound for unhealthy, then removed

my $d = Test::Nd::Distro->new(distro => 'verify_interval 1s;');
$d->start or exit 0;

my $ns = '/nacos/v1/ns';
my $n2 = $d->node(2);
my $svc = 'dhttp';

sub esc ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf("%%%02X", ord $1)/ge; $s }

my %META = ('preserved.heart.beat.interval' => '1000',
            'preserved.heart.beat.timeout' => $BEAT_TIMEOUT * 1000 . '',
            'preserved.ip.delete.timeout' => $DEL_TIMEOUT * 1000 . '');
my $meta = esc(JSON::PP->new->canonical->encode(\%META));

# twelve ip:ports: with three members some hash to nodes 1 and 3 whatever
# the hash (the chance that all twelve land on node 2 is 3^-12)
my @eps = map { [ "10.41.0.$_", 7000 + $_ ] } 1 .. 12;
my $anchor = [ '10.41.1.1', 7100 ];       # beaten until the end
my @all = (@eps, $anchor);
sub addr ($e) { "$e->[0]:$e->[1]" }

# ---- register through node 2: every answer a plain ok ----------------------

my @bad;
for my $e (@all) {
    my $r = $n2->http_req('POST', "$ns/instance?serviceName=$svc&ip=$e->[0]"
                                  . "&port=$e->[1]&metadata=$meta");
    push @bad, addr($e) . " -> $r->{status} '$r->{body}'"
        unless $r->{status} == 200 && $r->{body} eq 'ok';
}
ok(!@bad, 'node 2: every 1.x register answered 200 "ok"') or diag("@bad");
$d->converged($svc, [ map { addr($_) } @all ], $SYNC,
              'every 1.x instance listed by nodes 1, 2 and 3');

# ---- beats through node 2: the responsible node's beat JSON ----------------

# a full beat (the Java 1.x client's form body) for each, then light beats
sub beat ($e, $full = 0, $via = $n2) {
    my $q = "$ns/instance/beat?serviceName=$svc&ip=$e->[0]&port=$e->[1]";
    my %o;
    if ($full) {
        my $b = JSON::PP->new->canonical->encode({
            ip => $e->[0], port => $e->[1], cluster => 'DEFAULT',
            serviceName => "DEFAULT_GROUP\@\@$svc", weight => 1.0,
            metadata => \%META, scheduled => JSON::PP::false,
            period => 1000, stopped => JSON::PP::false });
        %o = (body => 'beat=' . esc($b),
              headers => { 'Content-Type'
                           => 'application/x-www-form-urlencoded' });
    }
    my ($j, $r) = $via->http_json('PUT', $q, %o);
    return ($j, $r);
}

@bad = ();
for my $e (@all) {
    my ($j, $r) = beat($e, 1);
    push @bad, addr($e) . " -> $r->{status} '$r->{body}'"
        unless $r->{status} == 200 && ref $j eq 'HASH'
               && ($j->{code} // 0) == 10200
               && ($j->{clientBeatInterval} // 0) == 1000;
}
ok(!@bad, 'node 2: every full beat answered code 10200 with the '
          . "instance's clientBeatInterval (1000)") or diag("@bad");

@bad = ();
for my $k (1 .. 6) {
    my $e = [ "10.41.2.$k", 7200 + $k ];
    my ($j, $r) = beat($e);
    push @bad, addr($e) . " -> $r->{status} '$r->{body}'"
        unless $r->{status} == 200 && ref $j eq 'HASH'
               && ($j->{code} // 0) == 20404;
}
ok(!@bad, 'node 2: light beats for unknown ip:ports answered code 20404')
    or diag("@bad");
$d->converged($svc, [ map { addr($_) } @all ], $SYNC,
              'the 20404 beats registered nothing anywhere');

# ---- beaten: healthy everywhere for twice the beat timeout -------------------

# node $i's { ip:port => healthy } of $svc, or undef
sub health ($i) {
    my $h = $d->hosts($i, $svc) // return undef;
    return { map { ("$_->{ip}:$_->{port}" => $_->{healthy} ? 1 : 0) } @$h };
}

# beats every round for twice the beat timeout through the nodes @via
# (in turn); every instance must stay listed healthy on every node
my @problems;
sub beaten (@via) {
    @problems = ();
    my $until = time + 2 * $BEAT_TIMEOUT;
    my $rounds = 0;
    while (time < $until) {
        my $via = $d->node($via[ $rounds % @via ]);
        for my $e (@all) {
            my ($j, $r) = beat($e, 0, $via);
            push @problems, 'beat ' . addr($e) . " -> $r->{status} "
                            . "'$r->{body}'"
                unless ref $j eq 'HASH' && ($j->{code} // 0) == 10200;
        }
        for my $i (1 .. 3) {
            my $h = health($i);
            push @problems, "node $i: no list" unless $h;
            for my $e (@all) {
                my $v = $h && $h->{ addr($e) };
                push @problems, "node $i: " . addr($e) . ' '
                                . (defined $v ? 'unhealthy' : 'missing')
                    unless $v;
            }
        }
        $rounds++;
        Time::HiRes::sleep(0.2);      # beat interval 1 s: well within it
    }
    ok(!@problems, "beaten through node(s) @via for "
                   . 2 * $BEAT_TIMEOUT . " s ($rounds rounds): every "
                   . 'instance listed healthy everywhere')
        or do {
            diag(join "\n", @problems[0 .. ($#problems > 20 ? 20
                                                             : $#problems)]);
            $d->diag_state($svc, [ map { addr($_) } @all ]);
        };
}

beaten(2);
# a 1.x client may beat through any node: nodes 1 and 3 forward too, so
# the responsible nodes (node 2 for some) get the beats; a node that kept
# the beats for itself would let its peers' instances expire here
beaten(1, 3);
@problems = ();

# ---- beats stop (but for the anchor): unhealthy, then gone, once ------------

# per node and instance the states seen in order, runs collapsed:
# H healthy, U unhealthy, G gone
my %seq;
my $record = sub {
    my $done = 1;
    for my $i (1 .. 3) {
        my $h = health($i) // do { $done = 0; next };
        for my $e (@eps) {
            my $v = $h->{ addr($e) };
            my $s = !defined $v ? 'G' : $v ? 'H' : 'U';
            my $q = \$seq{$i}{ addr($e) };
            $$q //= '';
            $$q .= $s unless substr($$q, -1) eq $s;
            $done = 0 unless $s eq 'G';
        }
        my $a = $h->{ addr($anchor) };
        push @problems, "node $i: anchor " . (defined $a ? 'unhealthy'
                                                         : 'missing')
            unless $a;
    }
    return $done;
};

@problems = ();
my $stopped = time;
my $gone = $d->cl->wait_for($EXPIRE, sub { beat($anchor); $record->() });
ok($gone, 'beats stopped: every instance gone from every node within '
          . "$EXPIRE s") or $d->diag_state($svc, [ addr($anchor) ]);
note(sprintf 'all gone %.1f s after the last beat', time - $stopped);

# a few more verify intervals and beat timeouts: nothing comes back
my $until = time + $DEL_TIMEOUT;
while (time < $until) {
    beat($anchor);
    $record->();
    Time::HiRes::sleep(0.1);
}

for my $i (1 .. 3) {
    my @flap = grep { $seq{$i}{$_} !~ /^H?UG$/ } sort keys %{ $seq{$i} // {} };
    ok(scalar(keys %{ $seq{$i} // {} }) == @eps && !@flap,
       "node $i: every instance went healthy -> unhealthy -> gone, once, "
       . 'and stayed gone')
        or diag(join "\n", map { "$_: $seq{$i}{$_}" } @flap);
}
ok(!@problems, 'the beaten anchor stayed healthy on every node')
    or diag(join "\n", @problems[0 .. ($#problems > 20 ? 20 : $#problems)]);

my ($j) = beat($eps[0]);
is($j && $j->{code}, 20404, 'node 2: a light beat for a removed instance: '
                            . '20404');

# ---- deregister through node 2 ----------------------------------------------

my $r = $n2->http_req('DELETE', "$ns/instance?serviceName=$svc"
                                . "&ip=$anchor->[0]&port=$anchor->[1]");
is("$r->{status} $r->{body}", '200 ok', 'node 2: deregister answered "ok"');
$d->converged($svc, [], $SYNC, 'deregistered through node 2: gone everywhere');

# ---- the nacos npm client on node 2 alone ------------------------------------

my $NPM = 4;
my ($rc, $out) = Test::Nd::Node::run($n2, 'js/naming_cluster_client.js',
                                     $n2->port, 'dhttp-npm', $NPM);
my %step;
for my $line (split /\n/, $out) {
    my $s = Test::Nd::decode_json($line) or next;
    $step{ $s->{step} } = $s->{data};
}
my @npm = map { "10.42.0.$_:" . (9000 + $_) } 1 .. $NPM;
is($rc, 0, 'npm client on node 2: exits 0') or diag($out);
is_deeply($step{subscribed}, [ sort @npm ],
          'npm client: registered, its subscription lists all of them')
    or diag($out);
is_deeply($step{changed}, [ sort @npm[1 .. $#npm] ],
          'npm client: deregistered one, its subscription dropped it')
    or diag($out);
$d->converged('dhttp-npm', [ @npm[1 .. $#npm] ], $SYNC,
              'npm client through node 2: the same set on every node');

$d->done_testing;
