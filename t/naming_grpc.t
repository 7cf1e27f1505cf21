#!/usr/bin/perl
# Naming over gRPC on a real gRPC stack: register / deregister / batch
# replace / query (healthyOnly, clusters, protect threshold, missing
# service) / service list paging / error answers; HTTP and gRPC clients
# share one naming model; a closed connection takes its instances along.
use v5.36;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw/grpc naming/);
Test::Nd::Grpc->ensure_client;

$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    push_timeout 600ms;\n}\n"));
$t->run;
my $gport = $t->port(9848);
my $ns = '/nacos/v1/ns';

sub handshake () {
    return ({ op => 'unary', type => 'ServerCheckRequest', body => {} },
            { op => 'bidi_open' },
            { op => 'bidi_send', type => 'ConnectionSetupRequest',
              body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                        labels => { source => 'sdk', module => 'naming' } } },
            { op => 'sleep', ms => 100 });
}

sub inst ($ip, $port, %o) {
    return { ip => $ip, port => $port, weight => 1.0, healthy => JSON::PP::true,
             enabled => JSON::PP::true, ephemeral => JSON::PP::true,
             clusterName => 'DEFAULT', metadata => {}, %o };
}

sub reg ($svc, $inst, %o) {
    return { op => 'unary', type => 'InstanceRequest',
             body => { namespace => 'public', serviceName => $svc,
                       groupName => 'DEFAULT_GROUP', module => 'naming',
                       type => 'registerInstance', instance => $inst, %o } };
}

sub batch ($svc, @insts) {
    return { op => 'unary', type => 'BatchInstanceRequest',
             body => { namespace => 'public', serviceName => $svc,
                       groupName => 'DEFAULT_GROUP', module => 'naming',
                       type => 'batchRegisterInstance',
                       instances => \@insts } };
}

sub query ($svc, %o) {
    return { op => 'unary', type => 'ServiceQueryRequest',
             body => { namespace => 'public', serviceName => $svc,
                       groupName => 'DEFAULT_GROUP', cluster => '',
                       healthyOnly => JSON::PP::false, udpPort => 0, %o } };
}

