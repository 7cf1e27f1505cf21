#!/usr/bin/perl
# The InstanceRequest fast path (nd_naming_grpc_instance_raw: the
# register read from the JSON text, without a tree) answers as the
# decoded handler does: a register as the SDKs send it with every field
# (metadata scalars become text), and whatever it declines to that
# handler -- escapes, a port sent as a string, another type, duplicate
# keys, invalid JSON (before or after the connection is set up), bad
# values, a persistent service of the name, more members than it reads.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw/grpc naming/);
Test::Nd::Grpc->ensure_client;

$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"));
$t->run;
my $gport = $t->port(9848);
my $ns = '/nacos/v1/ns';

my @handshake = (
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'bidi_open' },
    { op => 'bidi_send', type => 'ConnectionSetupRequest',
      body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                labels => { source => 'sdk', module => 'naming' } } },
    { op => 'sleep', ms => 100 });

# a register as the Java SDK writes it, svc and the instance's JSON text
sub reg ($svc, $inst, $extra = '') {
    return { op => 'raw_unary', type => 'InstanceRequest',
             json => '{"headers":{"app":"unknown"},"namespace":"public",'
                   . qq{"serviceName":"$svc","groupName":"DEFAULT_GROUP",}
                   . qq{"type":"registerInstance","instance":$inst,}
                   . qq{"module":"naming","requestId":null$extra\}} };
}

my $full = '{"instanceId":"iid-1","ip":"10.3.0.1","port":8080,'
         . '"weight":2.5,"healthy":false,"enabled":true,"ephemeral":true,'
         . '"clusterName":"c1","serviceName":"DEFAULT_GROUP@@full",'
         . '"metadata":{"k":"v","n":7,"r":1.5,"b":true},'
         . '"instanceHeartBeatInterval":5000,'
         . '"instanceHeartBeatTimeOut":15000,"ipDeleteTimeout":30000}';
my $many = join ',', map { qq{"x$_":$_} } 1 .. 40;

is($t->http_req('POST', "$ns/service?serviceName=psvc")->{body}, 'ok',
   'a persistent service psvc');

my $c = Test::Nd::Grpc->start($gport, [
    # unregistered: the body is judged first, as when decoded up front
    reg('early', '{"ip":"10.3.0.9","port":1}'),
    { op => 'raw_unary', type => 'InstanceRequest',
      json => '{"type":"registerInstance",' },
    @handshake,
    reg('full', $full),                                            # 6
    reg('esc\u0041', '{"ip":"10.3.0.2","port":8080}'),             # 7
    reg('strport', '{"ip":"10.3.0.3","port":"8082"}'),             # 8
    reg('dup', '{"ip":"10.3.0.4","port":1,"port":2}'),             # 9
    { op => 'raw_unary', type => 'InstanceRequest',                # 10
      json => '{"type":"registerInstance","namespace":' },
    reg('heavy', '{"ip":"10.3.0.5","port":1,"weight":20000}'),     # 11
    reg('psvc', '{"ip":"10.3.0.6","port":1}'),                     # 12
    { op => 'raw_unary', type => 'InstanceRequest',                # 13
      json => '{"namespace":"public","serviceName":5,'
            . '"type":"registerInstance","instance":{"ip":"10.3.0.7"}}' },
    reg('many', '{"ip":"10.3.0.8","port":1}', ",$many"),           # 14
    reg('nested', '{"ip":"10.3.0.10","port":1,'                    # 15
                . '"metadata":{"a":{"b":1}}}'),
    reg('noport', '{"ip":"10.3.0.11","healthy":"false"}'),         # 16
    { op => 'raw_unary', type => 'InstanceRequest',                # 17
      json => '{"namespace":"public","serviceName":"full",'
            . '"groupName":"DEFAULT_GROUP","type":"deregisterInstance",'
            . '"instance":{"ip":"10.3.0.1","port":8080}}' },
    reg('badip', '{"ip":"10.3 .0.1","port":1}'),                   # 18
    { op => 'hold' } ]);
