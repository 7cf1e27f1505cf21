# 1.x config long polls count against the same limits as SDK connections
# (Nacos checks them with the same manager): while held, a long poll takes
# one of its IP's connections; one over the limit is answered 503; an SDK
# connection over the limit with it is refused; once it ends the count
# drops again.
use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Test::Nd;
use Test::Nd::Conns;

my $t = Test::Nd->new;
$t->has(qw(grpc conn_limit config store));
my $schema = Test::Nd::root() . '/conf/schema';

$t->write_file('data/loader/limitRule',
               encode_json({ countLimitPerClientIp => { '127.0.0.1' => 2 } }));
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . "store {\n    schema_dir $schema;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');

sub stats () { $t->http_json('GET', '/nacos/v1/core/loader/limitStats') }

sub poll () {
    my $body = 'Listening-Configs=a.yaml%02DEFAULT_GROUP%02%01';
    my $c = $t->connect;
    $c->send("POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: x\r\n"
             . "Content-Type: application/x-www-form-urlencoded\r\n"
             . "Long-Pulling-Timeout: 30000\r\n"
             . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
    return $c;
}

# two held long polls fill 127.0.0.1's limit of 2
my @held = (poll(), poll());
ok($t->wait_for(5, sub { stats()->{longPolls} == 2 }), 'two long polls held');

my $r = poll()->read_response;
is($r->{status}, 503, 'a third long poll from the IP: 503');
is(stats()->{refused}{longPoll}, 1, 'counted');

# an SDK connection from the same IP (it states none: the socket's)
my $c = Test::Nd::Conns->start({ servers => [ $t->port(9848) ], tries => 1,
                                 clients => [ { who => 'sdk' } ] });
ok($c->wait_line(sub ($l) { ($l->{ev} // '') eq 'refused' }, 10),
   'an SDK connection over the IP limit with the polls is refused');

# a poll ends: its place is free again
$_->close for @held;
ok($t->wait_for(5, sub { stats()->{longPolls} == 0 }),
   'closed long polls are no longer counted');
my $c2 = Test::Nd::Conns->start({ servers => [ $t->port(9848) ], tries => 1,
                                  clients => [ { who => 'sdk2' } ] });
ok($c2->wait_line(sub ($l) { ($l->{ev} // '') eq 'conn' }, 10),
   'then an SDK connection from the IP is accepted');

$_->kill for $c, $c2;
$t->stop;
$t->done_testing;
