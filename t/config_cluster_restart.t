#!/usr/bin/perl
# A node killed with SIGKILL while configs are published on the others is,
# the first time it reports ready after its restart, up to date.
#
# Three real nodes on one private PostgreSQL, cache_refresh 60s (longer
# than the test: the periodic re-read plays no part).  A publisher
# process publishes, one request at a time, over HTTP alternately on
# nodes 1 and 3, to 6 keys, each content carrying its publish number, and
# records every publish that was answered "true" (the committed truth: the
# last answered publish of a key is its content).
#
# 1. The stream runs; node 2 is killed (-9) in the middle of it; the
#    stream goes on, then stops.  Node 2 is restarted: the first time its
#    readiness answers 200, its GET of every key is exactly the committed
#    content, and what node 1 serves.
# 2. Again, but the stream goes on through node 2's restart: at its first
#    readiness every key is at least as new as what was committed before
#    it was started; once the stream stops, node 2 serves exactly the
#    committed content (cluster notify: within $WAIT s, far below 60s).
use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp ();
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);
use Test::Nd;
use Test::Nd::Cluster;

my $WAIT = 15;
my @KEYS = map { "rs$_.json" } 0 .. 5;
my $G    = 'RESTART';

my $cl = Test::Nd::Cluster->new(
    nodes => 3,
    conf  => { store   => 'cache_refresh 60s;',
               cluster => "report_interval 500ms;\n"
                        . "    unhealthy_report_interval 1s;\n"
                        . "    call_timeout 1s;" });

if (!ok($cl->start_all, 'three nodes started and ready')) {
    $cl->done_testing;
    exit 1;
}
ok($cl->wait_all_up(20), 'every node sees every member UP')
    or $cl->diag_views;

sub get ($i, $d) {
    my $r = $cl->node($i)->http_get("/nacos/v1/cs/configs?dataId=$d&group=$G",
                                    timeout => 5);
    return $r->{status} == 200 ? $r->{body} : "($r->{status})";
}
sub seq_of ($c) { $c =~ /:(\d+):/ ? $1 : -1 }

my $dir = File::Temp::tempdir(CLEANUP => 1);
my $seq = 0;

# a publisher process; ->stop waits for it; ->truth: key => content,
# ->log: [ [time, key, content], ... ] of the answered publishes
sub stream () {
    my $log = "$dir/log." . ++$seq;
    my $stop = "$dir/stop.$seq";
    my @ports = map { $cl->node($_)->port } 1, 3;
    my $base = $seq * 100000;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open my $fh, '>', $log or POSIX::_exit(2);
        $fh->autoflush(1);
        my $n = 0;
        until (-e $stop) {
            my $i = $n % 2;                   # node 1, node 3, ...
            my $d = $KEYS[ int($n / 2) % @KEYS ];
            my $c = "$d:" . ($base + $n) . ':n' . ($i ? 3 : 1);
            my $r = $cl->node($i ? 3 : 1)->http_post(
                '/nacos/v1/cs/configs', "dataId=$d&group=$G&content=$c");
            print $fh join("\t", time, $d, $c), "\n"
                if $r->{status} == 200 && $r->{body} eq 'true';
            $n++;
        }
        close $fh;
        POSIX::_exit(0);
    }
    return bless { pid => $pid, log => $log, stop => $stop }, 'Stream';
}
sub Stream::stop ($s) {
    open my $fh, '>', $s->{stop};
    close $fh;
    waitpid($s->{pid}, 0);
    return $? == 0;
}
sub Stream::log ($s) {
    open my $fh, '<', $s->{log} or return [];
    return [ map { chomp; [ split /\t/ ] } <$fh> ];
}
sub Stream::truth ($s, $before = 9e9) {
    my %t;
    $t{ $_->[1] } = $_->[2] for grep { $_->[0] < $before } @{ $s->log };
    return \%t;
}

my %truth;      # over both streams

# ---- 1. killed during the stream, restarted after it -------------------------

my $s = stream();
sleep 1;
$cl->kill9(2);
sleep 1.5;
ok($s->stop, 'stream 1 stopped');
my $n = @{ $s->log };
%truth = (%truth, %{ $s->truth });
ok($n >= 20 && keys %truth == @KEYS,
   "stream 1: $n publishes answered on nodes 1 and 3, every key written");
ok($cl->wait_for($WAIT, sub { !grep { get(1, $_) ne $truth{$_} } @KEYS }),
   'node 1 serves the committed content of every key')
    or diag(join ', ', map { "$_: " . get(1, $_) . " vs $truth{$_}" } @KEYS);

my $t2 = $cl->node(2);
$t2->run;
ok($t2->wait_ready(30), 'node 2 restarted, ready');
my %got = map { $_ => get(2, $_) } @KEYS;      # right after the first 200
is_deeply(\%got, \%truth, 'at its first readiness node 2 serves exactly the '
                          . 'committed content of every key');
is_deeply(\%got, { map { $_ => get(1, $_) } @KEYS }, '... what node 1 serves');
ok($cl->wait_all_up(20), 'every node sees every member UP again')
    or $cl->diag_views;

# ---- 2. killed during the stream, restarted during it -------------------------

$s = stream();
sleep 1;
$cl->kill9(2);
sleep 1;
my $t_start = time;
$t2->run;
ok($t2->wait_ready(30), 'node 2 restarted during stream 2, ready');
%got = map { $_ => get(2, $_) } @KEYS;
my $before = { %truth, %{ $s->truth($t_start) } };
my @old = grep { seq_of($got{$_}) < seq_of($before->{$_}) } @KEYS;
ok(!@old, 'at its first readiness node 2 serves every key at least as new '
          . 'as what was committed before it was started')
    or diag(join "\n", map { "$_: $got{$_}, committed before: $before->{$_}" }
                       @old);
sleep 1;
ok($s->stop, 'stream 2 stopped');
my %published = map { $_->[2] => 1 } @{ $s->log };
my @bogus = grep { !$published{ $got{$_} } && $got{$_} ne $truth{$_} } @KEYS;
ok(!@bogus, '... and each of them a content that was published')
    or diag(join "\n", map { "$_: $got{$_}" } @bogus);
%truth = (%truth, %{ $s->truth });
note(scalar(@{ $s->log }) . ' publishes answered in stream 2');
for my $i (1, 2, 3) {
    my $ok = $cl->wait_for($WAIT, sub {
        !grep { get($i, $_) ne $truth{$_} } @KEYS });
    ok($ok, "node $i then serves exactly the committed content of every key")
        or diag(join ', ', map { "$_: " . get($i, $_) . " vs $truth{$_}" }
                           @KEYS);
}

$cl->done_testing;
