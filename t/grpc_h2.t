#!/usr/bin/perl
# Our HTTP/2 server, frame by frame: the connection preface and SETTINGS,
# PING, header blocks (padding, priority, CONTINUATION, HPACK with the
# dynamic table), and every kind of bad input: a connection error is a
# GOAWAY with the right code, a stream error an RST_STREAM; afterwards
# the server serves new connections as before.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::H2;

my $t = Test::Nd->new;
$t->has('grpc');
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    max_concurrent_streams 4;\n}\n"));
$t->run;
my $port = $t->port(9848);
my %E = %Test::Nd::H2::ERR;
my %T = %Test::Nd::H2::TYPE;

sub h2 (%o) { Test::Nd::H2->new($port, %o) }
sub frame { Test::Nd::H2::frame_bytes(@_) }

# a new connection still works: ServerCheck answered
sub still_serves ($what) {
    my $c = h2();
    $c->call(1, 'ServerCheckRequest');
    my $r = $c->response(1);
    is($r->{message}{type}, 'ServerCheckResponse', "$what: server still serves");
    $c->close;
}

# a connection error: GOAWAY with code, then the connection closes
sub conn_error ($what, $code, @frames) {
    my $c = h2(raw => 1);
    $c->send(join '', @frames);
    is($c->goaway, $code, "$what: GOAWAY $code");
    ok($c->closed, "$what: connection closed");
    still_serves($what);
}

# the server's preface: SETTINGS, WINDOW_UPDATE, and ACK of ours
{
    my $c = h2();
    my $s = $c->wait_type('SETTINGS');
    ok($s && !($s->{flags} & 1), 'server SETTINGS first');
    my %set = unpack('(nN)*', $s->{payload});
    is($set{3}, 4, 'MAX_CONCURRENT_STREAMS from the conf');
    is($set{4}, 4 * 1024 * 1024, 'INITIAL_WINDOW_SIZE 4 MiB');
    is($set{6}, 16384, 'MAX_HEADER_LIST_SIZE 16384');
    my $w = $c->wait_type('WINDOW_UPDATE');
    is(unpack('N', $w->{payload}), 16 * 1024 * 1024 - 65535,
       'connection window raised to 16 MiB');
    my $ack = $c->wait_for(sub ($f) { $f->{type} == $T{SETTINGS}
                                      && $f->{flags} & 1 });
    ok($ack && $ack->{payload} eq '', 'our SETTINGS acknowledged');
    $c->frame('SETTINGS', 1, 0);                  # ACK theirs

    is($c->ping('12345678'), '12345678', 'PING answered with its data');
    my @pongs = map { $c->ping(sprintf('ping%04d', $_)) } 1 .. 50;
    is(scalar(grep { defined } @pongs), 50, 'every PING answered');

    # unknown frame types and PRIORITY are ignored
    $c->frame(0xfa, 0xff, 0, 'x' x 100);
    $c->frame('PRIORITY', 0, 9, pack('NC', 0, 15));
    is($c->ping, 'nd-ping!', 'unknown frame type and PRIORITY ignored');

    # a call with every header-block feature: padding + priority on
    # HEADERS, the block split over CONTINUATIONs, padded DATA
    my $block = Test::Nd::H2::request_block(index => 1);
    my $hp = "\x03" . pack('NC', 0, 15) . substr($block, 0, 10) . "\0\0\0";
    $c->send(frame('HEADERS', 0x8 | 0x20, 1, $hp)
             . frame('CONTINUATION', 0, 1, substr($block, 10, 20))
             . frame('CONTINUATION', 0x4, 1, substr($block, 30)));
    my $msg = Test::Nd::H2::payload('ServerCheckRequest');
    $c->frame('DATA', 0x8 | 0x1, 1, "\x05" . $msg . "\0" x 5);
    my $r = $c->response(1);
    is($r->{headers}{':status'}, '200', 'padded, continued call: 200');
    is($r->{headers}{'content-type'}, 'application/grpc', 'content-type');
    is($r->{message}{type}, 'ServerCheckResponse', 'and answered');
    is($r->{trailers}{'grpc-status'}, '0', 'trailers: grpc-status 0');

    is(scalar @{ $c->{table} }, 3,
       'server indexed content-type, grpc-accept-encoding, grpc-status');

    # the same headers again, now all from the dynamic table (newest
    # is 62: te, the oldest 67: :method)
    $c->frame('HEADERS', 0x4, 3,
              join '', map { chr(0x80 | $_) } reverse 62 .. 67);
    $c->frame('DATA', 0x1, 3, $msg);
    $r = $c->response(3);
    is($r->{message}{type}, 'ServerCheckResponse',
       'request from indexed dynamic-table entries');
    ok($r->{headers}{'content-type'} eq 'application/grpc'
       && $r->{trailers}{'grpc-status'} eq '0',
       'second response from the server\'s indexed entries');


    # DATA on a stream that is closed: RST_STREAM STREAM_CLOSED, and the
    # connection goes on
    $c->frame('DATA', 0, 3, 'xxxx');
    my $rst = $c->wait_type('RST_STREAM', sid => 3);
    is($rst && unpack('N', $rst->{payload}), $E{STREAM_CLOSED},
       'DATA on a closed stream: RST_STREAM STREAM_CLOSED');

    # RST_STREAM mid-call: the call is dropped, the connection works
    $c->frame('HEADERS', 0x4, 5, Test::Nd::H2::request_block());
    $c->frame('DATA', 0, 5, substr($msg, 0, 8));
    $c->frame('RST_STREAM', 0, 5, pack('N', $E{CANCEL}));
    $c->call(7, 'ServerCheckRequest');
    $r = $c->response(7);
    is($r->{message}{type}, 'ServerCheckResponse',
       'RST_STREAM mid-call: next call answered');

    # a bad stream WINDOW_UPDATE is a stream error only
    $c->frame('HEADERS', 0x4, 9, Test::Nd::H2::request_block());
    $c->frame('WINDOW_UPDATE', 0, 9, pack('N', 0x7fffffff));
    $rst = $c->wait_type('RST_STREAM', sid => 9);
    is($rst && unpack('N', $rst->{payload}), $E{FLOW_CONTROL_ERROR},
       'stream window over 2^31 - 1: RST_STREAM FLOW_CONTROL_ERROR');

    # a malformed request (uppercase name) is a stream error
    $c->frame('HEADERS', 0x5, 11, Test::Nd::H2::request_block()
              . Test::Nd::H2::hpack_literal('X-Bad', 'v'));
    $rst = $c->wait_type('RST_STREAM', sid => 11);
    is($rst && unpack('N', $rst->{payload}), $E{PROTOCOL_ERROR},
       'uppercase header name: RST_STREAM PROTOCOL_ERROR');

    # a client table of 0: a size update, and no more indexing
    $c->frame('SETTINGS', 0, 0, pack('nN', 1, 0));
    $c->call(13, 'ServerCheckRequest');
    $r = $c->response(13);
    is_deeply($c->{updates}, [ 0, 0 ],
              'HEADER_TABLE_SIZE 0: size updates at the next block');
    ok($r->{message} && $r->{trailers}{'grpc-status'} eq '0'
       && !@{ $c->{table} }, 'then literals only');
    is($c->ping, 'nd-ping!', 'the connection is still up');
    $c->close;
}

