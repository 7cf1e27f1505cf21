# What real SDKs send and Java Nacos (Jackson) accepts: numbers written as
# strings.  The C++ SDK's v1 beat carries "port":"2001" and "weight":"1";
# nacosd read port 0, registered a phantom ip:0 and let the real instance
# expire.  Numeric strings are taken as their number; a value that is not
# a number, or a port outside 1-65535, is a 400 and never masked.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has('naming');
$t->run;

my $ns = '/nacos/v1/ns';
sub esc ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf("%%%02X", ord $1)/ge; $s }

sub beat ($svc, $json) {
    my $r = $t->http_req('PUT', "$ns/instance/beat?serviceName=$svc",
        body => 'beat=' . esc($json),
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
    return ($r->{status}, $r->{body});
}

sub hosts ($svc) {
    my $j = $t->http_json('GET', "$ns/instance/list?serviceName=$svc");
    return @{ $j->{hosts} // [] };
}

# the C++ SDK's beat: port and weight as strings
my ($st, $body) = beat('cpp', '{"ip":"10.3.3.3","port":"2001","weight":"1",'
                       . '"serviceName":"DEFAULT_GROUP@@cpp","cluster":"DEFAULT",'
                       . '"metadata":{}}');
is($st, 200, 'beat with "port":"2001": 200');
like($body, qr/"code":10200/, 'the beat registered the instance (10200)');
my @h = hosts('cpp');
is(scalar @h, 1, 'one instance, no phantom');
is($h[0]{port}, 2001, 'port 2001 from the string');
is($h[0]{weight}, 1, 'weight 1 from the string');

# the next beat finds the same instance: no second one at port 0
($st, $body) = beat('cpp', '{"ip":"10.3.3.3","port":"2001","weight":"1",'
                    . '"serviceName":"DEFAULT_GROUP@@cpp","cluster":"DEFAULT"}');
like($body, qr/"code":10200/, 'the second beat finds it');
is(scalar(() = hosts('cpp')), 1, 'still one instance');
ok(!(grep { $_->{port} == 0 } hosts('cpp')), 'no instance at port 0');

# not numbers, or out of range: 400, nothing registered
for my $bad ('"99999"', '"0"', '"abc"', '"20 01"', '-1', '70000', '"1e3x"', 'true') {
    ($st) = beat('bad', '{"ip":"10.4.4.4","port":' . $bad
                 . ',"serviceName":"DEFAULT_GROUP@@bad"}');
    is($st, 400, "beat with port $bad: 400");
}
is(scalar(() = hosts('bad')), 0, 'nothing registered from bad beats');

# a weight that is not a number falls back to 1 (as a missing one)
($st) = beat('w', '{"ip":"10.5.5.5","port":80,"weight":"heavy",'
             . '"serviceName":"DEFAULT_GROUP@@w"}');
is($st, 200, 'beat with a bad weight: registered');
is((hosts('w'))[0]{weight}, 1, 'with weight 1');

# gRPC: an Instance with "port":"8080" as a string is taken too
SKIP: {
    skip 'no grpc module', 3 unless $t->has_module('grpc');
    my $g = Test::Nd::Grpc->start($t->port(9848), [
        { op => 'unary', type => 'ServerCheckRequest', body => {} },
        { op => 'bidi_open' },
        { op => 'bidi_send', type => 'ConnectionSetupRequest',
          body => { clientVersion => 'Nacos-Java-Client:v2.5.1', labels => {} } },
        { op => 'sleep', ms => 100 },
        { op => 'unary', type => 'InstanceRequest',
          body => { namespace => 'public', groupName => 'DEFAULT_GROUP',
                    serviceName => 'g1', type => 'registerInstance',
                    instance => { ip => '10.6.6.6', port => '8080',
                                  weight => '2', healthy => JSON::PP::true,
                                  enabled => JSON::PP::true,
                                  ephemeral => JSON::PP::true,
                                  clusterName => 'DEFAULT' } } },
        { op => 'unary', type => 'InstanceRequest',
          body => { namespace => 'public', groupName => 'DEFAULT_GROUP',
                    serviceName => 'g2', type => 'registerInstance',
                    instance => { ip => '10.6.6.6', port => '80800',
                                  ephemeral => JSON::PP::true } } },
        { op => 'hold' } ]);
    my $l = $g->wait_line(sub ($x) { ($x->{step} // -1) == 4 }, 20);
    ok($l && $l->{body}{success}, 'gRPC register with "port":"8080" accepted')
        or diag(explain($l));
    my ($gh) = hosts('g1');
    ok($gh && $gh->{port} == 8080 && $gh->{weight} == 2,
       'port 8080 and weight 2 from the strings');
    $l = $g->wait_line(sub ($x) { ($x->{step} // -1) == 5 }, 20);
    ok($l && !$l->{body}{success}, 'gRPC register with port "80800" refused');
    $g->kill;
}

$t->done_testing;
