# Signals: TERM (graceful, bounded by shutdown_timeout), HUP (reload, also
# with a broken conf), USR1 (reopen logs).

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Time::HiRes qw(time sleep);

my $live = '/nacos/v1/console/health/liveness';

sub served_after_term ($t) {
    my $c = Test::Nd::Conn->new(port => $t->port, timeout => 1) or return 0;
    $c->send($t->request_text('GET', $live));
    my $r = $c->read_response(timeout => 2);
    return $r && $r->{status} == 200 ? 1 : 0;
}

# --- TERM with a request in flight ------------------------------------------
subtest 'TERM waits for a request in flight' => sub {
    my $t = Test::Nd->new;
    plan skip_all => 'needs a --with-debug build (sleep route)'
        unless $t->is_debug;
    $t->write_conf('nacosd.conf', $t->conf(events => 'shutdown_timeout 5s;'));
    $t->run;
    my $c = $t->connect;
    $c->send($t->request_text('GET', '/nacos/v1/core/debug/sleep?ms=1500'));
    sleep 0.3;
    my $t0 = time;
    $t->signal('TERM');
    sleep 0.3;
    ok(!served_after_term($t), 'no new request served after TERM');
    my $r = $c->read_response(timeout => 5);
    is($r && $r->{status}, 200, 'in-flight request still answered 200');
    is($r && $r->{body}, 'slept', 'in-flight request body');
    my $code = $t->wait_exit(5 + 2);
    is($code, 0, 'process exits 0 after the request');
    cmp_ok(time - $t0, '>=', 1.0, 'exit waited for the request');
    $t->stop;
};

subtest 'shutdown_timeout bounds a graceful stop' => sub {
    my $t = Test::Nd->new;
    plan skip_all => 'needs a --with-debug build (sleep route)'
        unless $t->is_debug;
    $t->write_conf('nacosd.conf', $t->conf(events => 'shutdown_timeout 1s;'));
    $t->run;
    my $c = $t->connect;
    $c->send($t->request_text('GET', '/nacos/v1/core/debug/sleep?ms=20000'));
    sleep 0.3;
    my $t0 = time;
    $t->signal('TERM');
    my $code = $t->wait_exit(1 + 2.5);
    ok(defined $code, 'exits within shutdown_timeout (1s) + slack');
    cmp_ok(time - $t0, '>=', 0.8, 'waited about shutdown_timeout first');
    ok($c->wait_closed(1), 'the unfinished request is closed');
    $t->stop;
};

subtest 'idle keep-alive connections do not delay TERM' => sub {
    my $t = Test::Nd->new;
    $t->write_conf('nacosd.conf', $t->conf(events => 'shutdown_timeout 10s;',
                                           http => 'keepalive_timeout 60s;'));
    $t->run;
    my $c = $t->connect;
    $c->send($t->request_text('GET', $live, keepalive => 1));
    my $r = $c->read_response;
    is($r && $r->{status}, 200, 'keep-alive request served');
    $t->signal('TERM');
    my $code = $t->wait_exit(3);
    is($code, 0, 'exits 0 quickly with only idle connections');
    ok($c->wait_closed(1), 'idle connection closed');
    $t->stop;
};

# --- HUP ---------------------------------------------------------------------
my $t = Test::Nd->new;
$t->write_conf('nacosd.conf', $t->conf(http => 'keepalive_timeout 60s;'));
$t->run;
my $pid = $t->pid;
my $nreload = sub { scalar(() = $t->error_log =~ /reload/gi) };

sub idle_close_time ($t) {
    my $c = $t->connect;
    $c->send($t->request_text('GET', $live, keepalive => 1));
    my $r = $c->read_response or return -1;
    my $t0 = time;
    return $c->wait_closed(4) ? time - $t0 : 99;
}

my $c = $t->connect;
$c->send($t->request_text('GET', $live, keepalive => 1));
$c->read_response;
ok(!$c->wait_closed(1.5), 'keepalive_timeout 60s: idle connection stays open');

$t->write_conf('nacosd.conf', $t->conf(http => 'keepalive_timeout 1s;'));
my $before = $nreload->();
$t->signal('HUP');
ok($t->wait_for(5, sub { $nreload->() > $before }), 'HUP: error.log mentions reload');
sleep 0.2;
ok($t->running, 'HUP: same process still running');
is($t->pid, $pid, 'HUP: same pid');
is($t->http_get($live)->{status}, 200, 'HUP: still serving');
my $el = idle_close_time($t);
ok($el >= 0.8 && $el <= 3.5, "HUP: new keepalive_timeout 1s applies ($el s)");

# a broken conf: error logged, old settings kept, still serving
$t->write_conf('nacosd.conf', $t->conf(http => "keepalive_timeout 60s;\n"
                                        . "    bogus_reload_directive 1;"));
$t->signal('HUP');
ok($t->wait_for(5, sub {
        $t->error_log =~ /\[(?:emerg|crit|error)\][^\n]*bogus_reload_directive/ }),
   'HUP with a broken conf: the error is logged');
sleep 0.2;
ok($t->running, 'HUP with a broken conf: still running');
is($t->http_get($live)->{status}, 200, 'HUP with a broken conf: still serving');
$el = idle_close_time($t);
ok($el >= 0.8 && $el <= 3.5, "HUP with a broken conf: old settings kept ($el s)");

# an emptied conf would be all defaults (keepalive_timeout 60s): refused,
# the settings in use kept
$t->write_file('nacosd.conf', "# nothing here yet\n");
$t->signal('HUP');
ok($t->wait_for(5, sub {
        $t->error_log =~ /\[emerg\][^\n]*has no directive/ }),
   'HUP with an empty conf: refused, and said so');
sleep 0.2;
ok($t->running, 'HUP with an empty conf: still running');
$el = idle_close_time($t);
ok($el >= 0.8 && $el <= 3.5, "HUP with an empty conf: old settings kept ($el s)");

# -s reload after fixing the conf
$t->write_conf('nacosd.conf', $t->conf(http => 'keepalive_timeout 60s;'));
$before = $nreload->();
my ($rc, $out) = $t->run_binary('-p', $t->testdir . '/', '-c', $t->conf_path,
                                '-s', 'reload');
is($rc, 0, '-s reload exits 0') or diag($out);
ok($t->wait_for(5, sub { $nreload->() > $before }), '-s reload: reloaded');
is($t->http_get($live)->{status}, 200, '-s reload: still serving');

# --- USR1: reopen ------------------------------------------------------------
my $logs = $t->testdir . '/logs';
ok($t->wait_for(3, sub { -e "$logs/access.log" }), 'access.log exists');
rename "$logs/error.log", "$logs/error.log.1" or die "rename: $!";
rename "$logs/access.log", "$logs/access.log.1" or die "rename: $!";
$t->signal('USR1');
ok($t->wait_for(5, sub { -e "$logs/error.log" }), 'USR1: new error.log created');
ok($t->wait_for(5, sub { -e "$logs/access.log" }), 'USR1: new access.log created');
my $old_access = -s "$logs/access.log.1";
is($t->http_get("$live?after=usr1")->{status}, 200, 'USR1: still serving');
ok($t->wait_for(3, sub { Test::Nd::_slurp("$logs/access.log") =~ /after=usr1/ }),
   'USR1: new requests go to the new access.log');
is(-s "$logs/access.log.1", $old_access, 'USR1: the old access.log is left alone');

$t->done_testing;
