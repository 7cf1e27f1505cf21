#!/usr/bin/perl
# keepalive_timeout 0 turns keep-alive off, as in nginx.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;

my $t = Test::Nd->new;
$t->write_conf('nacosd.conf', $t->conf(http => 'keepalive_timeout 0;'));
$t->run;

my $c = $t->connect;
$c->send("GET /nacos/v1/console/health/liveness HTTP/1.1\r\nHost: x\r\n\r\n");
my $r = $c->read_response;
is($r && $r->{status}, 200, 'answered');
is($r && $r->{headers}{connection}, 'close', 'Connection: close');
ok($c->wait_closed(5), 'and the connection is closed');

$t->done_testing;