ok($c->wait_line(sub ($l) { ($l->{op} // '') eq 'hold' }, 20),
   'every request answered');
my $s = Test::Nd::Grpc->steps($c->lines);

sub answer ($i) {
    my $b = $s->{$i}{body} // {};
    return join ' ', $s->{$i}{type} // '-', $b->{resultCode} // '-',
                     $b->{errorCode} // '-', $b->{message} // '';
}

is(answer(0), 'ErrorResponse 500 301 Connection is unregistered.',
   'valid register before the setup: 301');
is(answer(1), 'ErrorResponse 500 502 Invalid request payload',
   'invalid JSON before the setup: 502, as a decoded body');
is(answer(6), 'InstanceResponse 200 0 ', 'SDK register answered');
is_deeply($s->{6}{body}, { type => 'registerInstance', resultCode => 200,
                           errorCode => 0, success => JSON::PP::true },
          'the InstanceResponse body');
is(answer(7), 'InstanceResponse 200 0 ', 'escaped name registered');
is(answer(8), 'InstanceResponse 200 0 ', 'port as a string registered');
is(answer(9), 'ErrorResponse 500 502 Invalid request payload',
   'duplicate key: invalid payload');
is(answer(10), 'ErrorResponse 500 502 Invalid request payload',
   'truncated JSON: invalid payload');
is(answer(11), 'ErrorResponse 500 400 instance format invalid: The '
   . 'weights range from 0.0 to 10000.0', 'weight out of range');
is(answer(12), 'ErrorResponse 500 400 Current service DEFAULT_GROUP@@psvc '
   . "is persistent service, can't register ephemeral instance.",
   'persistent service of the name');
is(answer(13), "InstanceResponse 500 400 Param 'serviceName' is required.",
   'a number for serviceName is no name');
is(answer(14), 'InstanceResponse 200 0 ', 'more members than read');
is(answer(16), 'InstanceResponse 200 0 ', 'no port, healthy as text');
is(answer(17), 'InstanceResponse 200 0 ', 'deregister');
is(answer(18), 'ErrorResponse 500 400 Param \'ip\' is illegal, illegal '
   . 'characters should not appear in the param.', 'bad ip');

sub list ($svc, $clusters = '') {
    return $t->http_json('GET', "$ns/instance/list?serviceName=$svc"
                                . "&clusters=$clusters");
}

my $h = list('strport')->{hosts}[0] // {};
is("$h->{ip}:$h->{port}", '10.3.0.3:8082', 'the port from its string');
is(list('escA')->{hosts}[0]{ip}, '10.3.0.2', 'the escaped name decoded');
$h = list('noport')->{hosts}[0] // {};
is(join(' ', map { $h->{$_} // '-' } qw/ip port/), '10.3.0.11 0',
   'no port: 0');
ok(!$h->{healthy}, '"false" as text: not healthy, as decoded');
is(scalar @{ list('full', 'c1')->{hosts} }, 0, 'deregistered');
is(scalar @{ list('early')->{hosts} }, 0, 'nothing before the setup');
is(scalar @{ list('dup')->{hosts} }, 0, 'nothing from a duplicate key');
is(scalar @{ list('many')->{hosts} }, 1, 'registered with 46 members');
$c->kill;

# every field of a register read back
$c = Test::Nd::Grpc->start($gport, [ @handshake, reg('full', $full),
                                     { op => 'hold' } ]);
ok($c->wait_line(sub ($l) { ($l->{op} // '') eq 'hold' }, 20),
   'registered again');
$h = list('full', 'c1')->{hosts}[0] // {};
is(join(' ', map { $h->{$_} // '-' } qw/ip port weight clusterName/),
   '10.3.0.1 8080 2.5 c1', 'ip, port, weight, cluster');
ok(!$h->{healthy} && $h->{enabled}, 'healthy false, enabled true');
is($h->{instanceId}, 'iid-1', 'instanceId kept');
is_deeply($h->{metadata}, { k => 'v', n => '7', r => '1.5', b => 'true' },
          'metadata scalars as text');
$c->kill;

$t->stop;
done_testing;
