# Connection limit rules on one node with @grpc/grpc-js clients that
# behave as the Java SDK: each limit kind (countLimit, per client IP, per
# application) refuses the connection over it and accepts the ones under
# it; cluster-source connections are never limited; monitored IPs are
# traced; a rule change through the loader API expels the excess (and
# rewrites the file); a bad rule file keeps the rules in use; the file
# watch and SIGHUP both reload.
use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Test::Nd;
use Test::Nd::Conns;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw(grpc conn_limit));

my $rule = { countLimit => 9,
             countLimitPerClientIp => { '10.1.0.1' => 2 },
             countLimitPerClientApp => { appx => 3 },
             countLimitPerClientIpDefault => -1,
             monitorIpList => [ '10.9.9.9' ] };
$t->write_file('data/loader/limitRule', encode_json($rule));

$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . "conn_limit {\n    check_interval 200ms;\n"
           . "    reset_timeout 1s;\n    rule_watch_interval 100ms;\n}\n"));
$t->run;
my $g = $t->port(9848);

sub current () {
    return $t->http_json('GET', '/nacos/v2/core/loader/current') // {};
}
sub by_ip ($ip) {
    my $c = current();
    return scalar grep { $c->{$_}{metaInfo}{clientIp} eq $ip
                         && $c->{$_}{metaInfo}{labels}{source} ne 'cluster' }
                  keys %$c;
}
sub stats () { $t->http_json('GET', '/nacos/v1/core/loader/limitStats') }

