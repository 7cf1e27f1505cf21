# UDP push to 1.x subscribers: /instance/list with udpPort subscribes;
# a change is pushed (merged: one datagram per burst), acked, retried
# once when not acked; large payloads are gzipped; subscribers listed.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use IO::Select;
use IO::Socket::INET;
use IO::Uncompress::Gunzip ();

my $t = Test::Nd->new;
$t->has('naming');
$t->write_conf('nacosd.conf', $t->conf(extra =>
    "naming { push_delay 100ms; push_ack_timeout 1s; }\n"));
$t->run;

my $udp = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                Proto => 'udp') or die "udp: $!";
my $uport = $udp->sockport;
my $ns = '/nacos/v1/ns';

sub recv_push ($timeout) {
    my $sel = IO::Select->new($udp);
    return undef unless $sel->can_read($timeout);
    my $peer = $udp->recv(my $buf, 65536);
    my $wire = length $buf;
    my $gz = substr($buf, 0, 2) eq "\x1f\x8b";
    if ($gz) {
        my $out;
        IO::Uncompress::Gunzip::gunzip(\$buf => \$out) or return undef;
        $buf = $out;
    }
    my $j = Test::Nd::decode_json($buf) or return undef;
    return { json => $j, gz => $gz, peer => $peer, len => length $buf,
             wire => $wire,
             info => Test::Nd::decode_json($j->{data}) };
}

sub ack ($p) {
    $udp->send('{"type":"push-ack","lastRefTime":"' . $p->{json}{lastRefTime}
               . '","data":""}', 0, $p->{peer});
}

my $list = "$ns/instance/list?serviceName=pushed&udpPort=$uport&clientIP=127.0.0.1"
         . '&app=myapp&clusters=DEFAULT';
my $r = $t->http_get($list, headers => { 'User-Agent' => 'Nacos-Java-Client:v1.4.1' });
is($r->{status}, 200, 'subscribing list: 200');

my $j = $t->http_json('GET', "$ns/service/subscribers?serviceName=pushed");
is($j->{count}, 1, 'one subscriber');
my $s = $j->{subscribers}[0] // {};
is($s->{addrStr}, "127.0.0.1:$uport", 'subscriber addrStr');
is($s->{app}, 'myapp', 'subscriber app');
is($s->{agent}, 'Nacos-Java-Client:v1.4.1', 'subscriber agent');
is($s->{cluster}, 'DEFAULT', 'subscriber clusters');

# a burst of three registrations: one push with all three hosts
for my $i (1 .. 3) {
    $t->http_req('POST', "$ns/instance?serviceName=pushed&ip=10.9.9.$i&port=80");
}
my $p = recv_push(5);
ok($p, 'push received');
is($p->{json}{type}, 'dom', 'push type dom');
is($p->{info}{name}, 'DEFAULT_GROUP@@pushed', 'pushed ServiceInfo name');
is($p->{info}{clusters}, 'DEFAULT', 'pushed ServiceInfo clusters');
is(scalar @{ $p->{info}{hosts} // [] }, 3, 'one merged push with the three hosts');
ok($p->{gz} == ($p->{len} >= 1024 ? 1 : 0), 'gzip exactly when >= 1 KiB');
ack($p);
ok(!recv_push(1.5), 'acked push: no retransmit, no second push');

# not acked: sent once more after the ack timeout, then given up
$t->http_req('DELETE', "$ns/instance?serviceName=pushed&ip=10.9.9.3&port=80");
$p = recv_push(5);
is(scalar @{ $p->{info}{hosts} // [] }, 2, 'push after deregister: two hosts');
my $again = recv_push(3);
ok($again, 'unacked push retransmitted');
is($again && $again->{json}{lastRefTime}, $p->{json}{lastRefTime}, 'same push');
ok(!recv_push(1.5), 'one retransmit only');
$j = $t->http_json('GET', "$ns/operator/push/state");
ok($j->{total} >= 2, 'push state: total');
is($j->{total} - $j->{succeed}, 1, 'push state: one failure');

# large ServiceInfo: gzipped
my $meta = '%7B%22big%22%3A%22' . ('x' x 900) . '%22%7D';
$t->http_req('POST', "$ns/instance?serviceName=pushed&ip=10.9.9.7&port=80&metadata=$meta");
$p = recv_push(5);
ok($p && $p->{gz} && $p->{len} >= 1024, 'large push is gzipped');
ok($p && $p->{wire} < $p->{len} / 2,
   "and really compressed ($p->{wire} bytes on the wire for $p->{len})");
is(scalar @{ $p->{info}{hosts} // [] }, 3, 'gzipped push decodes');
ack($p) if $p;

$t->done_testing;
