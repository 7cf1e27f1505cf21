#!/usr/bin/perl
# Send-side flow control of our HTTP/2 server: a response of several MB
# (a large config over ConfigQueryRequest) to a client that keeps the
# default 64 KB windows arrives only as the client grants window, in
# frames no larger than 16384, stream and connection windows both
# counted, SETTINGS_INITIAL_WINDOW_SIZE changes applied to open streams;
# a stream reset mid-response sends nothing more.
use v5.36;
use Test::More;
use Digest::MD5 qw(md5_hex);
use lib 't/lib';
use Test::Nd;
use Test::Nd::H2;

my $t = Test::Nd->new;
$t->has(qw(grpc store config));
my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . "store {\n    schema_dir $schema;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');
my %T = %Test::Nd::H2::TYPE;

my $content = 'abcdefghij' x (300 * 1024);          # 3 MB
my $r = $t->http_post('/nacos/v1/cs/configs',
                      "dataId=big.txt&group=G&content=$content");
is($r->{status}, 200, 'a 3 MB config published');

my $c = Test::Nd::H2->new($t->port(9848));
$c->frame('SETTINGS', 1, 0);
$c->frame('HEADERS', 0x4, 1, Test::Nd::H2::request_block(
    path => '/BiRequestStream/requestBiStream'));
$c->frame('DATA', 0, 1, Test::Nd::H2::payload('ConnectionSetupRequest',
    { clientVersion => 'Nacos-Java-Client:v2.5.1', labels => {} }));
$c->call(3, 'ConfigQueryRequest', { dataId => 'big.txt', group => 'G' });

# what arrives on $sid within $wait seconds once nothing more comes
my %got = (data => '', max => 0, trailers => undef, frames => 0);
sub drain ($sid, $wait = 0.5) {
    my $n = 0;
    while (my $f = $c->read_frame($wait)) {
        next unless $f->{sid} == $sid;
        if ($f->{type} == $T{DATA}) {
            $got{data} .= $f->{payload};
            $n += length $f->{payload};
            $got{frames}++;
            $got{max} = length $f->{payload} if length $f->{payload} > $got{max};
        } elsif ($f->{type} == $T{HEADERS}) {
            $got{ $got{headers} ? 'trailers' : 'headers' } =
                $c->hpack_decode($f->{payload});
        }
    }
    return $n;
}

sub grant ($sid, $n) { $c->frame('WINDOW_UPDATE', 0, $sid, pack('N', $n)) }

is(drain(3, 1), 65535, 'first the default 65535 bytes, no more');
is($got{headers}{':status'}, '200', 'response headers');
ok(!$got{trailers}, 'no trailers yet');

grant(3, 1_000_000);
is(drain(3), 0, 'stream window alone: nothing (connection window is 0)');

grant(0, 300_000);
is(drain(3), 300_000, 'connection grant of 300000: exactly that much');

# the stream has 1,000,000 + 65535 - 365535 = 700000 left: an
# INITIAL_WINDOW_SIZE of 0 takes 65535 off it (RFC 9113 6.9.2)
$c->frame('SETTINGS', 0, 0, pack('nN', 4, 0));
grant(0, 1_000_000);
is(drain(3), 700_000 - 65535,
   'SETTINGS_INITIAL_WINDOW_SIZE lowered: the stream window shrinks');
$c->frame('SETTINGS', 0, 0, pack('nN', 4, 100_000));
is(drain(3), 100_000, 'raised again: the difference is sent');

is(length $got{data}, 65535 + 300_000 + 634_465 + 100_000,
   'bytes received = bytes granted');

while (!$got{trailers}) {
    grant(3, 1_000_000);
    grant(0, 1_000_000);
    my $n = drain(3);
    ok($n <= 1_000_000, "no more than granted ($n)") or last;
    last if $n == 0;
}
is($got{trailers}{'grpc-status'}, '0', 'trailers: grpc-status 0');
ok($got{max} <= 16384, "DATA frames of at most 16384 ($got{max})");
my $m = Test::Nd::H2::decode_message($got{data});
is($m->{type}, 'ConfigQueryResponse', 'ConfigQueryResponse');
is(length($m->{body}{content} // ''), length $content, '3 MB of content');
is($m->{body}{md5}, md5_hex($content), 'content md5');

# reset mid-response: nothing more on that stream, the rest goes on
$c->call(5, 'ConfigQueryRequest', { dataId => 'big.txt', group => 'G' });
%got = (data => '', max => 0, frames => 0);
grant(0, 10_000_000);
my $first = drain(5);
is($first, 100_000, 'second query: the current initial window, no more');
$c->frame('RST_STREAM', 0, 5, pack('N', 8));
grant(5, 1_000_000);
is(drain(5), 0, 'after RST_STREAM: nothing more on that stream');
$c->call(7, 'ServerCheckRequest');
is($c->response(7)->{message}{type}, 'ServerCheckResponse',
   'the connection goes on');
$c->close;

$t->done_testing;
