#!/usr/bin/perl
# libnacos against a real standalone nacosd, driven by
# t/client/nd_client_drive: config get/publish (CAS)/remove, the listen
# loop's bell (a listener added, a listener removed, a change pushed, a
# connection re-established: each sends a ConfigBatchListenRequest at
# once; the loop's own interval is 60 s here, so nothing else could),
# naming register/batch/query/subscribe with pushes, and a
# ConnectResetRequest (loader reloadClient) after which the client is on
# a new connection with its listener, instance and subscription redone.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Client;

my ($t, $addr) = Test::Nd::Client->standalone('nd_client_drive');

sub drive (@steps) {
    Test::Nd::Client->drive($t, '-l', 60000, $addr, 'ready', @steps)
}

# config, and the bell
my $out = drive(qw(get k G  publish k G v1  get k G
                   listen k G  wait_listens 1  stats  server_listeners k G
                   publish k G v2  wait_change 1  stats
                   unlisten k G  wait_listens 3  stats  server_listeners k G
                   publish k G v3 0123456789abcdef0123456789abcdef
                   remove k G  get k G));
like($out, qr/^ready \Q$addr\E$/m, 'connected');
like($out, qr/^get rc=1 content=- /m, 'an absent config: NACOS_NOT_FOUND');
like($out, qr/^publish rc=0\nget rc=0 content=v1 md5=6654c734ccab8f440ff0825eb443dc7f$/m,
     'published and read back with its md5');
like($out, qr/^listen rc=0\nlistens 1\nstats connects=1 listens=1 .*\nserver_listeners k G 1$/m,
     'bell 1: adding a listener sent a ConfigBatchListenRequest at once; '
     . 'the server holds the listener');
like($out, qr/^publish rc=0\nchange k G 1b267619c4812cc46ee281747884ca50 v2\nstats connects=1 listens=2 config_pushes=1 /m,
     'bell 2: the ConfigChangeNotifyRequest push sent another listen, '
     . 'then the listener got the new content once');
like($out, qr/^unlisten rc=0\nlistens 3\n.*\nserver_listeners k G 0$/m,
     'bell 3: removing the last listener sent a listen (listen=false); '
     . 'the server let the listener go');
like($out, qr/^publish rc=5$/m, 'a publish with a wrong CAS md5: '
     . 'NACOS_CONFLICT');
like($out, qr/^remove rc=0\nget rc=1 /m, 'removed');
is(() = $out =~ /^change /mg, 1, 'the listener ran once, for v2 only');

# a listener sees every change in order, and a delete; this client is
# embedded in the driver's own libev loop
$out = Test::Nd::Client->drive($t, '-e', 1, '-l', 60000, $addr, qw(ready
                listen d G  wait_listens 1
                publish d G a1  wait_change 1  publish d G a2  wait_change 2
                remove d G  wait_change 3));
like($out, qr/^change d G \S+ a1\n.*^change d G \S+ a2\n.*^change d G - -$/ms,
     'changes a1, a2, then the delete, in order');
like($out, qr/^own loop ok$/m, 'the caller\'s loop outlives the client');

# naming
$out = drive(qw(register svc 10.0.0.1 8080  subscribe svc
                query svc  register svcp 10.0.0.9 9 persistent
                batch svcb 10.0.0.3:1 10.0.0.4:2  query svcb));
like($out, qr/^register rc=0\nservice svc hosts=10.0.0.1:8080\nsubscribe rc=0$/m,
     'registered; subscribing called back with the current hosts');
like($out, qr/^query rc=0 hosts=10.0.0.1:8080$/m, 'query');
like($out, qr/^query rc=0 hosts=10.0.0.3:1,10.0.0.4:2$/m,
     'batch register');
my $r = $t->http_json('GET', '/nacos/v1/ns/instance/list?serviceName=svcp');
is(join(',', map { "$_->{ip}:$_->{port}" } @{ $r->{hosts} // [] }),
   '10.0.0.9:9', 'the persistent instance stays after the client left');
$r = $t->http_json('GET', '/nacos/v1/ns/instance/list?serviceName=svc');
is(scalar @{ $r->{hosts} // [1] }, 0,
   'the ephemeral one went with its connection');

# a push for a subscribed service: another client registers into it
$out = drive(qw(subscribe svcq  register svcq 10.0.0.5 5  wait_service 2));
like($out, qr/^service svcq hosts=\n.*^service svcq hosts=10.0.0.5:5$/ms,
     'NotifySubscriberRequest: called back with the new host list');

# ConnectResetRequest: the client answers, reconnects, redoes
$out = drive(qw(listen r G  wait_listens 1  register svcr 10.0.0.7 7
                subscribe svcr  reset  wait_listens 2  stats
                publish r G after  wait_change 1  query svcr));
like($out, qr/^reset rc=0 status=200 body=success\nlistens 2\n/m,
     'bell 4: after the ConnectResetRequest the new connection listened '
     . 'at once');
like($out, qr/^stats connects=2 listens=2 \S+ \S+ resets=1 redo_instances=1 redo_subscribes=1$/m,
     'a second connection; instance and subscription redone');
like($out, qr/^change r G \S+ after$/m,
     'the listener lives on the new connection');
like($out, qr/^query rc=0 hosts=10.0.0.7:7$/m,
     'the instance is registered again');
like($t->error_log, qr/expelling connection /,
     'the server sent the ConnectResetRequest');

# reloadClient's bad input
$r = $t->http_req('GET', '/nacos/v2/core/loader/reloadClient');
is($r->{status}, 400, 'reloadClient without connectionId: 400');
$r = $t->http_req('GET', '/nacos/v2/core/loader/reloadClient?connectionId=x');
is($r->{status}, 404, 'reloadClient of an unknown connection: 404');

$t->stop;
$t->done_testing;
