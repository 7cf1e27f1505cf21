#!/usr/bin/perl
# libnacos over IPv6: a server list entry "[::1]:PORT" reaches a node
# that listens on ::1 only for gRPC (the HTTP port on both); a bare IPv6
# address takes the default port; malformed entries and names (no lookup
# blocks the loop) are refused when the client is made.  Skips where the
# machine has no IPv6 loopback.
use v5.36;
use Test::More;
use IO::Socket::IP;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Client;

my $probe = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
                                Listen => 1);
plan(skip_all => "no IPv6 loopback here: $@") unless $probe;
close $probe;

my $t = Test::Nd->new;
$t->has(qw(grpc store config));
Test::Nd::Client->require_built('nacosctl');
my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    http => "    listen [::1]:%%PORT_8848%%;\n",
    extra => "grpc {\n    listen [::1]:%%PORT_9848%%;\n}\n"
           . "store {\n    schema_dir $schema;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'nacosd ready');
my $port = $t->port;

sub ctl ($servers, $args) {
    return Test::Nd::Client->sh($t, "\$NACOSCTL -s '$servers' -t 2000 $args");
}

my ($rc, $out) = Test::Nd::Client->sh($t,
    "echo over-v6 | \$NACOSCTL -s '[::1]:$port' config publish v6 G");
is($rc, 0, 'publish over [::1]') or diag $out;
($rc, $out) = ctl("[::1]:$port", 'config get v6 G');
is($rc, 0, 'get over [::1]');
is($out, "over-v6\n", 'the content');

# the gRPC port listens on ::1 only: over IPv4 the client finds nothing
($rc, $out) = ctl("127.0.0.1:$port", 'config get v6 G');
is($rc, 2, '127.0.0.1: no gRPC there');
like($out, qr/connect to 127\.0\.0\.1:\d+/, '... the message names it');

# a list with a dead IPv4 entry first, then the IPv6 one
($rc, $out) = ctl("127.0.0.1:$port,[::1]:$port", 'config get v6 G');
is($rc, 0, 'IPv4 then IPv6 in one list: the second answers');

# a bare IPv6 address takes the default HTTP port 8848 (its gRPC 9848)
($rc, $out) = ctl('::1', 'config get v6 G');
like($out, qr/connect to \[::1\]:9848/, 'a bare ::1 is port 8848 (gRPC 9848)');

for my $bad ('[::1', '[::1]x', 'localhost:8848', '::1:8848:x', 'a:b') {
    ($rc, $out) = ctl($bad, 'config get v6 G');
    is($rc, 2, "'$bad' refused");
    like($out, qr/bad server list/, "'$bad': bad server list");
}

$t->done_testing;
