# A grpc-js client against nacosd with auth on, as the 2.x SDKs work: it
# logs in with username and password over HTTP, then every request
# carries the accessToken header: publish, query, listen, register,
# subscribe; a new login before the token expires (the SDKs' refresh)
# goes on working; a wrong password gets no token and the requests get
# Nacos's errorCode 403.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Auth;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw(auth naming config grpc));
Test::Nd::Grpc->ensure_client;
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . Test::Nd::Auth::conf($t, admin_password => 'Grpc-Admin-1',
                                  ttl => '60s')));
$t->run;
$t->wait_ready;
ok($t->wait_for(5, sub {
       Test::Nd::Auth::token_of($t, 'nacos', 'Grpc-Admin-1') }),
   'the admin is set');

my $hp = $t->port(8848);
my %inst = (ip => '10.0.0.9', port => 90, weight => 1,
            healthy => JSON::PP::true, enabled => JSON::PP::true,
            ephemeral => JSON::PP::true, clusterName => 'DEFAULT');
sub u ($type, %b) { { op => 'unary', type => $type, body => \%b } }
my @steps = (
    { op => 'login', http_port => $hp, username => 'nacos',
      password => 'Grpc-Admin-1' },
    u('ServerCheckRequest'),
    { op => 'bidi_open' },
    { op => 'bidi_send', type => 'ConnectionSetupRequest',
      body => { clientVersion => 'Nacos-Java-Client:v2.5.1', labels => {} } },
    { op => 'sleep', ms => 100 },
    u('ConfigPublishRequest', dataId => 'ga', group => 'G', tenant => '',
      content => 'one'),
    u('ConfigQueryRequest', dataId => 'ga', group => 'G', tenant => ''),
    u('ConfigBatchListenRequest', listen => JSON::PP::true,
      configListenContexts => [ { dataId => 'ga', group => 'G', tenant => '',
                                  md5 => '' } ]),
    u('InstanceRequest', namespace => 'public', serviceName => 'gsvc',
      groupName => 'G', type => 'registerInstance', instance => \%inst),
    u('SubscribeServiceRequest', namespace => 'public', serviceName => 'gsvc',
      groupName => 'G', clusters => '', subscribe => JSON::PP::true),
    { op => 'login', http_port => $hp, username => 'nacos',
      password => 'Grpc-Admin-1' },
    u('ConfigQueryRequest', dataId => 'ga', group => 'G', tenant => ''),
    { op => 'login', http_port => $hp, username => 'nacos',
      password => 'wrong' },
    { op => 'unary', type => 'ConfigQueryRequest', headers => {},
      body => { dataId => 'ga', group => 'G', tenant => '' } },
    { op => 'unary', type => 'ConfigQueryRequest',
      headers => { accessToken => 'garbage' },
      body => { dataId => 'ga', group => 'G', tenant => '' } },
);
my $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run($t->port(9848), \@steps));
is($s->{0}{status}, 200, 'login over HTTP');
ok($s->{0}{accessToken}, 'an accessToken');
ok($s->{5}{body}{success}, 'ConfigPublishRequest with the token');
is($s->{6}{body}{content}, 'one', 'ConfigQueryRequest with the token');
is($s->{7}{body}{resultCode}, 200, 'ConfigBatchListenRequest');
is($s->{8}{body}{resultCode}, 200, 'InstanceRequest (register)');
is($s->{9}{body}{resultCode}, 200, 'SubscribeServiceRequest');
is($s->{10}{status}, 200, 'a new login (token refresh)');
isnt($s->{10}{accessToken}, undef, 'a token again');
is($s->{11}{body}{content}, 'one', 'the refreshed token works');
is($s->{12}{status}, 403, 'a wrong password gets no token');
is($s->{13}{body}{errorCode}, 403, 'no token: errorCode 403');
like($s->{13}{body}{message} // '', qr/user not found/, 'no token: message');
is($s->{14}{body}{errorCode}, 403, 'a bad token: errorCode 403');
like($s->{14}{body}{message} // '', qr/token invalid/, 'bad token: message');

$t->done_testing;
