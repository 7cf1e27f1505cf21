#!/usr/bin/env perl
# persist_lat.pl A_PORT B_PORT N [CONTEXT]: N persistent instances
# registered through node A one at a time (1.x HTTP, ephemeral=false: the
# answer means committed), each in a service of its own, and node B's
# list of that service polled (one keep-alive connection, back to back)
# until it holds the instance; prints
#   persistent N registrations: listed on B p50 X ms p99 Y ms max Z ms
# the time from the register sent to the first list of B holding it.
# The instances are deregistered afterwards.
use v5.36;
use IO::Socket::INET;
use Time::HiRes qw(time);

my ($pa, $pb, $n, $ctx) = @ARGV;
$ctx //= '/nacos';
my $tag = sprintf '%x', time * 1000 % 0xffffff;

sub conn ($port) {
    IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Proto => 'tcp')
        or die "connect $port: $!\n";
}

# one request on a keep-alive connection: (status, body)
sub req ($s, $line) {
    print $s "$line HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    my $buf = '';
    while ($buf !~ /\r\n\r\n/) {
        sysread($s, $buf, 65536, length $buf) or die "eof\n";
    }
    my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
    my ($st) = $head =~ /^HTTP\/1\.1 (\d+)/ or die "bad answer\n";
    my ($len) = $head =~ /Content-Length: (\d+)/i or die "no length\n";
    while (length $rest < $len) {
        sysread($s, $rest, 65536, length $rest) or die "eof\n";
    }
    return ($st, substr($rest, 0, $len));
}

my ($na, $nb) = (conn($pa), conn($pb));
my @lat;
for my $i (1 .. $n) {
    my $svc = "pl-$tag-$i";
    my $ip = sprintf '10.77.%d.%d', $i >> 8 & 255, $i & 255;
    my $t0 = time;
    my ($st, $body) = req($na, "POST $ctx/v1/ns/instance?serviceName=$svc"
                              . "&ip=$ip&port=80&ephemeral=false");
    die "register: $st $body\n" unless $st == 200;
    while (1) {
        ($st, $body) = req($nb, "GET $ctx/v1/ns/instance/list?serviceName=$svc");
        last if $st == 200 && index($body, "\"$ip\"") >= 0;
        die "B stopped answering\n" if time - $t0 > 30;
    }
    push @lat, (time - $t0) * 1000;
}

# the rows go: the bench's later sections share the database
for my $i (1 .. $n) {
    my $ip = sprintf '10.77.%d.%d', $i >> 8 & 255, $i & 255;
    my ($st, $body) = req($na, "DELETE $ctx/v1/ns/instance?serviceName="
                               . "pl-$tag-$i&ip=$ip&port=80&ephemeral=false");
    die "deregister: $st $body\n" unless $st == 200;
}

@lat = sort { $a <=> $b } @lat;
printf "persistent %d registrations: listed on B p50 %.2f ms p99 %.2f ms "
       . "max %.2f ms\n", $n, $lat[$n / 2], $lat[int(($n - 1) * 0.99)],
       $lat[-1];
