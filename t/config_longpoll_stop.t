# A stop with long polls held: SIGTERM answers every held 1.x long poll
# with the empty "no change" answer (as a restarting Nacos does, so the
# client polls again at once), then the process exits 0 with clean logs.
# Before, the polls were cut, and a release build crashed at exit (the
# watches were freed before the connections that still pointed at them).

use v5.36;

use lib 't/lib';
use Test::More;
use Time::HiRes ();
use Test::Nd;

my $t = Test::Nd->new;
plan(skip_all => 'nacosd built without the config module')
    unless $t->has_module('config');

my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "store {\n    schema_dir $schema;\n}\n"
           . "config {\n    long_poll_floor 1s;\n}\n"));
$t->run;
ok($t->wait_ready(10), 'ready');

# keys that do not exist, listened with an empty md5: held
sub hold ($key) {
    my $body = "Listening-Configs=$key%2502G%2502%2501";
    my $c = $t->connect(timeout => 20);
    $c->send("POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: x\r\n"
           . "Content-Type: application/x-www-form-urlencoded\r\n"
           . "Long-Pulling-Timeout: 30000\r\n"
           . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
    return $c;
}

my @polls = map { hold("stop$_") } 1 .. 5;

ok($t->wait_for(10, sub {
    my $r = $t->http_json('GET', '/nacos/v1/cs/configs/listener?'
                          . 'dataId=stop5&group=G');
    scalar keys %{ $r->{lisentersGroupkeyStatus} // {} };
}), 'the polls are held');

my $t0 = Time::HiRes::time();
$t->signal('TERM');

for my $i (0 .. $#polls) {
    my $r = $polls[$i]->read_response(timeout => 10, method => 'POST');
    ok($r, "poll $i answered at the stop") or next;
    is($r->{status}, 200, "poll $i: 200");
    is($r->{body}, '', "poll $i: no change");
}

ok(defined $t->wait_exit(10), 'the process exited');
is($t->{status}, 0, 'exit status 0');
cmp_ok(Time::HiRes::time() - $t0, '<', 10,
       'well before the shutdown_timeout (10 s) dropped anything');
unlike($t->stderr_log, qr/AddressSanitizer|runtime error/,
       'no sanitizer report');

$t->done_testing;