# too many streams: the fifth open one is refused, the others go on
{
    my $c = h2();
    $c->frame('HEADERS', 0x4, $_, Test::Nd::H2::request_block())
        for 1, 3, 5, 7;
    $c->frame('HEADERS', 0x4, 9, Test::Nd::H2::request_block());
    my $rst = $c->wait_type('RST_STREAM', sid => 9);
    is($rst && unpack('N', $rst->{payload}), $E{REFUSED_STREAM},
       'stream over max_concurrent_streams: REFUSED_STREAM');
    $c->frame('DATA', 0x1, 1, Test::Nd::H2::payload('ServerCheckRequest'));
    is($c->response(1)->{message}{type}, 'ServerCheckResponse',
       'an open stream still answered');
    $c->call(11, 'ServerCheckRequest');
    is($c->response(11)->{message}{type}, 'ServerCheckResponse',
       'a new stream once one closed');
    $c->close;
}

# connection errors
{
    my $c = h2(raw => 1);
    $c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ok($c->closed, 'bad preface: connection closed');
    still_serves('bad preface');
}

my $pre = Test::Nd::H2::PREFACE . frame('SETTINGS', 0, 0);
my $req = Test::Nd::H2::request_block();

conn_error('first frame not SETTINGS', $E{PROTOCOL_ERROR},
           Test::Nd::H2::PREFACE, frame('PING', 0, 0, 'x' x 8));
conn_error('frame over 16384', $E{FRAME_SIZE_ERROR},
           $pre, frame(0xfa, 0, 0, 'x' x 16385));
conn_error('PING of 7 bytes', $E{FRAME_SIZE_ERROR},
           $pre, frame('PING', 0, 0, 'x' x 7));
conn_error('SETTINGS of 5 bytes', $E{FRAME_SIZE_ERROR},
           $pre, frame('SETTINGS', 0, 0, 'x' x 5));
conn_error('HEADERS on stream 0', $E{PROTOCOL_ERROR},
           $pre, frame('HEADERS', 0x5, 0, $req));
conn_error('even stream id', $E{PROTOCOL_ERROR},
           $pre, frame('HEADERS', 0x5, 2, $req));
conn_error('decreasing stream id', $E{PROTOCOL_ERROR},
           $pre, frame('HEADERS', 0x4, 5, $req),
           frame('HEADERS', 0x4, 3, $req));
