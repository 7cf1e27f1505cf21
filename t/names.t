#!/usr/bin/perl
# One set of Nacos name rules (src/core/nd_name.c) seen through every
# protocol: config v1 (text), v2 (envelope) and gRPC (ErrorResponse),
# naming v1, v2 and gRPC, and the store behind them, at the edges
# (maximum length, one more, forbidden characters, bytes that are not
# UTF-8).  The unit test t/unit/core/nd_name.c walks every character.
use v5.36;
use Test::More;
use JSON::PP;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw(grpc store config naming));
Test::Nd::Grpc->ensure_client;

my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . "store {\n    schema_dir $schema;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');

sub form ($path, $body) { $t->http_post($path, $body) }
sub code ($r) { my $j = eval { decode_json($r->{body}) }; $j ? $j->{code} : undef }

# config, v1: the text error; v2: the envelope with code 20002
my $d255 = 'd' x 255;
is(form('/nacos/v1/cs/configs', "dataId=$d255&group=G&content=x")->{body},
   'true', 'v1: a 255-byte dataId is published');
my $r = form('/nacos/v1/cs/configs', "dataId=${d255}d&group=G&content=x");
is($r->{status}, 400, 'v1: a 256-byte dataId is refused');
like($r->{body}, qr/invalid dataId/, 'v1: with the dataId message');
$r = form('/nacos/v1/cs/configs', 'dataId=a%FFb&group=G&content=x');
is($r->{status}, 400, 'v1: a dataId that is not UTF-8 is refused');
$r = form('/nacos/v2/cs/config', 'dataId=a%FFb&group=G&content=x');
is($r->{status}, 400, 'v2: a dataId that is not UTF-8 is a 400, not a 500');
is(code($r), 20002, 'v2: code 20002');
$r = $t->http_get('/nacos/v2/cs/config?dataId=%E4%B8%AD&group=G');
is($r->{status}, 400, 'v2 read: a CJK dataId is refused');
is(form('/nacos/v1/cs/configs', 'dataId=a&group=' . ('g' x 128)
        . '&content=x')->{body}, 'true', 'v1: a 128-byte group');
is(form('/nacos/v1/cs/configs', 'dataId=a&group=' . ('g' x 129)
        . '&content=x')->{status}, 400, 'v1: a 129-byte group is refused');
is(form('/nacos/v1/cs/configs', 'dataId=a&group=G&content=x&tenant='
        . ('t' x 64))->{body}, 'true', 'v1: a 64-byte tenant');
is(form('/nacos/v1/cs/configs', 'dataId=a&group=G&content=x&tenant='
        . ('t' x 65))->{status}, 400, 'v1: a 65-byte tenant is refused');
is(form('/nacos/v1/cs/configs', 'dataId=a&group=G&content=x&tenant=a.b')
   ->{status}, 400, 'v1: a dot in a tenant is refused, as the store does');
is(form('/nacos/v1/cs/configs', 'dataId=a&group=G&content=x&tag='
        . ('t' x 16))->{body}, 'true', 'v1: a 16-byte tag');
is(form('/nacos/v1/cs/configs', 'dataId=a&group=G&content=x&tag='
        . ('t' x 17))->{status}, 400, 'v1: a 17-byte tag is refused');
is(form('/nacos/v1/console/namespaces', 'customNamespaceId=' . ('n' x 65)
        . '&namespaceName=x')->{body}, 'false',
   'console: a 65-byte namespace id is refused as a config tenant is');

