#!/usr/bin/perl
# Pushes under HTTP/2 flow control.  A push goes straight to the
# connection's output when nothing waits on the bi-stream and the windows
# take it whole; otherwise it is queued on the stream behind what waits.
# A client with a small stream window gets the pushes that fit at once,
# the rest only as it grants window, every message whole and in the
# order of the changes, and DATA never beyond the window.
use v5.36;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Test::Nd;
use Test::Nd::H2;

my $t = Test::Nd->new;
$t->has(qw(grpc naming));
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    push_timeout 60s;\n}\n"
           . "naming {\n    push_min_interval 0;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');
my %T = %Test::Nd::H2::TYPE;
my $window = 600;

my $c = Test::Nd::H2->new($t->port(9848));
$c->frame('SETTINGS', 0, 0, pack('nN', 4, $window));
$c->frame('HEADERS', 0x4, 1, Test::Nd::H2::request_block(
    path => '/BiRequestStream/requestBiStream'));
$c->frame('DATA', 0, 1, Test::Nd::H2::payload('ConnectionSetupRequest',
    { clientVersion => 'Nacos-Java-Client:v2.5.1', labels => {} }));
$c->call(3, 'SubscribeServiceRequest', {
    namespace => 'public', groupName => 'DEFAULT_GROUP',
    serviceName => 'flow-svc', clusters => '', subscribe => JSON::PP::true });

# every frame, by stream
my (%data, %headers);
sub pump ($wait) {
    while (my $f = $c->read_frame($wait)) {
        if ($f->{type} == $T{DATA}) {
            $data{ $f->{sid} } .= $f->{payload};
        } elsif ($f->{type} == $T{HEADERS}) {
            push @{ $headers{ $f->{sid} } }, $f;
        }
    }
}

# the gRPC messages of a stream's bytes, and what is left over
sub messages ($bytes) {
    my @m;
    while (length $bytes >= 5) {
        my $len = unpack('N', substr($bytes, 1, 4));
        last if length $bytes < 5 + $len;
        push @m, Test::Nd::H2::decode_message(substr($bytes, 0, 5 + $len));
        substr($bytes, 0, 5 + $len) = '';
    }
    return (\@m, length $bytes);
}

pump(1);
my ($m3) = messages($data{3} // '');
is($m3->[0]{type}, 'SubscribeServiceResponse', 'subscribed');

my $changes = 8;
for my $i (1 .. $changes) {
    my $r = $t->http_post('/nacos/v1/ns/instance',
                          "serviceName=flow-svc&ip=10.0.0.$i&port=80");
    is($r->{status}, 200, "instance $i registered");
    pump(0.2);
}
pump(0.5);

my $first = length($data{1} // '');
ok($first > 0 && $first <= $window,
   "before any grant: $first bytes on the bi-stream, within its window");
my ($m, $left) = messages($data{1} // '');
ok(@$m >= 1 && @$m < $changes,
   scalar(@$m) . " pushes whole at once, the rest waiting for window");

# grant window in small steps: the rest comes, in order, never more
sub hosts ($msg) { scalar @{ $msg->{body}{serviceInfo}{hosts} // [] } }
my $granted = $window;
for (1 .. 60) {
    ($m, $left) = messages($data{1});
    last if @$m && hosts($m->[-1]) == $changes && $left == 0;
    $c->frame('WINDOW_UPDATE', 0, 1, pack('N', 500));
    $granted += 500;
    pump(0.2);
    last if length($data{1}) > $granted;
}
ok(length($data{1}) <= $granted,
   'no more DATA on the bi-stream than its window allowed');
($m, $left) = messages($data{1});
is($left, 0, 'every message whole');
ok(@$m >= $changes, scalar(@$m) . " pushes arrived, one a change at least");
is_deeply([ map { $_->{type} } @$m ],
          [ ('NotifySubscriberRequest') x @$m ], 'all NotifySubscriberRequest');
my @ids = map { $_->{body}{requestId} } @$m;
is_deeply(\@ids, [ sort { $a <=> $b } @ids ],
          'in the order they were sent (request ids ascending)');
my @n = map { hosts($_) } @$m;
is_deeply(\@n, [ sort { $a <=> $b } @n ],
          "each push holds the state of its change (hosts: @n)");
is($n[-1], $changes, "the last one holds all $changes instances");

$c->close;
$t->done_testing;
