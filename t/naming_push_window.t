#!/usr/bin/perl
# The adaptive push window (push_delay 0, the default): a change to a
# quiet service is pushed at the end of the loop pass, with no timer
# (push_min_interval 60s here, so a timer would show); a change within
# push_min_interval of the service's last push waits for the interval to
# end, without delaying other services; a burst of 1,000 changes to one
# service gives its subscribers a few pushes, the last one with the final
# state.  gRPC (NotifySubscriberRequest) and 1.x UDP subscribers alike.
# push_delay > 0 still gives Nacos's fixed window.
use v5.36;
use Test::More;
use Time::HiRes qw(sleep time);
use IO::Select;
use IO::Socket::INET;
use IO::Uncompress::Gunzip ();
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $ns = '/nacos/v1/ns';

sub server ($naming) {
    my $t = Test::Nd->new;
    $t->has(qw/grpc naming/);
    Test::Nd::Grpc->ensure_client;
    $t->write_conf('nacosd.conf', $t->conf(
        extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
               . "naming {\n    $naming\n}\n"));
    $t->run;
    return $t;
}

sub client ($t, @steps) {
    return Test::Nd::Grpc->start($t->port(9848), [
        { op => 'unary', type => 'ServerCheckRequest', body => {} },
        { op => 'bidi_open' },
        { op => 'bidi_send', type => 'ConnectionSetupRequest',
          body => { clientVersion => 'Nacos-Java-Client:v2.3.2',
                    labels => { module => 'naming', AppName => 'win' } } },
        { op => 'sleep', ms => 100 },
        @steps,
        { op => 'hold' } ]);
}

sub sub_step ($svc) {
    return { op => 'unary', type => 'SubscribeServiceRequest',
             body => { namespace => 'public', serviceName => $svc,
                       groupName => 'DEFAULT_GROUP', clusters => '',
                       subscribe => JSON::PP::true, module => 'naming' } };
}

sub hosts ($si) {
    return join ',', sort map { "$_->{ip}:$_->{port}" } @{ $si->{hosts} };
}

