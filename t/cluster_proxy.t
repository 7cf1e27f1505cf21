# The link proxy of the cluster harness (t/lib/Test/Nd/Proxy.pm), in
# front of a real nacosd's HTTP port: it forwards, a cut (black hole or
# refuse) stops it, heal restores it, and it dies with the test.  Needs no
# cluster module.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Errno ();
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Test::Nd;
use Test::Nd::Proxy;

my $t = Test::Nd->new;
$t->write_conf('nacosd.conf', $t->conf(http => 'keepalive_timeout 60s;'));
$t->run;

my $live = '/nacos/v1/console/health/liveness';
my $p = Test::Nd::Proxy->new(to_port => $t->port);

sub via_proxy (%opt) {
    return Test::Nd::Conn->new(port => $p->port, timeout => 2);
}

sub get_via ($c, $keepalive = 0) {
    $c->send($t->request_text('GET', $live, keepalive => $keepalive));
    return $c->read_response(timeout => 5);
}

# forwarding, and a half close passes through (Connection: close)
my $r = $t->http_get($live, port => $p->port);
is($r->{status}, 200, 'forwarded: liveness through the proxy');
is($r->{body}, 'OK', 'forwarded: body');

my $ka = via_proxy();
$r = get_via($ka, 1);
is($r && $r->{status}, 200, 'keep-alive connection through the proxy');
my $s = $p->stats;
is($s->{mode}, 'forward', 'stats: mode forward');
is($s->{forwarded}, 2, 'stats: two connections forwarded');
is($s->{open}, 1, 'stats: the keep-alive one still open');

# black hole: the open connection is closed, a new one is held
$p->cut;
ok($ka->wait_closed(5), 'cut: the open connection is closed');
my $held = via_proxy();
ok($held, 'black hole: a new connection is accepted');
$held->send($t->request_text('GET', $live));
ok($t->wait_for(5, sub { $p->stats->{held} == 1 }),
   'black hole: the connection is held');
$s = $p->stats;
is($s->{forwarded}, 2, 'black hole: nothing more forwarded');
is($s->{mode}, 'blackhole', 'stats: mode blackhole');
is($s->{open}, 0, 'black hole: no forwarded connection open');

# heal: the held connection is closed unanswered, new ones forwarded
$p->heal;
ok($held->wait_closed(5), 'heal: the held connection is closed');
is($held->buffer, '', 'heal: the held request was never answered');
$r = $t->http_get($live, port => $p->port);
is($r->{status}, 200, 'heal: forwarded again');
is($p->stats->{forwarded}, 3, 'heal: counted');

# refuse: connecting fails with ECONNREFUSED, heal listens again
my $ka2 = via_proxy();
is(get_via($ka2, 1)->{status}, 200, 'a keep-alive connection before refuse');
$p->cut('refuse');
ok($ka2->wait_closed(5), 'refuse: the open connection is closed');
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $p->port,
                              Proto => 'tcp', Timeout => 2);
my $err = $! + 0;
ok(!$c, 'refuse: no connection');
is($err, Errno::ECONNREFUSED, 'refuse: connection refused');
$p->heal;
$r = $t->http_get($live, port => $p->port);
is($r->{status}, 200, 'heal after refuse: forwarded again');

# the upstream down: the client connection is reset, not held
my $q = Test::Nd::Proxy->new(to_port => Test::Nd::free_port());
my $dead = Test::Nd::Conn->new(port => $q->port, timeout => 2);
my ($derr, $dmsg) = ($! + 0, "$!");
# the reset is seen by a read, or already by IO::Socket::INET's connect
# check when it comes first (the proxy accepts, fails upstream, resets)
ok($dead ? $dead->wait_closed(5) : $derr == Errno::ECONNRESET,
   'upstream refused: the client is closed (reset)')
    or diag($dead ? 'still open' : "connect failed: $dmsg");
is($q->stats->{upstream_failed}, 1, 'stats: upstream_failed');
my $qpid = $q->pid;
$q->stop;
ok(!kill(0, $qpid), 'stop: the proxy is gone (reaped)');

# a proxy dies with the process that made it, even a killed one
pipe(my $rd, my $wr) or die "pipe: $!";
my $maker = fork // die "fork: $!";
if ($maker == 0) {
    close $rd;
    my $orphan = Test::Nd::Proxy->new(to_port => $t->port);
    syswrite($wr, $orphan->pid . "\n");
    sleep 60;
    POSIX::_exit(0);
}
close $wr;
my $line = <$rd> // '';
my ($opid) = $line =~ /^(\d+)$/;
ok($opid && kill(0, $opid), 'a proxy made by a child process runs');
kill 'KILL', $maker;
waitpid($maker, 0);

sub gone ($pid) {
    return 1 unless kill 0, $pid;
    # a zombie waiting for its new parent counts as gone
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$fh> // '';
    return $stat =~ /^\d+ \(.*\) Z/ ? 1 : 0;
}
ok($opid && $t->wait_for(10, sub { gone($opid) }),
   'its maker killed with SIGKILL: the proxy exits too');

$p->stop;
$t->done_testing;
