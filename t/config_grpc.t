#!/usr/bin/perl
# Config over gRPC with a real gRPC stack: ConfigQuery (not found is
# errorCode 300), ConfigPublish (CAS), ConfigRemove, ConfigBatchListen
# (md5 compare, tenant echo, unlisten) and ConfigChangeNotifyRequest
# pushes; long-poll and gRPC listeners share one index.
use v5.36;
use Test::More;
use Digest::MD5 qw(md5_hex);
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw(grpc store config));
Test::Nd::Grpc->ensure_client;

my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . "store {\n    schema_dir $schema;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');
my $gport = $t->port(9848);

my @hello = Test::Nd::Grpc->hello(module => 'config');
sub call ($type, %body) { Test::Nd::Grpc->call($type, %body) }

my $out = Test::Nd::Grpc->run($gport, [ @hello,
    call('ConfigQueryRequest', dataId => 'g.yaml', group => 'G'),
    call('ConfigPublishRequest', dataId => 'g.yaml', group => 'G',
         tenant => '', content => 'k: v',
         additionMap => { type => 'yaml', appName => undef }),
    call('ConfigQueryRequest', dataId => 'g.yaml', group => 'G',
         tenant => 'public'),
    call('ConfigPublishRequest', dataId => 'g.yaml', group => 'G',
         content => 'k: w', casMd5 => 'ffffffffffffffffffffffffffffffff'),
    call('ConfigPublishRequest', dataId => 'bad id', group => 'G',
         content => 'x'),
    call('ConfigRemoveRequest', dataId => 'g.yaml', group => 'G'),
    call('ConfigQueryRequest', dataId => 'g.yaml', group => 'G'),
]);
my $s = Test::Nd::Grpc->steps($out);
is($s->{4}{type}, 'ConfigQueryResponse', 'missing: typed response');
is_deeply([ @{ $s->{4}{body} }{qw(resultCode errorCode)} ], [ 500, 300 ],
          'missing: resultCode 500, errorCode 300');
is($s->{4}{body}{success}, JSON::PP::false, 'missing: success false');
is($s->{5}{type}, 'ConfigPublishResponse', 'publish: typed response');
ok($s->{5}{body}{success}, 'publish: success (null additionMap values)');
is($s->{6}{body}{content}, 'k: v', 'query: content (tenant public = "")');
is($s->{6}{body}{md5}, md5_hex('k: v'), 'query: md5');
is($s->{6}{body}{contentType}, 'yaml', 'query: contentType');
like($s->{6}{body}{lastModified}, qr/^\d{13}$/, 'query: lastModified ms');
is($s->{7}{body}{success}, JSON::PP::false, 'stale casMd5: failed');
like($s->{7}{body}{message}, qr/Cas publish fail/, 'stale casMd5: message');
is($s->{8}{body}{errorCode}, 400, 'invalid dataId: errorCode 400');
is($s->{9}{type}, 'ConfigRemoveResponse', 'remove: typed response');
ok($s->{9}{body}{success}, 'remove: success');
is($s->{10}{body}{errorCode}, 300, 'removed: not found again');

