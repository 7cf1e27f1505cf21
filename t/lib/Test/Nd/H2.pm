package Test::Nd::H2;

# A raw HTTP/2 client for the tests that speak frames to nacosd's gRPC
# port: frame I/O, a tiny HPACK encoder (literals, optionally indexed or
# Huffman-free only) and decoder (enough for what the server sends), and
# the Nacos Payload protobuf, so a test can make real calls while it
# breaks the protocol on purpose.

use v5.36;
use IO::Socket::INET;
use IO::Select;
use JSON::PP;
use Time::HiRes qw(time);

our %TYPE = (DATA => 0, HEADERS => 1, PRIORITY => 2, RST_STREAM => 3,
             SETTINGS => 4, PUSH_PROMISE => 5, PING => 6, GOAWAY => 7,
             WINDOW_UPDATE => 8, CONTINUATION => 9);
our %ERR = (NO_ERROR => 0, PROTOCOL_ERROR => 1, INTERNAL_ERROR => 2,
            FLOW_CONTROL_ERROR => 3, STREAM_CLOSED => 5,
            FRAME_SIZE_ERROR => 6, REFUSED_STREAM => 7, CANCEL => 8,
            COMPRESSION_ERROR => 9, ENHANCE_YOUR_CALM => 11);
use constant PREFACE => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