# NotifySubscriberRequests of service $svc received by $c, in order; _at
# is when it came (the client's clock, s)
sub pushes ($c, $svc) {
    return [ map { +{ %{ $_->{body} }, _at => $_->{at} / 1000 } }
             grep { ($_->{event} // '') eq 'push'
                    && $_->{type} eq 'NotifySubscriberRequest'
                    && $_->{body}{serviceInfo}{name} eq $svc }
             @{ $c->lines } ];
}

# the first push of $svc after the first $skip whose hosts are $want
sub wait_push ($c, $svc, $want, $skip, $timeout) {
    my $end = time + $timeout;
    while (time < $end) {
        my $p = pushes($c, $svc);
        for my $i ($skip .. $#$p) {
            return $p->[$i] if hosts($p->[$i]{serviceInfo}) eq $want;
        }
        sleep 0.02;
    }
    return undef;
}

sub step ($c, $n, $timeout = 10) {
    return $c->wait_line(sub ($l) { ($l->{step} // -1) == $n }, $timeout);
}

sub register ($t, $svc, $ip) {
    return $t->http_req('POST', "$ns/instance?serviceName=$svc&ip=$ip"
                        . '&port=80')->{body};
}

sub list_hosts ($t, $svc) {
    my $j = $t->http_json('GET', "$ns/instance/list?serviceName=$svc");
    return join ',', sort map { "$_->{ip}:$_->{port}" } @{ $j->{hosts} };
}

# a 1.x UDP subscriber: pushes decoded, each acked
sub udp_subscriber ($t, $svc) {
    my $u = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'udp') or die "udp: $!";
    my $r = $t->http_get("$ns/instance/list?serviceName=$svc&udpPort="
                         . $u->sockport . '&clientIP=127.0.0.1');
    is($r->{status}, 200, "1.x subscriber of $svc");
    return $u;
}

sub udp_recv ($u, $timeout) {
    return undef unless IO::Select->new($u)->can_read($timeout);
    my $peer = $u->recv(my $buf, 65536);
    if (substr($buf, 0, 2) eq "\x1f\x8b") {
        my $out;
        IO::Uncompress::Gunzip::gunzip(\$buf => \$out) or return undef;
        $buf = $out;
    }
    my $j = Test::Nd::decode_json($buf) or return undef;
    $u->send('{"type":"push-ack","lastRefTime":"' . $j->{lastRefTime}
             . '","data":""}', 0, $peer);
    return Test::Nd::decode_json($j->{data});
}

# ---- leading edge: no timer (push_min_interval 60s) ----------------------
my $t = server('push_min_interval 60s;');

my $s = client($t, sub_step('quiet'), sub_step('other'));
is(step($s, 5)->{body}{resultCode}, 200, 'subscribed to two services');
ok(wait_push($s, 'quiet', '', 0, 5) && wait_push($s, 'other', '', 0, 5),
   'push_delay 0: the push after a subscribe comes too');
my $u = udp_subscriber($t, 'quiet');

my $n = @{ pushes($s, 'quiet') };
my $t0 = time;
is(register($t, 'quiet', '10.5.0.1'), 'ok', 'one change to a quiet service');
my $p = wait_push($s, 'quiet', '10.5.0.1:80', $n, 20);
ok($p, 'gRPC subscriber pushed');
cmp_ok(time - $t0, '<', 20, 'long before push_min_interval (60 s): no '
       . 'timer involved');
my $info = udp_recv($u, 20);
is($info && hosts($info), '10.5.0.1:80', '1.x UDP subscriber pushed too');

# within the interval: waits for it, without delaying another service
$n = @{ pushes($s, 'quiet') };
is(register($t, 'quiet', '10.5.0.2'), 'ok', 'a second change to it');
is(register($t, 'other', '10.6.0.1'), 'ok', 'a change to another service');
ok(wait_push($s, 'other', '10.6.0.1:80', 0, 20),
   'the other service is pushed at once');
sleep 0.5;
is(scalar @{ pushes($s, 'quiet') }, $n,
   'the second change waits for the end of push_min_interval');
ok(!udp_recv($u, 0.5), 'for the UDP subscriber too');
is(list_hosts($t, 'quiet'), '10.5.0.1:80,10.5.0.2:80',
   'while queries see it already');

$s->kill;
$t->stop;

# ---- a burst of 1,000 changes within one interval -----------------------
$t = server('push_min_interval 5s;');

$s = client($t, sub_step('burst'));
is(step($s, 4)->{body}{resultCode}, 200, 'subscribed');
ok(wait_push($s, 'burst', '', 0, 5), 'the push after the subscribe');
$u = udp_subscriber($t, 'burst');
sleep 0.3;
my $skip = @{ pushes($s, 'burst') };

my $pub = client($t, { op => 'burst', n => 1000, type => 'InstanceRequest',
                       body => { serviceName => 'burst',
                                 type => 'registerInstance',
                                 instance => { ip => '10.7.0.1',
                                               port => '%n' } } });
my $b = step($pub, 4, 30);
is($b && $b->{ok}, 1000, '1,000 registrations, each replacing the last');
my $final = list_hosts($t, 'burst');
like($final, qr/^10\.7\.0\.1:\d+$/, "final state $final");

$p = wait_push($s, 'burst', $final, $skip, 20);
ok($p, 'the final state is pushed');
my @udp;
my $end = time + 20;
while (time < $end) {
    my $i = udp_recv($u, 1) or next;
    push @udp, $i;
    last if hosts($i) eq $final;
}
sleep 1;
my $got = [ @{ pushes($s, 'burst') }[$skip .. $#{ pushes($s, 'burst') }] ];
cmp_ok(scalar @$got, '>=', 1, 'gRPC: pushed');
cmp_ok(scalar @$got, '<=', 3, 'gRPC: at most a few pushes for 1,000 changes ('
       . scalar(@$got) . ')');
is(hosts($got->[-1]{serviceInfo}), $final, 'gRPC: the last push is the final '
   . 'state');
while (my $i = udp_recv($u, 0.2)) {
    push @udp, $i;
}
cmp_ok(scalar @udp, '>=', 1, 'UDP: pushed');
cmp_ok(scalar @udp, '<=', 3, 'UDP: at most a few pushes (' . scalar(@udp)
       . ')');
is(@udp && hosts($udp[-1]), $final, 'UDP: the last push is the final state');

$_->kill for $s, $pub;
$t->stop;

# ---- push_delay: Nacos's fixed merge window still there -----------------
$t = server('push_delay 400ms;');

# lower bounds only: from before the subscribe or the change was sent
# to the push's arrival
$t0 = time;
$s = client($t, sub_step('fixed'));
is(step($s, 4)->{body}{resultCode}, 200, 'push_delay: subscribed');
$p = wait_push($s, 'fixed', '', 0, 10);
ok($p, 'push_delay: the push after the subscribe');
cmp_ok($p && $p->{_at} - $t0, '>=', 0.35, 'comes push_delay after it');

$n = @{ pushes($s, 'fixed') };
$t0 = time;
register($t, 'fixed', "10.8.0.$_") for 1 .. 3;
$p = wait_push($s, 'fixed', '10.8.0.1:80,10.8.0.2:80,10.8.0.3:80', $n, 10);
ok($p, 'push_delay: three changes pushed');
cmp_ok($p && $p->{_at} - $t0, '>=', 0.35, 'push_delay after the first');
is(scalar @{ pushes($s, 'fixed') }, $n + 1, 'in one push');

$s->kill;
$t->done_testing;