sub hosts ($step) {
    return join ',', sort map { "$_->{ip}:$_->{port}" }
        @{ $step->{body}{serviceInfo}{hosts} // [] };
}

sub http_hosts ($svc) {
    my $j = $t->http_json('GET', "$ns/instance/list?serviceName=$svc");
    return join ',', sort map { "$_->{ip}:$_->{port}" } @{ $j->{hosts} };
}

# ---- register, replace, query; the same instance over HTTP -------------
my $a = Test::Nd::Grpc->start($gport, [
    handshake(),
    reg('order', inst('10.0.0.1', 8080, metadata => { version => '1' })),
    query('order'),
    reg('order', inst('10.0.0.1', 8081)),
    query('order'),
    { op => 'hold' } ]);
ok($a->wait_line(sub ($l) { ($l->{op} // '') eq 'hold' }, 15),
   'client A registered and queried');
my $s = Test::Nd::Grpc->steps($a->lines);

is($s->{4}{type}, 'InstanceResponse', 'register: InstanceResponse');
is_deeply([ @{ $s->{4}{body} }{qw/resultCode errorCode type/} ],
          [ 200, 0, 'registerInstance' ], 'register: 200, type echoed');
is($s->{4}{body}{success}, JSON::PP::true, 'register: success true');
is($s->{5}{type}, 'QueryServiceResponse', 'query: QueryServiceResponse');
my $si = $s->{5}{body}{serviceInfo};
is($si->{name}, 'order', 'query: ServiceInfo.name bare');
is($si->{groupName}, 'DEFAULT_GROUP', 'query: groupName');
is($si->{cacheMillis}, 10000, 'query: cacheMillis');
ok($si->{lastRefTime} > 1_600_000_000_000, 'query: lastRefTime wall ms');
is(hosts($s->{5}), '10.0.0.1:8080', 'query sees the instance');
my $h = $si->{hosts}[0];
is($h->{serviceName}, 'DEFAULT_GROUP@@order', 'instance.serviceName grouped');
is($h->{instanceId}, '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@order',
   'instanceId generated');
is($h->{metadata}{version}, '1', 'metadata kept');
is(hosts($s->{7}), '10.0.0.1:8081',
   're-register on one connection replaces its instance');
is(http_hosts('order'), '10.0.0.1:8081', 'HTTP list sees the gRPC instance');

# an HTTP instance in the same service, seen by a gRPC query
is($t->http_req('POST', "$ns/instance?serviceName=order&ip=10.0.0.9&port=80")
   ->{body}, 'ok', 'HTTP register into the same service');

# ---- batch, deregister, filters, Go-style empty fields -----------------
my $out = Test::Nd::Grpc->run($gport, [
    handshake(),
    query('order'),                                                     # 4
    batch('bt', inst('10.1.0.1', 1), inst('10.1.0.2', 2),
          inst('10.1.0.3', 3, clusterName => 'c1')),                    # 5
    query('bt'),                                                        # 6
    batch('bt', inst('10.1.0.4', 4)),                                   # 7
    query('bt'),                                                        # 8
    reg('bt', inst('10.1.0.5', 5)),                                     # 9
    query('bt'),                                                        # 10
    { op => 'unary', type => 'InstanceRequest',
      body => { serviceName => 'bt', type => 'deregisterInstance',
                instance => inst('1.1.1.1', 1) } },                     # 11
    query('bt'),                                                        # 12
    batch('hf', inst('10.2.0.1', 1), inst('10.2.0.2', 2,
          healthy => JSON::PP::false, clusterName => 'c1')),            # 13
    query('hf', healthyOnly => JSON::PP::true),                         # 14
    query('hf', cluster => 'c1'),                                       # 15
    query('nosuch'),                                                    # 16
    reg('go', { ip => '10.3.0.1', port => 7, instanceId => '',
                serviceName => '', clusterName => '', metadata => undef,
                weight => 0, instanceHeartBeatInterval => 0 },
        namespace => '', groupName => ''),                              # 17
    query('go'),                                                        # 18
    ]);
$s = Test::Nd::Grpc->steps($out);
is(hosts($s->{4}), '10.0.0.1:8081,10.0.0.9:80',
   'a gRPC query sees HTTP and gRPC instances');
is($s->{5}{type}, 'BatchInstanceResponse', 'batch: BatchInstanceResponse');
is($s->{5}{body}{type}, 'batchRegisterInstance', 'batch: type echoed');
is(hosts($s->{6}), '10.1.0.1:1,10.1.0.2:2,10.1.0.3:3', 'batch: three instances');
is(hosts($s->{8}), '10.1.0.4:4', 'batch again replaces the set');
is(hosts($s->{10}), '10.1.0.5:5', 'single register replaces the batch');
is($s->{11}{type}, 'InstanceResponse', 'deregister: InstanceResponse');
is($s->{11}{body}{type}, 'deregisterInstance', 'deregister: type echoed');
is(hosts($s->{12}), '', "deregister removes the connection's instance");
is(hosts($s->{14}), '10.2.0.1:1', 'healthyOnly drops the unhealthy one');
is(hosts($s->{15}), '10.2.0.2:2', 'cluster filter');
is($s->{15}{body}{serviceInfo}{clusters}, 'c1', 'clusters echoed');
is($s->{16}{type}, 'QueryServiceResponse', 'missing service: a success');
is_deeply($s->{16}{body}{serviceInfo}{hosts}, [], 'missing service: hosts []');
is($s->{16}{body}{serviceInfo}{name}, 'nosuch', 'missing service: name bare');
is($s->{17}{body}{resultCode}, 200, 'Go-style empty strings accepted');
my $g = $s->{18}{body}{serviceInfo}{hosts}[0];
is($g->{instanceId}, '10.3.0.1#7#DEFAULT#DEFAULT_GROUP@@go',
   'empty instanceId and cluster: defaults');
ok(defined $g->{weight} && $g->{weight} == 0, 'weight 0 kept');

# the run ended: that connection's instances are gone
ok($t->wait_for(5, sub { http_hosts('bt') eq '' && http_hosts('hf') eq '' }),
   'closed connection: its instances removed');
is(http_hosts('order'), '10.0.0.1:8081,10.0.0.9:80', 'others untouched');

# ---- protect threshold (metadata from HTTP) -----------------------------
$t->http_req('POST', "$ns/instance?serviceName=pt&ip=10.5.0.1&port=1"
             . "&healthy=false");
is($t->http_req('PUT', "$ns/service?serviceName=pt&protectThreshold=0.9")
   ->{status}, 200, 'protectThreshold 0.9 on a service of unhealthy hosts');

# ---- service list paging, errors ----------------------------------------
$t->http_req('POST', "$ns/service?serviceName=persist");
$out = Test::Nd::Grpc->run($gport, [
    handshake(),
    (map { reg($_, inst('10.4.0.1', 1), groupName => 'G1') }
         qw(s-e s-a s-c s-b s-d)),                                      # 4-8
    (map { { op => 'unary', type => 'ServiceListRequest',
             body => { namespace => 'public', groupName => 'G1',
                       pageNo => $_, pageSize => 2 } } } 1, 3, 4),      # 9-11
    { op => 'unary', type => 'InstanceRequest',
      body => { type => 'registerInstance',
                instance => inst('1.1.1.1', 1) } },                     # 12
    reg('order', inst('1.1.1.1', 1), type => 'bogus'),                  # 13
    reg('persist', inst('1.1.1.1', 1)),                                 # 14
    reg('order', inst('1.1.1.1', 1, clusterName => 'a_b')),             # 15
    { op => 'unary', type => 'BatchInstanceRequest',
      body => { serviceName => 'bt', type => 'registerInstance',
                instances => [] } },                                    # 16
    query('pt'),                                                        # 17
    { op => 'unary', type => 'ServiceQueryRequest', body => {} },      # 18
    ]);
$s = Test::Nd::Grpc->steps($out);
is($s->{9}{type}, 'ServiceListResponse', 'ServiceListResponse');
is($s->{9}{body}{count}, 5, 'count: every service of the group');
is_deeply($s->{9}{body}{serviceNames}, [qw(s-a s-b)], 'page 1: bare names');
is_deeply($s->{10}{body}{serviceNames}, [qw(s-e)], 'page 3');
is_deeply($s->{11}{body}{serviceNames}, [], 'past the end: empty');
is($s->{12}{type}, 'InstanceResponse', 'missing serviceName: typed answer');
is_deeply([ @{ $s->{12}{body} }{qw/resultCode errorCode/} ], [ 500, 400 ],
          'missing serviceName: 500 / 400');
is($s->{12}{body}{success}, JSON::PP::false, 'missing serviceName: success false');
is($s->{13}{type}, 'ErrorResponse', 'bad type: ErrorResponse');
is($s->{13}{body}{errorCode}, 400, 'bad type: 400');
like($s->{13}{body}{message}, qr/Unsupported request type bogus/, 'bad type: text');
is($s->{14}{body}{errorCode}, 400, 'persistent service: 400');
like($s->{14}{body}{message}, qr/persistent service/, 'persistent service: text');
is($s->{15}{body}{errorCode}, 400, 'bad clusterName: 400');
is($s->{16}{body}{errorCode}, 400, 'batch with a wrong type: 400');
my $p = $s->{17}{body}{serviceInfo};
is($p->{reachProtectionThreshold}, JSON::PP::true,
   'healthy share under protectThreshold: protection reached');
ok(!grep({ !$_->{healthy} } @{ $p->{hosts} }), 'protected hosts all healthy');
is($s->{18}{type}, 'QueryServiceResponse', 'query without a name: typed');
is($s->{18}{body}{errorCode}, 400, 'query without a name: 400');
is($out->[-1]{event}, 'done', 'client finished');

# ---- an unanswered push is retried (push_timeout 600 ms, then ~1 s) ----
my $sil = Test::Nd::Grpc->start($gport, [
    handshake(),
    { op => 'silent', value => 1 },
    { op => 'unary', type => 'SubscribeServiceRequest',
      body => { serviceName => 'order', clusters => '',
                subscribe => JSON::PP::true } },
    { op => 'hold' } ]);
my @rp;
ok($t->wait_for(8, sub {
       @rp = grep { ($_->{type} // '') eq 'NotifySubscriberRequest' }
             @{ $sil->lines };
       @rp >= 2 }), 'an unanswered push is sent again');
isnt($rp[0]{body}{requestId}, $rp[1]{body}{requestId}, 'as a new request');
is(hosts({ body => $rp[1]{body} }), hosts({ body => $rp[0]{body} }),
   'with the same (current) state');
$sil->kill;

is($t->http_req('DELETE', "$ns/instance?serviceName=order&ip=10.0.0.9&port=80")
   ->{body}, 'ok', 'HTTP deregister');
$a->kill;
ok($t->wait_for(5, sub { http_hosts('order') eq '' }),
   'killed client: its instance removed');

$t->done_testing;