# connect; unless raw => 1, send the preface and an (empty or given)
# SETTINGS frame
sub new ($class, $port, %opt) {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 5) or die "connect: $!";
    $s->blocking(0);
    my $self = bless { s => $s, buf => '', eof => 0, frames => [] }, $class;
    unless ($opt{raw}) {
        $self->send(PREFACE);
        $self->frame('SETTINGS', 0, 0, settings_payload(%{ $opt{settings}
                                                             // {} }));
    }
    return $self;
}

sub settings_payload (%s) {
    my %id = (HEADER_TABLE_SIZE => 1, ENABLE_PUSH => 2,
              MAX_CONCURRENT_STREAMS => 3, INITIAL_WINDOW_SIZE => 4,
              MAX_FRAME_SIZE => 5, MAX_HEADER_LIST_SIZE => 6);
    return join '', map { pack('nN', $id{$_} // $_, $s{$_}) } sort keys %s;
}

sub send ($self, $bytes) {
    my $s = $self->{s};
    $s->blocking(1);
    my $ok = defined syswrite($s, $bytes);
    $s->blocking(0);
    return $ok;
}

sub frame_bytes ($type, $flags, $sid, $payload = '') {
    $type = $TYPE{$type} // $type;
    my $len = length $payload;
    return pack('CnCCN', $len >> 16, $len & 0xffff, $type, $flags, $sid)
           . $payload;
}

sub frame ($self, @f) { $self->send(frame_bytes(@f)) }

# the next frame as { type, flags, sid, payload }, or undef (closed or
# nothing within the timeout)
sub read_frame ($self, $timeout = 5) {
    my $deadline = time + $timeout;
    while (1) {
        if (length $self->{buf} >= 9) {
            my ($hi, $lo, $type, $flags, $sid) =
                unpack('CnCCN', $self->{buf});
            my $len = $hi << 16 | $lo;
            if (length $self->{buf} >= 9 + $len) {
                my $payload = substr($self->{buf}, 9, $len);
                substr($self->{buf}, 0, 9 + $len, '');
                my $f = { type => $type, flags => $flags,
                          sid => $sid & 0x7fffffff, payload => $payload };
                push @{ $self->{frames} }, $f;
                return $f;
            }
        }
        return undef if $self->{eof};
        my $left = $deadline - time;
        return undef if $left <= 0;
        next unless IO::Select->new($self->{s})->can_read($left);
        my $n = sysread($self->{s}, $self->{buf}, 65536, length $self->{buf});
        $self->{eof} = 1 if !$n;
    }
}

# frames until $cb->($frame) is true: that frame, or undef
sub wait_for ($self, $cb, $timeout = 5) {
    my $deadline = time + $timeout;
    while ((my $left = $deadline - time) > 0) {
        my $f = $self->read_frame($left) // return undef;
        return $f if $cb->($f);
    }
    return undef;
}

sub wait_type ($self, $type, %o) {
    my $t = $TYPE{$type};
    return $self->wait_for(sub ($f) {
        $f->{type} == $t && (!defined $o{sid} || $f->{sid} == $o{sid})
    }, $o{timeout} // 5);
}

# the GOAWAY error code, or undef; then the connection must close
sub goaway ($self, $timeout = 5) {
    my $f = $self->wait_type('GOAWAY', timeout => $timeout) // return undef;
    my ($last, $code) = unpack('NN', $f->{payload});
    return wantarray ? ($code, $last & 0x7fffffff) : $code;
}

# 1 when the server closed the connection within the timeout
sub closed ($self, $timeout = 5) {
    my $deadline = time + $timeout;
    while (!$self->{eof} && time < $deadline) {
        $self->read_frame($deadline - time);
    }
    return $self->{eof};
}

sub ping ($self, $data = 'nd-ping!', $timeout = 5) {
    $self->frame('PING', 0, 0, $data);
    my $f = $self->wait_for(sub ($f) {
        $f->{type} == $TYPE{PING} && ($f->{flags} & 1)
    }, $timeout) // return undef;
    return $f->{payload};
}

# HPACK: an integer with an N-bit prefix, a plain string, a literal
# field without indexing (new name) or with incremental indexing
sub hpack_int ($v, $prefix, $flags = 0) {
    my $max = (1 << $prefix) - 1;
    return chr($flags | $v) if $v < $max;
    my $out = chr($flags | $max);
    $v -= $max;
    while ($v >= 128) { $out .= chr(0x80 | ($v & 0x7f)); $v >>= 7 }
    return $out . chr($v);
}

sub hpack_str ($s) { hpack_int(length $s, 7) . $s }

sub hpack_literal ($name, $value, $index = 0) {
    return ($index ? "\x40" : "\x00") . hpack_str($name) . hpack_str($value);
}

sub request_block (%o) {
    my $path = $o{path} // '/Request/request';
    return join '', map { hpack_literal(@$_, $o{index}) }
        [ ':method', 'POST' ], [ ':scheme', 'http' ], [ ':path', $path ],
        [ ':authority', 'localhost' ], [ 'content-type', 'application/grpc' ],
        [ 'te', 'trailers' ];
}

# the static-table entries the server's responses use
my %STATIC = (8 => [ ':status', '200' ], 31 => [ 'content-type', '' ]);

# decode a block of what our server sends (no Huffman): the fields, and
# $self->{table} (newest first) kept as the server's encoder keeps it;
# $self->{updates} collects dynamic table size updates
sub hpack_decode ($self, $block) {
    my @h;
    my $p = 0;
    my $table = $self->{table} //= [];
    my $int = sub ($prefix) {
        my $max = (1 << $prefix) - 1;
        my $v = ord(substr($block, $p++, 1)) & $max;
        return $v if $v < $max;
        my $shift = 0;
        while (1) {
            my $b = ord(substr($block, $p++, 1));
            $v += ($b & 0x7f) << $shift;
            $shift += 7;
            last unless $b & 0x80;
        }
        return $v;
    };
    my $str = sub {
        die "huffman in a response" if ord(substr($block, $p, 1)) & 0x80;
        my $len = $int->(7);
        my $s = substr($block, $p, $len);
        $p += $len;
        return $s;
    };
    my $entry = sub ($i) {
        return $STATIC{$i} // die "static index $i" if $i <= 61;
        return $table->[$i - 62] // die "dynamic index $i";
    };
    while ($p < length $block) {
        my $b = ord(substr($block, $p, 1));
        if ($b & 0x80) {
            push @h, [ @{ $entry->($int->(7)) } ];
        } elsif (($b & 0xe0) == 0x20) {
            my $max = $int->(5);
            push @{ $self->{updates} }, $max;
            my $size = 0;
            @$table = grep { ($size += 32 + length($_->[0])
                              + length($_->[1])) <= $max } @$table;
        } else {
            my $index = $b & 0x40;
            my $i = $int->($index ? 6 : 4);
            my $name = $i ? $entry->($i)->[0] : $str->();
            push @h, [ $name, $str->() ];
            unshift @$table, [ @{ $h[-1] } ] if $index;
        }
    }
    return { map { $_->[0] => $_->[1] } @h };
}

# protobuf: the Nacos Payload {metadata {type}, body {value: json}}
sub varint ($v) {
    my $out = '';
    while ($v >= 128) { $out .= chr(0x80 | ($v & 0x7f)); $v >>= 7 }
    return $out . chr($v);
}

sub pb_field ($num, $bytes) { varint($num << 3 | 2) . varint(length $bytes) . $bytes }

sub payload ($type, $body = {}) {
    my $json = JSON::PP->new->canonical->encode($body);
    my $msg = pb_field(2, pb_field(3, $type)) . pb_field(3, pb_field(2, $json));
    return "\0" . pack('N', length $msg) . $msg;
}

sub pb_fields ($bytes) {
    my (%f, $p);
    $p = 0;
    my $vi = sub {
        my ($v, $shift) = (0, 0);
        while (1) {
            my $b = ord(substr($bytes, $p++, 1));
            $v |= ($b & 0x7f) << $shift;
            $shift += 7;
            return $v unless $b & 0x80;
        }
    };
    while ($p < length $bytes) {
        my $key = $vi->();
        die "wire type" unless ($key & 7) == 2;
        my $len = $vi->();
        $f{$key >> 3} = substr($bytes, $p, $len);
        $p += $len;
    }
    return \%f;
}

# a gRPC message (5-byte prefix + Payload) as { type, body }
sub decode_message ($msg) {
    my $len = unpack('N', substr($msg, 1, 4));
    my $pl = pb_fields(substr($msg, 5, $len));
    my $meta = pb_fields($pl->{2} // '');
    my $any = pb_fields($pl->{3} // '');
    return { type => $meta->{3} // '',
             body => JSON::PP->new->decode($any->{2} // '{}') };
}

# one unary call on stream $sid: HEADERS, DATA with END_STREAM
sub call ($self, $sid, $type, $body = {}) {
    $self->frame('HEADERS', 0x4, $sid, request_block());
    $self->frame('DATA', 0x1, $sid, payload($type, $body));
}

# read stream $sid's response to the end: { headers, trailers, data, rst }
sub response ($self, $sid, $timeout = 10) {
    my %r = (data => '', frames => 0);
    my $deadline = time + $timeout;
    while ((my $left = $deadline - time) > 0) {
        my $f = $self->read_frame($left) // last;
        next unless $f->{sid} == $sid;
        if ($f->{type} == $TYPE{HEADERS}) {
            my $h = $self->hpack_decode($f->{payload});
            $r{ exists $r{headers} ? 'trailers' : 'headers' } = $h;
        } elsif ($f->{type} == $TYPE{DATA}) {
            $r{data} .= $f->{payload};
            $r{frames}++;
        } elsif ($f->{type} == $TYPE{RST_STREAM}) {
            $r{rst} = unpack('N', $f->{payload});
            last;
        }
        last if $f->{flags} & 0x1 && $f->{type} != $TYPE{PING};
    }
    $r{message} = decode_message($r{data}) if length $r{data} >= 5;
    return \%r;
}

sub close ($self) { CORE::close($self->{s}) }

1;
