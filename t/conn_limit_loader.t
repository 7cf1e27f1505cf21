# The loader API on two standalone nodes with @grpc/grpc-js clients that
# behave as the Java SDK (answer ConnectResetRequest, then connect to
# serverIp:serverPort + 1000): reloadClient moves one connection to the
# redirect address, reloadCurrent moves all beyond count; bad parameters
# are 400s; the v1 /current path answers as before.
use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Conns;

my @n = map { Test::Nd->new } 1 .. 2;
$n[0]->has(qw(grpc conn_limit));

for my $t (@n) {
    $t->write_conf('nacosd.conf', $t->conf(
        extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
               . "conn_limit {\n    check_interval 200ms;\n"
               . "    reset_timeout 1s;\n}\n"));
    $t->run;
}
my ($a, $b) = map { $_->port(9848) } @n;
my $baddr = '127.0.0.1:' . $n[1]->port;

sub current ($i, $v = 2) {
    return $n[$i]->http_json('GET', "/nacos/v$v/core/loader/current") // {};
}

my $c = Test::Nd::Conns->start({
    servers => [ $a, $b ], concurrency => 10,
    clients => [ map { { who => "c$_", clientIp => "10.5.0.$_" } } 1 .. 20 ] });
ok($c->wait_line(sub ($l) { ($l->{ev} // '') eq 'all_started' }, 30),
   'twenty clients started');
is(scalar keys %{ current(0) }, 20, 'all twenty on node A');
is(scalar keys %{ current(0, 1) }, 20, '/nacos/v1/core/loader/current too');

# reloadClient: one connection, to B
my ($id) = grep { current(0)->{$_}{metaInfo}{clientIp} eq '10.5.0.7' }
           keys %{ current(0) };
my $r = $n[0]->http_get("/nacos/v2/core/loader/reloadClient?connectionId=$id"
                        . "&redirectAddress=$baddr");
is($r->{status}, 200, 'reloadClient answers 200');
ok($n[0]->wait_for(10, sub { scalar keys %{ current(1) } == 1 }),
   'the client reconnected to the redirect address');
my ($moved) = values %{ current(1) };
is($moved->{metaInfo}{clientIp}, '10.5.0.7', 'it is the client asked for');
my ($reset) = grep { $_->{who} eq 'c7' } @{ $c->events('reset') };
is($reset->{serverIp}, '127.0.0.1', 'ConnectResetRequest carried serverIp');
is($reset->{serverPort}, $n[1]->port,
   'and serverPort (the HTTP port of the target)');
is(scalar keys %{ current(0) }, 19, 'node A holds the other nineteen');

# reloadCurrent: keep 10 on A, the rest to B
$r = $n[0]->http_get("/nacos/v2/core/loader/reloadCurrent?count=10"
                     . "&redirectAddress=$baddr");
is($r->{status}, 200, 'reloadCurrent answers 200');
ok($n[0]->wait_for(10, sub { scalar keys %{ current(1) } == 10 }),
   'nine more moved to B')
    or diag(scalar keys %{ current(1) });
is(scalar keys %{ current(0) }, 10, 'A keeps ten');
is(scalar @{ $c->events('reset') }, 10, 'ten resets in all, one each');
is(scalar @{ $c->events('refused') }, 0, 'no client was refused');

# bad parameters
for my $q ('reloadCurrent?count=x', 'reloadCurrent',
           'reloadCurrent?count=1&redirectAddress=nohost:',
           'reloadClient', 'reloadClient?connectionId=nosuch',
           'smartReloadCluster?loaderFactor=abc') {
    my $res = $n[0]->http_get("/nacos/v2/core/loader/$q");
    cmp_ok($res->{status}, '>=', 400, "$q: an error status ($res->{status})");
}

# a node alone: /cluster lists itself
my $cl = $n[0]->http_json('GET', '/nacos/v2/core/loader/cluster');
is($cl->{memberCount}, 1, '/cluster: one member');
is($cl->{detail}[0]{metric}{sdkConCount}, '10',
   '/cluster: its SDK connection count (a string, as Nacos)');

$c->kill;
$_->stop for @n;
$_->done_testing for $n[0];
