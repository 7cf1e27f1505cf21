#!/usr/bin/perl
# libnacos and nacosctl against nacosd with auth on: the client logs in
# (POST /nacos/v1/auth/users/login), every gRPC request carries the
# accessToken, the token is renewed before it expires (a 3 s tokenTtl
# here: requests made after it still work), a wrong password or no user
# is refused with exit code 2.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Auth;
use Test::Nd::Client;

my $t = Test::Nd->new;
$t->has(qw(auth grpc store config naming));
Test::Nd::Client->require_built(qw(nd_client_drive nacosctl));
my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . "store {\n    schema_dir $schema;\n}\n"
           . Test::Nd::Auth::conf($t, admin_password => 'Client-Admin-1',
                                  ttl => '3s')));
$t->run;
ok($t->wait_ready(20), 'ready');
ok($t->wait_for(5, sub {
       Test::Nd::Auth::token_of($t, 'nacos', 'Client-Admin-1') }),
   'the admin is set');
my $addr = '127.0.0.1:' . $t->port;

my $out = Test::Nd::Client->drive($t, '-u', 'nacos', '-p', 'Client-Admin-1',
    '-h', 500, '-l', 60000, $addr,
    qw(ready publish a G v1 get a G register svc 10.0.0.1 1
       listen a G wait_listens 1 sleep 4000
       publish a G v2 wait_change 1 query svc stats));
like($out, qr/^publish rc=0\nget rc=0 content=v1 /m,
     'logged in: publish and get');
like($out, qr/^register rc=0$/m, 'register');
like($out, qr/^publish rc=0\nchange a G \S+ v2$/m,
     'after the first token expired: publish, push, listen, query');
like($out, qr/^query rc=0 hosts=10.0.0.1:1$/m, 'query');
like($out, qr/^stats .* logins=([2-9]|\d\d+)$/m,
     'the token was renewed in the background');

sub sh ($cmd) { Test::Nd::Client->sh($t, "NACOS_SERVERS=$addr; export NACOS_SERVERS; $cmd") }
my ($rc, $o) = sh('echo hi | NACOS_PASSWORD=Client-Admin-1 $NACOSCTL -u nacos config publish b && NACOS_PASSWORD=Client-Admin-1 $NACOSCTL -u nacos config get b');
is($rc, 0, 'nacosctl -u with NACOS_PASSWORD: exit 0');
is($o, "hi\n", '... publish and get');
($rc, $o) = sh('NACOS_PASSWORD=wrong-password $NACOSCTL -u nacos -t 1000 config get b');
is($rc, 2, 'a wrong password: exit 2');
like($o, qr/login as "nacos" .*refused/, '... login refused');
($rc, $o) = sh('$NACOSCTL config get b');
is($rc, 2, 'no user: exit 2');
like($o, qr/403/, '... the server said 403');

$t->stop;
$t->done_testing;
