#!/usr/bin/env perl
# load.pl PORT PREFIX SERVICES PER_SERVICE META_BYTES [KEEP]: registers
# SERVICES x PER_SERVICE ephemeral instances over one pipelined keep-alive
# connection; prints the count of "ok" answers.  KEEP=1: the metadata
# (still about META_BYTES, at least 100) holds preserved.heart.beat.timeout
# and preserved.ip.delete.timeout of one hour, so that the instances,
# never beaten, stay healthy and registered while a bench measures.
use v5.36;
use IO::Socket::INET;

my ($port, $prefix, $nsvc, $per, $mbytes, $keep) = @ARGV;
my $meta = '';
if ($keep) {
    # {"preserved.heart.beat.timeout":"3600000",
    #  "preserved.ip.delete.timeout":"3600000","k":"vvv..."}
    my $fixed = '{"preserved.heart.beat.timeout":"3600000",'
              . '"preserved.ip.delete.timeout":"3600000","k":""}';
    my $v = 'v' x (($mbytes // 0) > length($fixed)
                   ? $mbytes - length($fixed) : 1);
    ($meta = $fixed) =~ s/"k":""/"k":"$v"/;
    $meta =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
    $meta = "&metadata=$meta";
} elsif ($mbytes) {
    # a JSON object of about META_BYTES bytes, URL-encoded
    my $v = 'v' x ($mbytes - 12);
    $meta = '&metadata=%7B%22k%22%3A%22' . $v . '%22%7D';
}
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die "$!";
my ($ok, $sent, $buf) = (0, 0, '');
my @reqs;
for my $i (0 .. $nsvc - 1) {
    for my $j (0 .. $per - 1) {
        my $n = $i * $per + $j;
        my $ip = sprintf '10.%d.%d.%d', ($n >> 16) & 255, ($n >> 8) & 255, $n & 255;
        push @reqs, "POST /nacos/v1/ns/instance?serviceName=$prefix-$i&ip=$ip&port=8080$meta"
                  . " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    }
}
while (@reqs) {
    my @batch = splice @reqs, 0, 200;
    print $s join '', @batch;
    my $want = @batch;
    while ($want) {
        sysread($s, $buf, 65536, length $buf) or die "eof";
        while ($buf =~ s/^HTTP\/1\.1 (\d+)[^\r]*\r\n(?:[^\r]+\r\n)*?Content-Length: (\d+)\r\n(?:[^\r]+\r\n)*\r\n//s) {
            my ($st, $len) = ($1, $2);
            while (length $buf < $len) { sysread($s, $buf, 65536, length $buf) or die "eof" }
            substr($buf, 0, $len) = '';
            $ok++ if $st == 200;
            $want--;
        }
    }
}
print "$ok\n";
