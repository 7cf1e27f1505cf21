#!/usr/bin/perl
# ConfigChangeNotifyRequest texts are shared: the text of the last key
# notified is kept and reused by every listener of that key.  Changes to
# keys that differ in dataId, group or tenant alone, one after another
# and back again, must each be notified with their own key.
use v5.36;
use Test::More;
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

my @keys = ([ 'k.txt', 'G', '' ], [ 'k2.txt', 'G', '' ],
            [ 'k.txt', 'G2', '' ], [ 'k.txt', 'G', 'ns1' ]);

my $c = Test::Nd::H2->new($t->port(9848));
$c->frame('SETTINGS', 0, 0);
$c->frame('HEADERS', 0x4, 1, Test::Nd::H2::request_block(
    path => '/BiRequestStream/requestBiStream'));
$c->frame('DATA', 0, 1, Test::Nd::H2::payload('ConnectionSetupRequest',
    { clientVersion => 'Nacos-Java-Client:v2.5.1', labels => {} }));
$c->call(3, 'ConfigBatchListenRequest', {
    listen => JSON::PP::true,
    configListenContexts => [ map {
        { dataId => $_->[0], group => $_->[1], tenant => $_->[2],
          md5 => '' } } @keys ] });
is($c->response(3)->{message}{type}, 'ConfigChangeBatchListenResponse',
   'listening to 4 keys');

# the next notify on the bi-stream, answered
my $buf = '';
sub notify () {
    my $deadline = time + 10;
    while (time < $deadline) {
        if (length $buf >= 5) {
            my $len = unpack('N', substr($buf, 1, 4));
            if (length $buf >= 5 + $len) {
                my $m = Test::Nd::H2::decode_message(substr($buf, 0, 5 + $len));
                substr($buf, 0, 5 + $len) = '';
                $c->frame('DATA', 0, 1, Test::Nd::H2::payload(
                    'ConfigChangeNotifyResponse',
                    { resultCode => 200, errorCode => 0, success => \1,
                      requestId => $m->{body}{requestId} }));
                return $m;
            }
        }
        my $f = $c->read_frame(1) // next;
        $buf .= $f->{payload} if $f->{type} == $T{DATA} && $f->{sid} == 1;
    }
    return undef;
}

my $v = 0;
for my $k (0, 1, 2, 3, 0, 3, 1, 1, 2) {
    my ($d, $g, $ns) = @{ $keys[$k] };
    $v++;
    my $r = $t->http_post('/nacos/v1/cs/configs',
        "dataId=$d&group=$g&content=v$v" . ($ns ne '' ? "&tenant=$ns" : ''));
    is($r->{status}, 200, "publish $d $g '$ns'");
    my $m = notify();
    is($m && $m->{type}, 'ConfigChangeNotifyRequest', 'notified');
    is_deeply($m && [ @{ $m->{body} }{qw(dataId group tenant)} ],
              [ $d, $g, $ns ], "... with its own key: $d $g '$ns'");
}

$c->close;
$t->done_testing;
