#!/usr/bin/perl
# Limits on what a client can grow, each hit with its protocol's error:
# instances per service (max_service_instances), services per namespace
# (max_services), instance metadata size (max_metadata_size), config
# listeners per gRPC connection (max_connection_listeners), and SDK
# connections per address still waiting for ConnectionSetupRequest
# (max_handshakes_per_ip).  v1 HTTP answers text, v2 the JSON envelope,
# gRPC an ErrorResponse; an h2 connection over the handshake limit gets
# GOAWAY ENHANCE_YOUR_CALM.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::H2;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw/grpc naming config/);
Test::Nd::Grpc->ensure_client;

$t->write_conf('nacosd.conf', $t->conf(extra => <<'EOF_CONF'));
grpc {
    listen 127.0.0.1:%%PORT_9848%%;
    max_handshakes_per_ip 4;
}
naming {
    max_services 4;
    max_service_instances 2;
    max_metadata_size 40;
}
config {
    max_connection_listeners 3;
}
EOF_CONF
$t->run;
# persistent writes are refused until the store's instances are loaded
ok($t->wait_ready, 'ready');
my $gport = $t->port(9848);
my $ns = '/nacos/v1/ns';

sub reg ($svc, $ip, %o) {
    my $q = join '&', "serviceName=$svc", "ip=$ip", 'port=80',
            map { "$_=$o{$_}" } sort keys %o;
    return $t->http_req('POST', ($o{v2} ? '/nacos/v2/ns' : $ns)
                        . "/instance?$q");
}

# ---- instances per service (HTTP v1, v2) ------------------------------
is(reg('full', '10.0.0.1')->{body}, 'ok', 'first instance');
is(reg('full', '10.0.0.2')->{body}, 'ok', 'second instance: the limit');
my $r = reg('full', '10.0.0.3');
is($r->{status}, 429, 'v1: one more instance is 429');
like($r->{body}, qr/too many instances in service 'DEFAULT_GROUP\@\@full'.*2 \(max_service_instances\)/,
     'v1: the text says which limit');
is(reg('full', '10.0.0.2', weight => 2)->{body}, 'ok',
   'at the limit, an instance re-registers (replaced, not added)');
my ($j, $r2) = $t->http_json('POST', '/nacos/v2/ns/instance?'
                             . 'serviceName=full&ip=10.0.0.4&port=80');
is($r2->{status}, 429, 'v2: 429');
is($j->{code}, 5033, 'v2: envelope code 5033 (capacity reach quota)');
is($j->{message}, 'tenant capacity reach quota', 'v2: its message');
like($j->{data}, qr/max_service_instances/, 'v2: data says which limit');
$j = $t->http_json('GET', "$ns/instance/list?serviceName=full");
is(scalar @{ $j->{hosts} }, 2, 'the service still has its 2 instances');

# ---- services per namespace -------------------------------------------
# "full" is one; the namespace takes 3 more (ephemeral ones)
for my $s (qw/s2 s3 s4/) {
    my $j = $t->http_json('POST', "/nacos/v2/ns/service?serviceName=$s"
                          . '&ephemeral=true');
    is($j->{code}, 0, "service $s created");
}
$r = $t->http_req('POST', "$ns/service?serviceName=s5");
is($r->{status}, 429, 'a fifth service is 429');
like($r->{body}, qr/too many services in namespace 'public'.*4 \(max_services\)/,
     'the text names the namespace and the limit');
is(reg('s6', '10.0.0.1')->{status}, 429,
   'a register that would create a service: 429');
is(reg('s2', '10.0.0.1')->{body}, 'ok', 'an existing service takes instances');
is($t->http_req('POST', "$ns/service?serviceName=s5&namespaceId=other")
   ->{body}, 'ok', 'another namespace has its own count');

# persistent instances (through the store) count the same
is(reg('p1', '10.0.1.1', namespaceId => 'other', ephemeral => 'false')
   ->{body}, 'ok', 'persistent: first');
is(reg('p1', '10.0.1.2', namespaceId => 'other', ephemeral => 'false')
   ->{body}, 'ok', 'persistent: second');
$r = reg('p1', '10.0.1.3', namespaceId => 'other', ephemeral => 'false');
is($r->{status}, 429, 'persistent: a third is 429 before the store');
like($r->{body}, qr/max_service_instances/, 'persistent: says why');
is(reg('p1', '10.0.1.2', namespaceId => 'other', ephemeral => 'false',
       weight => 3)->{body}, 'ok', 'persistent: re-register at the limit');

# ---- metadata size (Nacos counts keys + values) ------------------------
my $m40 = '%7B%22k%22%3A%22' . ('v' x 39) . '%22%7D';       # 1 + 39
my $m41 = '%7B%22k%22%3A%22' . ('v' x 40) . '%22%7D';       # 1 + 40
is(reg('s3', '10.0.0.7', metadata => $m40)->{body}, 'ok',
   'metadata of 40 bytes: accepted');
$r = reg('s3', '10.0.0.8', metadata => $m41);
is($r->{status}, 400, 'metadata of 41 bytes: 400');
is($r->{body}, "Param 'Metadata' is illegal, the param length should not "
   . "exceed 40.", 'with the Nacos text');
