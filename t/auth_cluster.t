# Auth in a cluster of two on one PostgreSQL: the token secret made at
# first start is shared through the store (a token from one member works
# on the other), the admin set on one member and a user made there are
# seen by the other (the tables reload), members still talk (their calls
# carry the server identity), and the cluster port refuses a request
# without it.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Auth;
use Test::Nd::Cluster;
use Test::Nd::Grpc;

my $cl = Test::Nd::Cluster->new(
    nodes => 2,
    conf  => sub ($c, $i) {
        { cluster => "report_interval 500ms;",
          extra => Test::Nd::Auth::conf($c->node($i), secret_file => 0,
                                        refresh => '300ms') }
    });
Test::Nd::Grpc->ensure_client;
$cl->node(1)->has(qw(auth cluster));

if (!ok($cl->start_all, 'two nodes with auth on started')) {
    $cl->done_testing;
    exit 1;
}

my ($n1, $n2) = ($cl->node(1), $cl->node(2));
is($n1->http_post('/nacos/v1/auth/users/admin', 'password=Clu-Admin-1')
     ->{status}, 200, 'admin set on node 1');
my $tok;
ok($n2->wait_for(10, sub {
       $tok = Test::Nd::Auth::token_of($n2, 'nacos', 'Clu-Admin-1') }),
   'node 2 sees the admin');
$cl->{token} = $tok;
ok($cl->wait_all_up(20), 'both see both UP (server identity accepted)')
    or $cl->diag_views;
is(Test::Nd::Auth::req($n1, 'POST', '/nacos/v1/cs/configs', $tok,
                       dataId => 'c', group => 'G', content => 'x')->{status},
   200, "node 2's token works on node 1 (one secret, from the store)");
is(Test::Nd::Auth::req($n1, 'POST', '/nacos/v1/auth/users', $tok,
                       username => 'u1', password => 'U1-password')->{status},
   200, 'a user made on node 1');
ok($n2->wait_for(10, sub {
       Test::Nd::Auth::token_of($n2, 'u1', 'U1-password') }),
   'logs in on node 2');

# the cluster port: a member's request without the identity
my $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run($n1->port(9849), [
    { op => 'unary', type => 'MemberReportRequest',
      body => { node => { ip => '127.0.0.1', port => $n2->port,
                          address => $cl->addr(2), state => 'UP' } } },
    { op => 'unary', type => 'MemberReportRequest',
      headers => { 'Nacos-Server-Identity' => 'not-the-secret' },
      body => { node => { ip => '127.0.0.1', port => $n2->port,
                          address => $cl->addr(2), state => 'UP' } } },
]));
is($s->{0}{body}{errorCode}, 403, 'cluster port: no identity, 403');
like($s->{0}{body}{message} // '', qr/server identity/, 'and says why');
is($s->{1}{body}{errorCode}, 403, 'cluster port: a wrong identity, 403');
like($n1->error_log, qr/without the server identity refused/,
     'the refusal is logged');

$cl->done_testing;