# one batch of clients, run until each is connected or has given up
sub batch (@clients) {
    my $c = Test::Nd::Conns->start({ servers => [ $g ], tries => 1,
                                     concurrency => 1,
                                     clients => \@clients });
    $c->wait_line(sub ($l) { ($l->{ev} // '') eq 'all_started' }, 30)
        or diag('clients did not finish starting');
    return $c;
}

# per client IP: 2 of 3 from 10.1.0.1
my $ip = batch(map { { who => "ip$_", clientIp => '10.1.0.1' } } 1 .. 3);
is(scalar @{ $ip->events('conn') }, 2, 'per IP: two under the limit accepted');
is(scalar @{ $ip->events('refused') }, 1, 'per IP: the third refused');
is(by_ip('10.1.0.1'), 2, 'the node holds two connections of that IP');

# per application: 3 of 4 "appx", each from its own IP
my $app = batch(map { { who => "app$_", clientIp => "10.2.0.$_",
                        app => 'appx' } } 1 .. 4);
is(scalar @{ $app->events('conn') }, 3, 'per app: three accepted');
is(scalar @{ $app->events('refused') }, 1, 'per app: the fourth refused');

# a cluster-source connection is never limited nor counted
my $cl = batch({ who => 'peer', clientIp => '10.1.0.1', source => 'cluster' });
is(scalar @{ $cl->events('conn') }, 1,
   'a source=cluster connection over the IP limit is accepted');

# countLimit 9: 5 SDK connections so far; 4 more fit, the 5th does not
my $tot = batch(map { { who => "n$_", clientIp => "10.3.0.$_" } } 1 .. 4,
                { who => 'mon', clientIp => '10.9.9.9' });
is(scalar @{ $tot->events('conn') }, 4, 'countLimit: four more accepted');
is(scalar @{ $tot->events('refused') }, 1, 'countLimit: the next refused');

my $s = stats();
is_deeply($s->{refused}, { countLimit => 1, clientIp => 1, clientApp => 1,
                           longPoll => 0 },
          'each refusal counted by kind') or diag(explain($s));
is($s->{connections}, 9, 'nine SDK connections counted');

# the monitored IP: refused above, so trace a request of one accepted
$t->http_post('/nacos/v1/core/loader/limitRule',
              encode_json({ %$rule, countLimit => 20 }),
              'Content-Type' => 'application/json');
my $mon = batch({ who => 'mon2', clientIp => '10.9.9.9' });
is(scalar @{ $mon->events('conn') }, 1, 'the monitored client connects');
ok($t->wait_for(5, sub { $t->error_log =~ /traced connection \S+, client 10\.9\.9\.9: ConnectionSetupRequest/ }),
   'a monitored IP\'s requests are traced in the log');

# a rule change expels the excess: 10.1.0.1 down to 1
my $new = { %$rule, countLimit => 20,
            countLimitPerClientIp => { '10.1.0.1' => 1 } };
my $r = $t->http_post('/nacos/v1/core/loader/limitRule', encode_json($new),
                      'Content-Type' => 'application/json');
is($r->{status}, 200, 'POST limitRule accepted');
is_deeply(decode_json(Test::Nd::_slurp($t->testdir . '/data/loader/limitRule')),
          $new, 'the rule file is rewritten with the new rule');
ok($t->wait_for(10, sub { by_ip('10.1.0.1') == 1 }),
   'the connection over the new IP limit is expelled');
ok($ip->wait_line(sub ($l) { ($l->{ev} // '') eq 'reset' }, 5),
   'the expelled client got ConnectResetRequest');
ok($ip->wait_line(sub ($l) { ($l->{ev} // '') eq 'refused' && $l->{t} > 0
                             && $l->{why} eq 'ConnectResetRequest' }, 5),
   'its reconnection (as the SDK) is refused over the limit');
is(by_ip('10.1.0.1'), 1, 'one connection of that IP stays');

# bad input: POST of a bad rule is a 400, the rule in use stays
$r = $t->http_post('/nacos/v1/core/loader/limitRule', '{"countLimit": "x"}',
                   'Content-Type' => 'application/json');
is($r->{status}, 400, 'a bad rule over the API: 400');
like($r->{body}, qr/countLimit/, 'the error names the bad key');

# a bad rule file (watched): logged, the rules in use are kept
my $loads = stats()->{ruleLoads};
$t->write_file('data/loader/limitRule', '{"countLimitPerClientIp": [1,');
ok($t->wait_for(10, sub { stats()->{ruleErrors} >= 1 }),
   'the bad file is read (watch) and refused');
like($t->error_log, qr/invalid limit rule in .*limitRule: .*the rules in use are kept/,
     'the error is logged, the rules kept');
is_deeply(scalar $t->http_json('GET', '/nacos/v1/core/loader/limitRule'), $new,
          'the rule in use is unchanged');

# the file watch: a valid file raises the IP limit
$t->write_file('data/loader/limitRule',
               encode_json({ countLimitPerClientIp => { '10.1.0.1' => 5 } }));
ok($t->wait_for(10, sub {
       ($t->http_json('GET', '/nacos/v1/core/loader/limitRule')
            ->{countLimitPerClientIp}{'10.1.0.1'} // 0) == 5 }),
   'a changed file is reloaded by the watch');
my $more = batch(map { { who => "more$_", clientIp => '10.1.0.1' } } 1 .. 2);
is(scalar @{ $more->events('conn') }, 2, 'the raised limit admits more');

# SIGHUP reads the file again
$loads = stats()->{ruleLoads};
$t->signal('HUP');
ok($t->wait_for(10, sub { stats()->{ruleLoads} > $loads }),
   'SIGHUP reloads the rule file');

# a flood of connections from one IP over its limit (5 of 200 accepted,
# each refused one retried as the SDK does) while another client's
# requests go on: all of them are answered
$t->http_post('/nacos/v1/core/loader/limitRule',
              encode_json({ countLimitPerClientIp => { '10.66.0.1' => 5 } }),
              'Content-Type' => 'application/json');
my $flood = Test::Nd::Conns->start({
    servers => [ $g ], tries => 1, concurrency => 40,
    clients => [ map { { who => "f$_", clientIp => '10.66.0.1' } } 1 .. 200 ] });
my $lines = Test::Nd::Grpc->run($g, [
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'bidi_open' },
    { op => 'bidi_send', type => 'ConnectionSetupRequest',
      body => { clientVersion => 'test', labels => { source => 'sdk' } },
      clientIp => '10.67.0.1' },
    { op => 'sleep', ms => 200 },
    map({ { op => 'burst', type => 'HealthCheckRequest', body => {}, n => 50 } }
        1 .. 8) ]);
my @bursts = grep { ($_->{op} // '') eq 'burst' } @$lines;
is(scalar @bursts, 8, 'the other client ran its 8 bursts during the flood');
is(scalar(grep { $_->{ok} == 50 } @bursts), 8,
   'every one of its 400 requests was answered');
ok($flood->wait_line(sub ($l) { ($l->{ev} // '') eq 'all_started' }, 60),
   'the flood ran');
is(scalar @{ $flood->events('conn') }, 5, 'the flood: 5 accepted');
is(scalar @{ $flood->events('refused') }, 195, 'the flood: 195 refused');

$_->kill for $ip, $app, $cl, $tot, $mon, $more, $flood;
$t->stop;
$t->done_testing;
