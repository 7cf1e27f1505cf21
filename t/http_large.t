#!/usr/bin/perl
# Large answers (issue 12, item 2): a config of the maximum size
# (max_content_size, Nacos's maxContent) is published, one byte more is
# refused with Nacos's INVALID_PARAM words, and the maximum reads back
# whole over HTTP v1, v2 and gRPC although it is larger than the
# connection's send queue (send_queue_max 1m here): the answer is written
# as the client takes it.  Pipelined requests whose answers add up past
# the send queue are all answered: reading waits while the queue is full.
use v5.36;
use Test::More;
use Digest::MD5 qw(md5_hex);
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw(store config));
my $schema = Test::Nd::root() . '/conf/schema';
my $grpc = $t->has_module('grpc');
$t->write_conf('nacosd.conf', $t->conf(
    access_log => undef,
    http => "    send_queue_max 1m;\n",
    extra => "store {\n    schema_dir $schema;\n    max_content_size 3m;\n}\n"
           . ($grpc ? "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n" : '')));
$t->run;
ok($t->wait_ready(20), 'ready');

my $max = 3 * 1024 * 1024;
my $content = join '', map { sprintf "%07d\n", $_ } 0 .. $max / 8 - 1;
is(length $content, $max, 'content of exactly max_content_size');

sub publish ($id, $c) {
    return $t->http_req('POST', '/nacos/v1/cs/configs', timeout => 60,
        body => "dataId=$id&group=G&content=$c",
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
}
my $r = publish('max.txt', $content);
is($r->{status}, 200, 'the maximum is published');
$r = publish('over.txt', $content . 'x');
is($r->{status}, 400, 'one byte more: 400');
like($r->{body}, qr/invalid content, over $max/, "Nacos's words");

$r = $t->http_get('/nacos/v1/cs/configs?dataId=max.txt&group=G',
                  timeout => 60);
is($r->{status}, 200, 'v1 read: 200');
is(length $r->{body}, $max, 'v1 read: all of it');
is(md5_hex($r->{body}), md5_hex($content), 'v1 read: the same bytes');

my $j = $t->http_json('GET', '/nacos/v2/cs/config?dataId=max.txt&group=G',
                      timeout => 60);
is($j && md5_hex($j->{data} // ''), md5_hex($content),
   'v2 read: the same content');

SKIP: {
    skip 'no grpc module', 2 unless $grpc;
    Test::Nd::Grpc->ensure_client;
    my @hello = Test::Nd::Grpc->hello;
    my $lines = Test::Nd::Grpc->run($t->port(9848), [ @hello,
        { %{ Test::Nd::Grpc->call('ConfigQueryRequest', dataId => 'max.txt',
                                  group => 'G') }, digest => 1 } ],
        timeout => 60);
    my $q = Test::Nd::Grpc->steps($lines)->{scalar @hello};
    is($q && $q->{body}{resultCode}, 200, 'gRPC read: answered');
    is($q && $q->{body}{content}{md5}, md5_hex($content),
       'gRPC read: the same content');
}

# pipelining: 4 x 3 MB, and 12 x 300 KB, each past the 1 MB queue
ok(publish('mid.txt', substr($content, 0, 300 * 1024))->{status} == 200,
   'a 300 KB config');
for my $case ([ 'max.txt', 4, $max ], [ 'mid.txt', 12, 300 * 1024 ]) {
    my ($id, $n, $len) = @$case;
    my $req = "GET /nacos/v1/cs/configs?dataId=$id&group=G HTTP/1.1\r\n"
            . "Host: x\r\n\r\n";
    my @r = $t->http_keepalive([ ($req) x $n ], pipeline => 1,
                               timeout => 60);
    is(scalar(grep { $_->{status} == 200 && length $_->{body} == $len } @r),
       $n, "$n pipelined reads of $id, all whole");
}

$t->stop;
done_testing;
