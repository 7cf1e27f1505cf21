#!/usr/bin/perl
# The nacos npm package, unchanged, against nacosd with auth on: it logs
# in with username and password and publishes, reads, listens, registers
# and lists; with a wrong password its calls fail.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Auth;
use Test::Nd::Node;

my $t = Test::Nd->new;
$t->has(qw(auth store config naming));
Test::Nd::Node::require_packages('nacos@2' => 'nacos');

$t->write_conf('nacosd.conf', $t->conf(
    extra => Test::Nd::Auth::conf($t, admin_password => 'Js-Admin-123')));
$t->run;
ok($t->wait_ready(20), 'ready');
ok($t->wait_for(5, sub {
       Test::Nd::Auth::token_of($t, 'nacos', 'Js-Admin-123') }),
   'the admin is set');

my ($rc, $out) = Test::Nd::Node::run($t, 'js/auth_client.js',
                                     $t->port(8848), 'nacos', 'Js-Admin-123',
                                     'wrong-password');
my %step;
for my $line (split /\n/, $out) {
    my $j = Test::Nd::decode_json($line) or next;
    $step{ $j->{step} } = $j->{data};
}
is($rc, 0, 'client exited 0') or diag($out);
ok($step{published}, 'publishSingle with username/password');
is($step{get}, 'v=1', 'getConfig');
is($step{changed}, 'v=2', 'subscribe saw the change (long polling)');
ok($step{registered}, 'registerInstance');
is_deeply($step{instances}, ['10.30.0.1'], 'getAllInstances');
ok(!$step{bad_publish} || ref $step{bad_publish},
   'with a wrong password publish does not succeed') or diag($out);
is($t->http_get('/nacos/v1/cs/configs?dataId=js.auth&group=DEFAULT_GROUP'
                . '&username=nacos&password=Js-Admin-123')->{body}, 'v=2',
   'the wrong-password publish changed nothing');
ok($step{done}, 'client finished');

$t->done_testing;