# listen, then a change by HTTP: the connection gets a push naming the
# key with the tenant it used, and re-listening reports it changed
my $http_publish = sub ($content, $tenant = '') {
    $t->http_req('POST', '/nacos/v1/cs/configs',
        body => "dataId=l.json&group=G&content=$content"
              . ($tenant ? "&tenant=$tenant" : ''),
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
};
$http_publish->('1');
my $m1 = md5_hex('1');

my $c = Test::Nd::Grpc->start($gport, [ @hello,
    call('ConfigBatchListenRequest', listen => JSON::PP::true,
         configListenContexts => [
             { dataId => 'l.json', group => 'G', tenant => 'public',
               md5 => $m1 },
             { dataId => 'l.json', group => 'G', tenant => 'public',
               md5 => $m1 },
             { dataId => 'absent', group => 'G', tenant => '', md5 => '' },
             { dataId => 'stale', group => 'G', tenant => '', md5 => 'x' },
         ]),
    { op => 'wait', type => 'ConfigChangeNotifyRequest', timeout => 10000 },
    call('ConfigBatchListenRequest', listen => JSON::PP::true,
         configListenContexts => [
             { dataId => 'l.json', group => 'G', tenant => 'public',
               md5 => $m1 } ]),
    call('ConfigBatchListenRequest', listen => JSON::PP::false,
         configListenContexts => [
             { dataId => 'l.json', group => 'G', tenant => 'public' } ]),
    { op => 'hold' } ]);

my $l = $c->wait_line(sub ($x) { ($x->{step} // -1) == 4 });
is($l->{type}, 'ConfigChangeBatchListenResponse', 'listen: typed response');
is_deeply([ map { $_->{dataId} } @{ $l->{body}{changedConfigs} } ],
          [ 'stale' ], 'listen: only the key whose md5 differs');

my $q = $t->http_json('GET', '/nacos/v1/cs/configs/listener?dataId=l.json'
                      . '&group=G');
is(scalar keys %{ $q->{lisentersGroupkeyStatus} }, 1,
   'the gRPC listener is in the shared index, once');

$http_publish->('2');
$l = $c->wait_line(sub ($x) { ($x->{step} // -1) == 5 }, 15);
is($l->{type}, 'ConfigChangeNotifyRequest', 'change pushed');
is_deeply([ @{ $l->{body} }{qw(dataId group tenant)} ],
          [ 'l.json', 'G', 'public' ], 'the push echoes the tenant sent');
is($l->{body}{module}, 'config', 'the push is of module config');
like($l->{body}{requestId} // '', qr/^\d+$/, 'with a requestId');

$l = $c->wait_line(sub ($x) { ($x->{step} // -1) == 6 });
is_deeply([ map { $_->{dataId} } @{ $l->{body}{changedConfigs} } ],
          [ 'l.json' ], 're-listen with the old md5: reported changed');

$l = $c->wait_line(sub ($x) { ($x->{step} // -1) == 7 });
ok($l->{body}{success}, 'unlisten answered');
$q = $t->http_json('GET', '/nacos/v1/cs/configs/listener?dataId=l.json'
                   . '&group=G');
is_deeply($q->{lisentersGroupkeyStatus}, {}, 'unlisten removed it');

# client config metrics: asked of every connection from the ip, merged
my $mj = $t->http_json('GET', '/nacos/v1/cs/metrics/current?ip=127.0.0.1'
                       . '&dataId=l.json&group=G');
my @uuids = keys %{ $mj // {} };
is(scalar @uuids, 1, 'metrics: one answer, from the one connection');
my $mv = Test::Nd::decode_json($mj->{ $uuids[0] } // '{}') // {};
is_deeply($mv->{metricValues},
          { 'cacheData:l.json+G' => 'held', 'snapshotData:l.json+G' => 'held' },
          'metrics: the request named the group key, cacheData and snapshot');
is_deeply(scalar $t->http_json('GET', '/nacos/v1/cs/metrics/current?ip=10.9.9.9'),
          {}, 'metrics: no connection from that ip, empty map');
is($t->http_req('GET', '/nacos/v1/cs/metrics/current')->{status}, 400,
   'metrics: ip is required');

# a closed connection drops its listeners
my $d = Test::Nd::Grpc->start($gport, [ @hello,
    call('ConfigBatchListenRequest', listen => JSON::PP::true,
         configListenContexts => [
             { dataId => 'l.json', group => 'G', md5 => md5_hex('2') } ]),
    { op => 'hold' } ]);
ok($d->wait_line(sub ($x) { ($x->{op} // '') eq 'hold' }), 'listening');
$q = $t->http_json('GET', '/nacos/v1/cs/configs/listener?dataId=l.json'
                   . '&group=G');
is(scalar keys %{ $q->{lisentersGroupkeyStatus} }, 1, 'listed');
$d->kill;
my $gone = 0;
for (1 .. 50) {
    $q = $t->http_json('GET', '/nacos/v1/cs/configs/listener?dataId=l.json'
                       . '&group=G');
    if (!%{ $q->{lisentersGroupkeyStatus} }) { $gone = 1; last }
    select(undef, undef, undef, 0.05);
}
ok($gone, 'closed connection: its listeners are gone');

$c->kill;
$t->done_testing;
