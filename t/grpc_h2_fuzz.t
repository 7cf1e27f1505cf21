#!/usr/bin/perl
# Mutated HTTP/2 input, seeded: sequences of valid and broken frames
# (calls, bi-streams, window updates, resets, settings, split header
# blocks, and frames with random bytes changed or cut), 400 connections.
# The server must neither crash nor hang nor report a sanitizer error,
# and must serve a normal call afterwards.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::H2;

my $t = Test::Nd->new;
$t->has('grpc');
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    max_concurrent_streams 3;\n}\n"));
$t->run;
my $port = $t->port(9848);

sub F { Test::Nd::H2::frame_bytes(@_) }
my $req = Test::Nd::H2::request_block(index => 1);
my $bidi = Test::Nd::H2::request_block(
    path => '/BiRequestStream/requestBiStream');
my $msg = Test::Nd::H2::payload('ServerCheckRequest');

sub case () {
    my @f = (F('SETTINGS', 0, 0, pack('nN', 4, int rand 70000)));
    my $sid = 1;
    for (1 .. 1 + int rand 12) {
        my $r = rand;
        if ($r < 0.25) {
            push @f, F('HEADERS', 4 | (rand() < .5), $sid, $req),
                     F('DATA', 1, $sid, $msg);
            $sid += 2;
        } elsif ($r < 0.35) {
            push @f, F('HEADERS', 4, $sid, $bidi), F('DATA', 0, $sid, $msg);
            $sid += 2;
        } elsif ($r < 0.45) {
            push @f, F('WINDOW_UPDATE', 0, rand() < .5 ? 0 : $sid - 2,
                       pack('N', int rand 2**31));
        } elsif ($r < 0.5) {
            push @f, F('RST_STREAM', 0, $sid - 2, pack('N', 8));
        } elsif ($r < 0.55) {
            push @f, F('PING', 0, 0, 'abcdefgh');
        } elsif ($r < 0.6) {
            push @f, F('SETTINGS', 0, 0,
                       pack('nN', 1 + int rand 6, int rand 70000));
        } elsif ($r < 0.65) {
            push @f, F('HEADERS', 0, $sid, substr($req, 0, 7)),
                     F('CONTINUATION', 4, $sid, substr($req, 7));
            $sid += 2;
        } else {
            my $b = F('HEADERS', 5, $sid, $req) . F('DATA', 1, $sid, $msg);
            $sid += 2;
            for (1 .. 1 + int rand 4) {
                substr($b, int rand length $b, 1, chr int rand 256);
            }
            $b = substr($b, 0, int rand length $b) if rand() < 0.2;
            push @f, $b;
        }
    }
    return Test::Nd::H2::PREFACE . join '', @f;
}

my $up = 1;
for my $seed (1 .. 4) {
    srand($seed);
    for my $i (1 .. 100) {
        my $c = eval { Test::Nd::H2->new($port, raw => 1) };
        if (!$c) {
            $up = 0;
            diag("cannot connect at seed $seed case $i");
            last;
        }
        $c->send(case());
        $c->wait_for(sub { 0 }, 0.01);
        $c->close;
    }
}
ok($up, '400 mutated connections: the server kept accepting');

my $c = Test::Nd::H2->new($port);
$c->call(1, 'ServerCheckRequest');
is($c->response(1)->{message}{type}, 'ServerCheckResponse',
   'then a normal call is answered');
ok($t->http_get('/nacos/v1/console/health/liveness')->{status} == 200,
   'HTTP still served');

$t->done_testing;
