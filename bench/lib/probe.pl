#!/usr/bin/perl
# bench/lib/probe.pl -- small network helpers for the benchmarks.
#
#   probe.pl port                      free 127.0.0.1 port p (p+1000, p+1001
#                                      free as well)
#   probe.pl wait PORT PATH MS [POLL_US]
#                                      exit 0 once GET PATH answers 200
#                                      (one attempt every POLL_US, 10 ms)
#   probe.pl get PORT PATH             print status and body of GET PATH
#   probe.pl startup N PORT PATH LOG CMD...
#                                      N times: fork+exec CMD, time until
#                                      GET PATH answers 200 (one attempt
#                                      every 0.2 ms), TERM it, wait; print
#                                      one "ms" figure a line; gives up
#                                      after ND_PROBE_START_MS (5000);
#                                      ND_PROBE_WRITE=PATH?FORM: once ready,
#                                      POST FORM to PATH and time its
#                                      answer too ("ready written" a line);
#                                      ND_PROBE_UNTIL="PATH TEXT": then poll
#                                      GET PATH (every ms) until its body
#                                      holds TEXT, a third figure
#   probe.pl baseline N CMD...         N times: fork+exec CMD, wait for its
#                                      exit; one "ms" figure a line
#   probe.pl time N PORT PATH          N GETs of PATH one after the other on
#                                      one keep-alive connection; one "ms"
#                                      figure a line (request to last byte)
#
# Only 127.0.0.1 is ever used.

use strict;
use warnings;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC usleep);

my $host = '127.0.0.1';
my $child;                     # nacosd being timed, stopped if we are

for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub {
        if ($child) {
            kill 'TERM', $child;
            waitpid($child, 0);
        }
        exit 1;
    };
}


sub now_ms { clock_gettime(CLOCK_MONOTONIC) * 1000 }


sub port_free
{
    my ($port) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => $host, LocalPort => $port,
                                  Proto => 'tcp', Type => SOCK_STREAM,
                                  ReuseAddr => 1, Listen => 1);
    return 0 unless $s;
    close $s;
    return 1;
}


# below the kernel's ephemeral range, so load generators do not take it
sub free_port
{
    for (1 .. 500) {
        my $p = 10000 + int(rand(20000));
        return $p if port_free($p) && port_free($p + 1000)
                     && port_free($p + 1001);
    }
    die "probe: no free port\n";
}