($j, $r2) = $t->http_json('POST', "/nacos/v2/ns/instance?serviceName=s3"
                          . "&ip=10.0.0.8&port=80&metadata=$m41");
is_deeply([ $r2->{status}, $j->{code} ], [ 400, 20002 ],
          'v2: 400, code 20002 (parameter validate error)');

# ---- gRPC: naming limits, listeners per connection ---------------------
sub handshake () {
    return ({ op => 'unary', type => 'ServerCheckRequest', body => {} },
            { op => 'bidi_open' },
            { op => 'bidi_send', type => 'ConnectionSetupRequest',
              body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                        labels => { source => 'sdk' } } },
            { op => 'sleep', ms => 100 });
}

sub inst ($ip, %o) {
    return { ip => $ip, port => 80, weight => 1.0,
             healthy => JSON::PP::true, enabled => JSON::PP::true,
             ephemeral => JSON::PP::true, clusterName => 'DEFAULT',
             metadata => {}, %o };
}

sub naming ($type, $svc, %body) {
    return { op => 'unary', type => $type,
             body => { namespace => 'public', serviceName => $svc,
                       groupName => 'DEFAULT_GROUP', module => 'naming',
                       %body } };
}

sub cfg_listen (@ids) {
    return { op => 'unary', type => 'ConfigBatchListenRequest',
             body => { listen => JSON::PP::true, module => 'config',
                       configListenContexts => [ map {
                           { dataId => $_, group => 'G', tenant => '',
                             md5 => '' } } @ids ] } };
}

my $out = Test::Nd::Grpc->run($gport, [
    handshake(),
    naming('BatchInstanceRequest', 's4', type => 'batchRegisterInstance',
           instances => [ inst('10.1.0.1'), inst('10.1.0.2'),
                          inst('10.1.0.3') ]),                          # 4
    naming('BatchInstanceRequest', 's4', type => 'batchRegisterInstance',
           instances => [ inst('10.1.0.1'), inst('10.1.0.2') ]),        # 5
    naming('InstanceRequest', 's4', type => 'registerInstance',
           instance => inst('10.1.0.9',
                            metadata => { k => 'v' x 40 })),            # 6
    naming('InstanceRequest', 'nope', type => 'registerInstance',
           instance => inst('10.1.0.1')),                               # 7
    naming('SubscribeServiceRequest', 'nope2', subscribe => JSON::PP::true,
           clusters => ''),                                             # 8
    cfg_listen(qw/a b/),                                                    # 9
    cfg_listen(qw/b c d/),                                                  # 10
    cfg_listen(qw/a c/),                                                    # 11
    ]);
my $s = Test::Nd::Grpc->steps($out);

is($s->{4}{type}, 'ErrorResponse', 'gRPC batch over the limit: ErrorResponse');
is($s->{4}{body}{errorCode}, 429, 'errorCode 429');
like($s->{4}{body}{message}, qr/max_service_instances/, 'message says why');
is($s->{5}{type}, 'BatchInstanceResponse', 'a batch within the limit passes');
is($s->{6}{type}, 'ErrorResponse', 'gRPC metadata too big: ErrorResponse');
is($s->{6}{body}{errorCode}, 400, 'errorCode 400');
like($s->{6}{body}{message}, qr/should not exceed 40/, 'the Nacos text');
is($s->{7}{body}{errorCode}, 429, 'gRPC register creating a service: 429');
like($s->{7}{body}{message}, qr/max_services/, 'message says why');
is($s->{8}{type}, 'SubscribeServiceResponse',
   'subscribe creating a service: typed failure');
is_deeply([ @{ $s->{8}{body} }{qw/resultCode errorCode/} ], [ 500, 429 ],
          'resultCode 500, errorCode 429');
is($s->{9}{type}, 'ConfigChangeBatchListenResponse', 'two listeners');
is($s->{10}{type}, 'ErrorResponse', 'two more (one known): over 3, refused');
is($s->{10}{body}{errorCode}, 429, 'errorCode 429');
like($s->{10}{body}{message}, qr/max_connection_listeners/, 'says why');
is($s->{11}{type}, 'ConfigChangeBatchListenResponse',
   'listening again to what it has, plus one: 3, accepted');

# ---- connections per address before ConnectionSetupRequest -------------
my @half = map { Test::Nd::H2->new($gport) } 1 .. 4;
$_->call(1, 'ServerCheckRequest') for @half;
is(scalar(grep { $_->response(1) } @half), 4,
   'four half-open connections answered');
my $fifth = Test::Nd::H2->new($gport);
my ($code) = $fifth->goaway;
is($code, 11, 'the fifth: GOAWAY ENHANCE_YOUR_CALM');
ok($fifth->closed, 'and closed');
like($t->error_log, qr/too many connections from 127\.0\.0\.1 waiting for ConnectionSetupRequest \(max_handshakes_per_ip 4\)/,
     'logged with the limit');

# a freed slot is taken again: once the server has seen the close
$half[0]->close;
my $ok;
for (1 .. 50) {
    my $c = Test::Nd::H2->new($gport);
    $c->call(1, 'ServerCheckRequest');
    if ($c->response(1, 2)) { $ok = 1; last; }
    select(undef, undef, undef, 0.1);
}
ok($ok, 'a closed half-open connection frees its slot');
$_->close for @half[1 .. 3];

$t->done_testing;
