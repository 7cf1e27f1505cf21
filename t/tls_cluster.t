#!/usr/bin/perl
# TLS between nodes: two nodes with ssl_certificate on the HTTP, SDK gRPC
# and cluster ports (one self-signed certificate, made here, that each
# node also trusts for its peers).  The members see each other UP over
# the TLS cluster port, 1.x writes for an ip:port the other node owns are
# forwarded to its HTTPS port and answered, and every instance is listed
# by both nodes (replicated over the TLS cluster port).
use v5.36;
use Test::More;
use File::Temp ();
use lib 't/lib';
use Test::Nd;
use Test::Nd::Cluster;
use Test::Nd::Tls;

my $dir = File::Temp::tempdir('nd-tls-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($cert, $key) = Test::Nd::Tls->make($dir);
my $ssl = "ssl_certificate $cert;\n    ssl_certificate_key $key;";

my $cl = Test::Nd::Cluster->new(
    nodes => 2,
    conf  => { http => "    $ssl",
               cluster => "report_interval 500ms;\n"
                        . "    unhealthy_report_interval 1s;\n    $ssl",
               extra => "grpc {\n    $ssl\n}\n" });
$_->tls_ca($cert) for $cl->nodes;

if (!ok($cl->start_all, 'two TLS nodes started and ready')) {
    $cl->done_testing;
    exit 1;
}
ok($cl->wait_all_up(20), 'both see both UP over the TLS cluster port')
    or $cl->diag_views;

# distro's owner of a 1.x client: FNV-1a of "ip:port" over the 2 members
sub fnv1a ($s) {
    my $h = 2166136261;
    for my $b (unpack 'C*', $s) {
        $h ^= $b;
        $h = ($h * 16777619) % 4294967296;
    }
    return $h;
}
my @eps = map { "10.51.0.$_" } 1 .. 8;
my %slot = map { fnv1a("$_:80") % 2 => 1 } @eps;
is(scalar keys %slot, 2, 'the ip:ports hash to both members');

my $n2 = $cl->node(2);
my @bad;
for my $ip (@eps) {
    my $r = $n2->http_req('POST', '/nacos/v1/ns/instance?serviceName=tls'
                                  . "&ip=$ip&port=80");
    push @bad, "$ip -> $r->{status} '$r->{body}'"
        unless $r->{status} == 200 && $r->{body} eq 'ok';
}
ok(!@bad, 'node 2 answered every register ok (half forwarded over HTTPS)')
    or diag("@bad");

my $want = join ',', map { "$_:80" } sort @eps;
for my $i (1, 2) {
    my $got;
    my $ok = $cl->wait_for(10, sub {
        my $j = $cl->node($i)->http_json('GET',
                    '/nacos/v1/ns/instance/list?serviceName=tls');
        $got = join ',', sort map { "$_->{ip}:$_->{port}" }
                                  @{ $j->{hosts} // [] };
        $got eq $want;
    });
    ok($ok, "node $i lists every instance") or diag("node $i: $got");
}

for my $i (1, 2) {
    unlike($cl->node($i)->error_log, qr/TLS handshake failed|SSL_\w+\(\) failed/,
           "node $i: no TLS failure between the nodes");
}

$cl->done_testing;