# one GET; returns (status, body) or () when no answer could be had
sub get
{
    my ($port, $path, $timeout) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp', Timeout => $timeout)
        or return;
    $s->autoflush(1);
    print $s "GET $path HTTP/1.1\r\nHost: $host:$port\r\n"
           . "Connection: close\r\n\r\n" or return;

    my ($buf, $rin) = ('', '');
    vec($rin, fileno($s), 1) = 1;
    while (select(my $r = $rin, undef, undef, $timeout)) {
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    close $s;
    my ($st) = $buf =~ m{^HTTP/1\.[01] (\d{3})} or return;
    my (undef, $body) = split /\r\n\r\n/, $buf, 2;
    return ($st, $body // '');
}


# the first answer's status line, read with the connection kept open by
# the server; the client closes first, so the server port never lingers
# in TIME_WAIT between two starts
sub first_status
{
    my ($port, $req, $wait) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp')
        or return 0;
    syswrite($s, $req) == length $req or return 0;

    my ($buf, $rin) = ('', '');
    vec($rin, fileno($s), 1) = 1;
    while (index($buf, "\r\n") < 0) {
        select(my $r = $rin, undef, undef, $wait || 2) or last;
        sysread($s, $buf, 4096, length $buf) or last;
    }
    close $s;
    return $buf =~ m{^HTTP/1\.[01] 200 } ? 1 : 0;
}


sub startup
{
    my ($n, $port, $path, $log, @cmd) = @_;
    my $req = "GET $path HTTP/1.1\r\nHost: $host:$port\r\n\r\n";
    my $limit = $ENV{ND_PROBE_START_MS} || 5000;
    my $write;

    if ($ENV{ND_PROBE_WRITE}) {
        my ($wpath, $form) = split /\?/, $ENV{ND_PROBE_WRITE}, 2;
        $write = "POST $wpath HTTP/1.1\r\nHost: $host:$port\r\n"
               . "Content-Type: application/x-www-form-urlencoded\r\n"
               . 'Content-Length: ' . length($form) . "\r\n\r\n$form";
    }

    for my $i (1 .. $n) {
        my $t0 = now_ms();
        my $pid = fork() // die "probe: fork: $!\n";
        $child = $pid;
        if ($pid == 0) {
            open STDOUT, '>>', $log or POSIX::_exit(126);
            open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
            exec { $cmd[0] } @cmd or POSIX::_exit(127);
        }

        my ($ok, $gone) = (0, 0);
        while (now_ms() - $t0 < $limit) {
            if (first_status($port, $req)) {
                $ok = 1;
                last;
            }
            if (waitpid($pid, WNOHANG) == $pid) {
                $gone = 1;
                last;
            }
            usleep(200);
        }
        my $ms = now_ms() - $t0;
        my $wrote = '';
        if ($ok && $write) {
            first_status($port, $write, $limit / 1000)
                or die "probe: start $i: the write was not answered\n";
            $wrote = sprintf ' %.2f', now_ms() - $t0;
        }
        if ($ok && $ENV{ND_PROBE_UNTIL}) {
            my ($upath, $text) = split / /, $ENV{ND_PROBE_UNTIL}, 2;
            while (1) {
                my (undef, $body) = get($port, $upath, 2);
                last if defined $body && index($body, $text) >= 0;
                die "probe: start $i: \"$text\" never came\n"
                    if now_ms() - $t0 > $limit;
                usleep(1000);
            }
            $wrote .= sprintf ' %.2f', now_ms() - $t0;
        }

        kill 'TERM', $pid unless $gone;
        my $t1 = now_ms();
        while (!$gone && waitpid($pid, WNOHANG) != $pid) {
            if (now_ms() - $t1 > 5000) {
                kill 'KILL', $pid;
                waitpid($pid, 0);
                last;
            }
            usleep(1000);
        }
        $child = undef;
        die "probe: start $i: no answer on $host:$port (see $log)\n"
            unless $ok;
        printf "%.2f%s\n", $ms, $wrote;
    }
}


# fork+exec+exit of a trivial program: what any start costs on this host
sub baseline
{
    my ($n, @cmd) = @_;

    for (1 .. $n) {
        my $t0 = now_ms();
        my $pid = fork() // die "probe: fork: $!\n";
        if ($pid == 0) {
            exec { $cmd[0] } @cmd or POSIX::_exit(127);
        }
        waitpid($pid, 0);
        printf "%.2f\n", now_ms() - $t0;
    }
}


# N keep-alive GETs, each timed from the request to the body's last byte
sub time_gets
{
    my ($n, $port, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp')
        or die "probe: connect $host:$port: $!\n";
    my $req = "GET $path HTTP/1.1\r\nHost: $host:$port\r\n\r\n";

    for (1 .. $n) {
        my $t0 = now_ms();
        syswrite($s, $req) == length $req or die "probe: write: $!\n";
        my ($buf, $want) = ('', undef);
        while (1) {
            sysread($s, $buf, 1 << 20, length $buf)
                or die "probe: connection closed\n";
            if (!defined $want && (my $h = index($buf, "\r\n\r\n")) >= 0) {
                my ($len) = substr($buf, 0, $h) =~ /^Content-Length: *(\d+)/mi;
                die "probe: no Content-Length\n" unless defined $len;
                $want = $h + 4 + $len;
            }
            last if defined $want && length $buf >= $want;
        }
        printf "%.3f\n", now_ms() - $t0;
    }
    close $s;
}


my $cmd = shift // '';

if ($cmd eq 'port') {
    print free_port(), "\n";

} elsif ($cmd eq 'wait') {
    my ($port, $path, $ms, $poll_us) = @ARGV;
    my $end = now_ms() + $ms;
    while (now_ms() < $end) {
        my ($st) = get($port, $path, 1);
        exit 0 if defined $st && $st == 200;
        usleep($poll_us || 10000);
    }
    exit 1;

} elsif ($cmd eq 'get') {
    my ($port, $path) = @ARGV;
    my ($st, $body) = get($port, $path, 5) or exit 1;
    print "$st\n$body";

} elsif ($cmd eq 'time') {
    time_gets(@ARGV);

} elsif ($cmd eq 'startup') {
    startup(@ARGV);

} elsif ($cmd eq 'baseline') {
    baseline(@ARGV);

} else {
    die "usage: probe.pl port|wait|get|startup ...\n";
}