# naming, v1 and v2
my $ns = '/nacos/v1/ns/instance';
sub reg ($q) { form($ns, "ip=10.0.0.1&port=80&$q") }
is(reg('serviceName=' . ('s' x 512))->{body}, 'ok', 'v1: a 512-byte service');
$r = reg('serviceName=' . ('s' x 513));
is($r->{status}, 400, 'v1: a 513-byte service is refused');
$r = reg('serviceName=%E4%B8%AD');
is($r->{status}, 400, 'v1: a CJK service name is refused');
like($r->{body}, qr/illegal characters/, 'v1: with the filter message');
$r = reg('serviceName=caf%C3%A9');
is($r->{body}, 'ok', 'v1: a non-CJK UTF-8 service name is accepted');
$r = reg('serviceName=a%FFb');
is($r->{status}, 400, 'v1: a service name that is not UTF-8 is refused');
$r = form('/nacos/v2/ns/instance', 'ip=10.0.0.1&port=80&serviceName=a%FFb');
is(code($r), 21000, 'v2: code 21000');
$r = reg('serviceName=sv&clusterName=' . ('c' x 64));
is($r->{body}, 'ok', 'v1: a 64-byte cluster');
$r = reg('serviceName=sv&clusterName=' . ('c' x 65));
is($r->{status}, 400, 'v1: a 65-byte cluster is refused');
$r = form('/nacos/v2/ns/instance',
          'ip=10.0.0.1&port=80&serviceName=sv&clusterName=c_1');
is(code($r), 21004, "v2: '_' in a cluster is NamingUtils's 21004");
$r = reg('serviceName=sv&groupName=' . ('g' x 129));
is($r->{status}, 400, 'v1: a 129-byte group is refused');
$r = reg('serviceName=sv&namespaceId=' . ('n' x 65));
is($r->{status}, 400, 'v1: a 65-byte namespace is refused');
$r = reg('serviceName=sv&metadata=k%3D%FF');
is($r->{status}, 400, 'v1: metadata that is not UTF-8 is refused');
$r = form($ns, 'ip=10.0.%200.1&port=80&serviceName=sv');
is($r->{status}, 400, 'v1: an ip with a space is refused');

# a persistent instance goes through the store's check of the same rules
$r = reg('serviceName=' . ('p' x 400) . '&ephemeral=false');
is($r->{body}, 'ok', 'a persistent instance with a 400-byte service name');

# gRPC: config and naming answer the same rules with their error bodies
my $gport = $t->port(9848);
my @hello = Test::Nd::Grpc->hello;
sub call ($type, %body) { Test::Nd::Grpc->call($type, %body) }
sub inst ($svc, %i) {
    call('InstanceRequest', namespace => 'public', serviceName => $svc,
         groupName => 'DEFAULT_GROUP', type => 'registerInstance',
         instance => { ip => '10.0.0.2', port => 81, %i });
}
my $out = Test::Nd::Grpc->run($gport, [ @hello,
    call('ConfigPublishRequest', dataId => 'd' x 256, group => 'G',
         content => 'x'),                                               # 4
    call('ConfigPublishRequest', dataId => 'd', group => 'G',
         content => 'x', tenant => 'a.b'),                              # 5
    call('ConfigPublishRequest', dataId => 'd', group => 'G',
         content => 'x', additionMap => { tag => 't' x 17 }),           # 6
    call('ConfigPublishRequest', dataId => 'd' x 255, group => 'G',
         content => 'x'),                                               # 7
    inst("\x{4e2d}"),                                                   # 8
    inst('a@@b'),                                                       # 9
    inst('ok', clusterName => 'c_1'),                                   # 10
    inst('ok', clusterName => 'c' x 65),                                # 11
    inst('ok'),                                                         # 12
]);
my $s = Test::Nd::Grpc->steps($out);
is($s->{4}{body}{errorCode}, 400, 'gRPC: a 256-byte dataId is refused');
is($s->{5}{body}{errorCode}, 400, 'gRPC: a dot in a tenant is refused');
is($s->{6}{body}{errorCode}, 400, 'gRPC: a 17-byte tag is refused');
ok($s->{7}{body}{success}, 'gRPC: a 255-byte dataId is published');
like($s->{8}{body}{message}, qr/illegal characters/,
     'gRPC: a CJK service name is refused');
ok(!$s->{8}{body}{success}, 'gRPC: not registered');
like($s->{9}{body}{message}, qr/illegal characters/,
     "gRPC: '\@\@' in a service name is refused");
like($s->{10}{body}{message}, qr/0-9a-zA-Z-/,
     "gRPC: '_' in a cluster gets NamingUtils's message");
like($s->{11}{body}{message}, qr/should not exceed 64/,
     'gRPC: a 65-byte cluster is refused, as over HTTP');
ok($s->{12}{body}{success}, 'gRPC: a good instance registers');

$t->done_testing;
