# DistroDataRequest under bad input, three real nodes, a grpc-js client
# on node 1's cluster port (HTTP + 1001): a wrong version, an unknown op,
# items that are not clients (no type/rev/services, no id, no instance
# address), a valid item next to a broken one, a body that is not JSON or
# is cut short: each is answered with an ErrorResponse and nothing of it
# is applied; the connection stays usable and so do the others (a held
# cluster-port connection, the nodes' own links, an SDK client).  A valid
# SYNC from the test client is applied (a synced client injected into
# node 1) and a DELETE removes it.  DistroDataRequest on the SDK port is
# refused.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use Test::More;
use Test::Nd;
use Test::Nd::Distro;
use Test::Nd::Grpc;

my $SYNC = 10;        # s: replication is milliseconds, this is generous
my $STEP = 20;        # s: one step of a client

my $d = Test::Nd::Distro->new;
$d->start or exit 0;
our $ID = $d->cl->identity_headers;

my $t1 = $d->node(1);
my $cport = $t1->port(9849);

sub refused ($s, $what) {
    my $b = ref $s eq 'HASH' ? $s->{body} // {} : {};
    ok(ref $s eq 'HASH' && ($s->{type} // '') eq 'ErrorResponse'
       && ($b->{resultCode} // 200) != 200,
       "$what: ErrorResponse, resultCode not 200")
        or diag(explain($s));
}

# as a member sends them: with the server identity
sub distro ($body) {
    return { op => 'unary', type => 'DistroDataRequest', body => $body,
             headers => $ID };
}

sub distro_raw ($json) {
    return { op => 'raw_unary', type => 'DistroDataRequest', json => $json,
             headers => $ID };
}

# a synced client in the spec's format: $n instances of "inj"
sub client_of ($ip, $port, %o) {
    return { id => "$ip:$port#true", type => 0, rev => 1,
             services => [ { ns => 'public', s => 'DEFAULT_GROUP@@inj',
                             instances => [ {
                                 ip => $ip, port => $port + 0,
                                 cluster => 'DEFAULT', weight => 1.0,
                                 healthy => JSON::PP::true,
                                 enabled => JSON::PP::true } ] } ],
             %o };
}

sub change ($client) { { op => 'CHANGE', client => $client } }

my $inj = client_of('10.9.9.9', 9999);

# ---- before: an SDK client's instance everywhere, a held cluster connection --

my $sdk = $d->client(2, $d->reg('dbad', '10.71.0.1', 7001), { op => 'hold' });
$d->step_ok($sdk, 4, 'node 2: an SDK client registered into dbad');
$d->converged('dbad', [ '10.71.0.1:7001' ], $SYNC, 'listed by every node');

my $cluster_hs = [
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'bidi_open' },
    { op => 'bidi_send', type => 'ConnectionSetupRequest',
      body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                labels => { source => 'cluster' } } },
    { op => 'sleep', ms => 100 } ];

my ($gh, $open_h) = $d->gate;
my $held = Test::Nd::Grpc->start($cport, [
    @$cluster_hs,
    { op => 'unary', type => 'ServerCheckRequest', body => {} },     # 4
    $gh,                                                             # 5
    { op => 'unary', type => 'ServerCheckRequest', body => {} },     # 6
    { op => 'hold' } ]);
is($d->step($held, 4)->{type}, 'ServerCheckResponse',
   'a held connection on the cluster port answers');

# ---- bad input on the cluster port ---------------------------------------------

my @bad = (
    [ 'version 2',
      distro({ v => 2, op => 'SYNC', items => [ change($inj) ] }) ],
    [ 'no version',
      distro({ op => 'SYNC', items => [ change($inj) ] }) ],
    [ 'an unknown op',
      distro({ v => 1, op => 'SMASH', items => [ change($inj) ] }) ],
    [ 'an item without type, rev, services',
      distro({ v => 1, op => 'SYNC',
               items => [ { op => 'CHANGE', client => { id => 'x' } } ] }) ],
    [ 'an item without a client id',
      distro({ v => 1, op => 'SYNC',
               items => [ change(client_of('10.9.9.8', 9998, id => undef)) ] }) ],
    [ 'an instance without ip and port',
      distro({ v => 1, op => 'SYNC', items => [ change({
          id => '10.9.9.8:9998#true', type => 0, rev => 1,
          services => [ { ns => 'public', s => 'DEFAULT_GROUP@@inj',
                          instances => [ { cluster => 'DEFAULT' } ] } ] }) ] }) ],
    [ 'services not a list',
      distro({ v => 1, op => 'SYNC', items => [ change(
          client_of('10.9.9.8', 9998, services => 'all')) ] }) ],
    [ 'a valid item next to a broken one',
      distro({ v => 1, op => 'SYNC', items => [
          change(client_of('10.9.9.7', 9997)),
          { op => 'CHANGE', client => { id => 'y' } } ] }) ],
    [ 'a DELETE without an id',
      distro({ v => 1, op => 'SYNC', items => [ { op => 'DELETE' } ] }) ],
    [ 'an item op that does not exist',
      distro({ v => 1, op => 'SYNC', items => [
          { op => 'MERGE', client => client_of('10.9.9.6', 9996) } ] }) ],
    [ 'items not a list',
      distro({ v => 1, op => 'SYNC', items => change($inj) }) ],
    [ 'a body cut short',
      distro_raw('{"v":1,"op":"SYNC","items":[{"op":"CHANGE","client":'
                 . '{"id":"10.9.9.9:9999#true","type":0,"rev":1,"servi') ],
    [ 'a body that is not JSON', distro_raw("\x01\x02 not json \xff") ],
    [ 'a JSON array body', distro_raw('[1,2,3]') ],
);