conn_error('CONTINUATION without HEADERS', $E{PROTOCOL_ERROR},
           $pre, frame('CONTINUATION', 0x4, 1, $req));
conn_error('PING inside a header block', $E{PROTOCOL_ERROR},
           $pre, frame('HEADERS', 0, 1, substr($req, 0, 5)),
           frame('PING', 0, 0, 'x' x 8));
conn_error('CONTINUATION of another stream', $E{PROTOCOL_ERROR},
           $pre, frame('HEADERS', 0, 1, substr($req, 0, 5)),
           frame('CONTINUATION', 0x4, 3, substr($req, 5)));
conn_error('HPACK index 0', $E{COMPRESSION_ERROR},
           $pre, frame('HEADERS', 0x5, 1, "\x80"));
conn_error('HPACK index past the tables', $E{COMPRESSION_ERROR},
           $pre, frame('HEADERS', 0x5, 1, "\xbe"));
conn_error('HPACK Huffman EOS', $E{COMPRESSION_ERROR},
           $pre, frame('HEADERS', 0x5, 1, "\x00\x01a\x84\xff\xff\xff\xff"));
conn_error('HPACK truncated integer', $E{COMPRESSION_ERROR},
           $pre, frame('HEADERS', 0x5, 1, "\xff\x80"));
conn_error('HPACK table size over 4096', $E{COMPRESSION_ERROR},
           $pre, frame('HEADERS', 0x5, 1, "\x3f\xe2\x1f"));
conn_error('HEADERS padding over its length', $E{PROTOCOL_ERROR},
           $pre, frame('HEADERS', 0x8 | 0x4, 1, "\x10abc"));
conn_error('DATA on an idle stream', $E{PROTOCOL_ERROR},
           $pre, frame('DATA', 0, 1, 'xx'));
conn_error('connection window over 2^31 - 1', $E{FLOW_CONTROL_ERROR},
           $pre, frame('WINDOW_UPDATE', 0, 0, pack('N', 0x7fffffff)));
conn_error('WINDOW_UPDATE of 0', $E{PROTOCOL_ERROR},
           $pre, frame('WINDOW_UPDATE', 0, 0, pack('N', 0)));
conn_error('INITIAL_WINDOW_SIZE over 2^31 - 1', $E{FLOW_CONTROL_ERROR},
           $pre, frame('SETTINGS', 0, 0, pack('nN', 4, 0x80000000)));
conn_error('MAX_FRAME_SIZE under 16384', $E{PROTOCOL_ERROR},
           $pre, frame('SETTINGS', 0, 0, pack('nN', 5, 16383)));
conn_error('PUSH_PROMISE from a client', $E{PROTOCOL_ERROR},
           $pre, frame('PUSH_PROMISE', 0x4, 1, pack('N', 2) . $req));
conn_error('RST_STREAM on an idle stream', $E{PROTOCOL_ERROR},
           $pre, frame('RST_STREAM', 0, 1, pack('N', 8)));

# receive flow control: a long-lived bi-stream gets its window back as
# it is used (never stalls), and so does the connection
{
    my $c = h2();
    $c->frame('HEADERS', 0x4, 1, Test::Nd::H2::request_block(
        path => '/BiRequestStream/requestBiStream'));
    my $msg = Test::Nd::H2::payload('ClientDetectionResponse',
                                    { pad => 'p' x 60000 });
    my $sent = 0;
    my $data = '';
    for (1 .. 160) {                    # ~9.6 MB in 16 KB frames
        for (my $o = 0; $o < length $msg; $o += 16384) {
            $data .= frame('DATA', 0, 1, substr($msg, $o, 16384));
        }
        $sent += length $msg;
    }
    $c->send($data);
    my (%granted, $f);
    while ($f = $c->wait_type('WINDOW_UPDATE', timeout => 10)) {
        $granted{ $f->{sid} } += unpack('N', $f->{payload});
        last if $granted{0} && $granted{0} > 16 * 1024 * 1024 - 65535
                && $granted{1};
    }
    ok(($granted{1} // 0) >= 2 * 1024 * 1024,
       "bi-stream window given back ($granted{1} of $sent bytes)");
    ok(($granted{0} // 0) - (16 * 1024 * 1024 - 65535) >= 8 * 1024 * 1024,
       'connection window given back');
    is($c->ping, 'nd-ping!', 'connection up after 9.6 MB on a stream');
    $c->close;
}

# client GOAWAY: the server ends the connection once streams are done
{
    my $c = h2();
    $c->call(1, 'ServerCheckRequest');
    $c->frame('GOAWAY', 0, 0, pack('NN', 0, 0));
    is($c->response(1)->{message}{type}, 'ServerCheckResponse',
       'client GOAWAY: the open call is answered');
    ok($c->closed, 'then the server closes');
}

still_serves('at the end');
$t->done_testing;
