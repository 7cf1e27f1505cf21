# Range checks on the floats a client gives: protectThreshold is a ratio
# in [0, 1] (an "inf" used to be stored, and every read of the service
# answered 500 after it); weights are finite, from 0 to 10000.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;

my $t = Test::Nd->new;
$t->has('naming');
$t->run;

my $ns = '/nacos/v1/ns';

for my $v ('inf', '-inf', 'nan', '1.5', '-0.1', '1e309') {
    my $r = $t->http_req('POST', "$ns/service?serviceName=r1&protectThreshold=$v");
    is($r->{status}, 400, "protectThreshold $v: 400");
    $r = $t->http_req('POST', "/nacos/v2/ns/service?serviceName=r2&protectThreshold=$v");
    is($r->{status}, 400, "v2 protectThreshold $v: 400");
}

my $r = $t->http_req('POST', "$ns/service?serviceName=r3&protectThreshold=0.5");
is($r->{body}, 'ok', 'protectThreshold 0.5: ok');
$r = $t->http_req('PUT', "$ns/service?serviceName=r3&protectThreshold=inf");
is($r->{status}, 400, 'update to inf: 400');
$r = $t->http_req('GET', "$ns/service?serviceName=r3");
is($r->{status}, 200, 'the service still reads');
like($r->{body}, qr/"protectThreshold":0\.5/, 'with its threshold unchanged');

for my $w ('inf', 'nan', '-1', '10001') {
    $r = $t->http_req('POST', "$ns/instance?serviceName=w&ip=10.9.0.1&port=80&weight=$w");
    is($r->{status}, 400, "weight $w: 400");
}

$t->done_testing;