my ($g1, $open1) = $d->gate;
my ($g2, $open2) = $d->gate;
my ($g3, $open3) = $d->gate;
my $n = @bad;
my $c = Test::Nd::Grpc->start($cport, [
    @$cluster_hs,
    (map { $_->[1] } @bad),                                          # 4 ..
    { op => 'unary', type => 'ServerCheckRequest', body => {} },     # 4+n
    $g1,                                                             # 5+n
    distro({ v => 1, op => 'SYNC', items => [ change($inj) ] }),     # 6+n
    $g2,                                                             # 7+n
    distro({ v => 1, op => 'SYNC',
             items => [ { op => 'DELETE', id => $inj->{id} } ] }),   # 8+n
    $g3,                                                             # 9+n
    { op => 'hold' } ]);
ok($d->step($c, 4 + $n, 60), 'cluster port: every bad request answered')
    or diag(explain($c->lines));
my $s = Test::Nd::Grpc->steps($c->lines);
is($s->{0}{type}, 'ServerCheckResponse', 'cluster port: set up');
for my $k (0 .. $#bad) {
    refused($s->{ 4 + $k }, "DistroDataRequest with $bad[$k][0]");
}
is($s->{ 4 + $n }{type}, 'ServerCheckResponse',
   'the same connection still answers after all of them');

is_deeply($d->addrs(1, 'inj'), [], 'node 1: nothing of the bad requests '
          . 'applied (inj has no instance)') or $d->diag_state('inj', []);

# other connections unaffected
$open_h->();
is($d->step($held, 6) && $d->step($held, 6)->{type}, 'ServerCheckResponse',
   'the held cluster-port connection still answers');
$d->converged('dbad', [ '10.71.0.1:7001' ], $SYNC,
              'the SDK client on node 2 still listed by every node');
my $late = $d->client(3, $d->reg('dbad', '10.71.0.3', 7003), { op => 'hold' });
$d->step_ok($late, 4, 'node 3: a new registration');
$d->converged('dbad', [ '10.71.0.1:7001', '10.71.0.3:7003' ], $SYNC,
              'replicated to every node: the nodes\' own links still work');

# ---- a valid SYNC is applied, a DELETE removes it --------------------------------

$open1->();
my $r = $d->step($c, 6 + $n);
ok($r && ($r->{body}{resultCode} // 0) == 200
   && ($r->{type} // '') ne 'ErrorResponse',
   'a valid SYNC from the test client: answered 200') or diag(explain($r));
ok($d->cl->wait_for($SYNC, sub {
       join(',', @{ $d->addrs(1, 'inj') // [] }) eq '10.9.9.9:9999' }),
   'node 1 lists the injected synced client\'s instance')
    or $d->diag_state('inj', [ '10.9.9.9:9999' ], 1);

$open2->();
$r = $d->step($c, 8 + $n);
ok($r && ($r->{body}{resultCode} // 0) == 200
   && ($r->{type} // '') ne 'ErrorResponse',
   'a DELETE of it: answered 200') or diag(explain($r));
ok($d->cl->wait_for($SYNC, sub {
       my $a = $d->addrs(1, 'inj');
       $a && !@$a }),
   'node 1 no longer lists it') or $d->diag_state('inj', [], 1);
$open3->();

# ---- DistroDataRequest on the SDK port ------------------------------------------

my $out = Test::Nd::Grpc->run($t1->port(9848), [
    $d->handshake,
    distro({ v => 1, op => 'SYNC',
             items => [ change(client_of('10.9.9.5', 9995)) ] }),      # 4
    { op => 'unary', type => 'HealthCheckRequest', body => {} },       # 5
]);
$s = Test::Nd::Grpc->steps($out);
refused($s->{4}, 'DistroDataRequest on the SDK port');
is($s->{5}{type}, 'HealthCheckResponse', 'SDK port: the connection still '
                                         . 'answers');
is_deeply($d->addrs(1, 'inj'), [], 'node 1: the SDK-port request applied '
          . 'nothing') or $d->diag_state('inj', [], 1);

$d->done_testing;
