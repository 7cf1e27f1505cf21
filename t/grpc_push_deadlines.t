#!/usr/bin/perl
# Push timeouts are kept in one list by deadline with one timer for the
# first (not a timer a push): a push with a short timeout sent after one
# with a long timeout must still time out first.  Here the push after a
# subscribe waits push_timeout (60 s) unanswered; the liveness probe sent
# after it waits probe_timeout (800 ms): the silent connection must be
# unregistered when the probe times out, not a minute later.
use v5.36;
use Test::More;
use Time::HiRes qw(sleep time);
use JSON::PP;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has('grpc');
$t->has('naming');
Test::Nd::Grpc->ensure_client;

$t->write_conf('nacosd.conf', $t->conf(
    events => "shutdown_timeout 20s;",
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n"
           . "    push_timeout 60s;\n"
           . "    idle_probe 1s;\n    probe_interval 200ms;\n"
           . "    probe_timeout 800ms;\n}\n"));
$t->run;
my $gport = $t->port(9848);

# the connections by their "name" label
sub names () {
    my $c = $t->http_json('GET', '/nacos/v1/core/loader/current') // {};
    return { map { $c->{$_}{metaInfo}{labels}{name} => $_ } keys %$c };
}

my $silent = Test::Nd::Grpc->start($gport, [
    Test::Nd::Grpc->hello(name => 'silent'),
    { op => 'silent', value => 1 },
    { op => 'unary', type => 'SubscribeServiceRequest',
      body => { serviceName => 'deadline-svc', clusters => '',
                subscribe => JSON::PP::true } },
    { op => 'hold' } ]);

ok($t->wait_for(10, sub { exists names()->{silent} }),
   'the silent client registered');
ok($silent->wait_line(sub ($l) {
       ($l->{type} // '') eq 'NotifySubscriberRequest' }, 10),
   'it was pushed the service after subscribing (and does not answer)');

# the push waits 60 s; the probe 0.8 s after about 1 s idle
ok($t->wait_for(15, sub { !exists names()->{silent} }),
   'unregistered when the later probe with the shorter timeout expired, '
   . 'before the earlier push with the longer one');

done_testing;
