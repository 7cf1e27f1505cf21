#!/usr/bin/perl
# The outbound gRPC peer (nd_grpc_client.h, the client role of our h2
# framer) against a real nacosd's gRPC port, driven by the test-only
# program t/prog/nd_grpc_peer_drive.c: calls multiplexed on one
# connection, a call timeout, a closed port (ECONNREFUSED, backoff,
# DECLINED, kick), and the server killed mid-call.
use v5.36;
use Test::More;
use IO::Socket::INET;
use POSIX ();
use lib 't/lib';
use Test::Nd;

my $t = Test::Nd->new;
$t->has('grpc');

my $drive = File::Spec->catfile(Test::Nd::builddir(), 't', 'prog',
                                'nd_grpc_peer_drive');
plan(skip_all => "$drive not built (make unit)") unless -x $drive;

# run the driver: its stdout lines, its exit code; stderr (our error log
# lines) must carry no [alert] or sanitizer report
sub drive (@args) {
    my $err = $t->testdir . '/drive.err';
    my $cmd = join ' ', map { "'$_'" } $drive, @args;
    my $out = `$cmd 2>$err`;
    my $code = $? >> 8;
    open my $fh, '<', $err or die "$err: $!";
    my $log = do { local $/; <$fh> } // '';
    unlike($log, qr/\[alert\]|AddressSanitizer|LeakSanitizer|runtime error:/,
           "driver @args[1 .. 2]: no alert, no sanitizer report")
        or diag($log);
    return ($out, $code, $log);
}

$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"));
$t->run;
my $addr = '127.0.0.1:' . $t->port(9848);
my (@bad, @done);

# many calls on one connection
my ($out, $code) = drive($addr, 'wait_state', 'connected',
    'calls', 200, 'ServerCheckRequest',
    'calls', 50, 'HealthCheckRequest',
    'call', 'ServerCheckRequest', 2000);
is($code, 0, 'driver exit 0') or diag($out);
like($out, qr/^state up=1 err=0$/m, 'state handler: up after SETTINGS');
like($out, qr/^connected 1$/m, 'connected');
like($out, qr/^calls n=200 OK=200 AGAIN=0 DECLINED=0 ERROR=0 types=ServerCheckResponse:200, ids=1 conns=1 inflight=200$/m,
     '200 ServerCheckRequests answered, all on one connection (one '
     . 'connectionId, one socket, 200 in flight at once)');
# the SDK port answers unary calls of an unregistered connection (no
# bi-stream ConnectionSetupRequest) with ErrorResponse 301, as Nacos does
like($out, qr/^calls n=50 OK=50 AGAIN=0 DECLINED=0 ERROR=0 types=ErrorResponse:50, ids=0 conns=1/m,
     '50 HealthCheckRequests answered on the same connection');
like($out, qr/^done rc=OK type=ServerCheckResponse body=\{.*"connectionId":"\d+_127\.0\.0\.1_\d+".*"resultCode":200/m,
     'a ServerCheckResponse body decoded');

# HealthCheckRequest's ErrorResponse says why
($out, $code) = drive($addr, 'call', 'HealthCheckRequest', 2000);
like($out, qr/^done rc=OK type=ErrorResponse body=\{.*"errorCode":301.*"message":"Connection is unregistered\."/m,
     'HealthCheckRequest: the answer of the SDK port to an unregistered '
     . 'connection') or diag($out);

# a call timeout: a server that accepts and never speaks
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 5, ReuseAddr => 1)
    or die "listen: $!";
my $sport = $silent->sockport;
my $t0 = Time::HiRes::time();
($out, $code) = drive("127.0.0.1:$sport", 'call', 'ServerCheckRequest', 300,
                      'connected');
my $took = Time::HiRes::time() - $t0;
like($out, qr/^done rc=AGAIN type=- body=-$/m, 'call timed out: ND_AGAIN')
    or diag($out);
like($out, qr/^connected 0$/m, 'not connected without SETTINGS');
unlike($out, qr/^state /m, 'no state change while the handshake waits');
cmp_ok($took, '<', 5, 'the timeout did not block');

# destroy: calls pending get ND_ABORT at once; a callback may destroy
($out, $code) = drive("127.0.0.1:$sport", 'send', 'ServerCheckRequest', 5000,
                      'send', 'ServerCheckRequest', 5000, 'destroy');
is($code, 0, 'driver exit 0 (destroy)') or diag($out);
@done = $out =~ /^(done rc=\w+)/mg;
is_deeply(\@done, [ 'done rc=ABORT', 'done rc=ABORT' ],
          'destroy: both pending calls ABORT') or diag($out);
($out, $code) = drive("127.0.0.1:$sport", 'send', 'ServerCheckRequest', 200,
                      'send', 'ServerCheckRequest', 5000, 'destroy_in_cb',
                      'wait_calls');
is($code, 0, 'driver exit 0 (destroy in a callback)') or diag($out);
like($out, qr/^done rc=AGAIN.*\ndestroying in a callback\ndone rc=ABORT/m,
     'the callback of a timed-out call destroys the peer: the other ABORTs')
    or diag($out);
close $silent;

# a closed port: ECONNREFUSED, then DECLINED at once while in backoff,
# and kick connects again now
my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 1) or die;
my $cport = $closed->sockport;
close $closed;
($out, $code) = drive("127.0.0.1:$cport", 'wait_state',
    'call', 'ServerCheckRequest', 2000, 'kick', 'wait_state',
    'wait_state');
is($code, 0, 'driver exit 0 (closed port)') or diag($out);
my @states;
@states = $out =~ /^state (up=\d err=\S+)$/mg;
is($states[0], 'up=0 err=ECONNREFUSED', 'state handler: ECONNREFUSED');
like($out, qr/^done rc=DECLINED/m, 'a call in backoff is DECLINED at once');
is(scalar(@states), 3, 'kick and the next backoff: two more attempts')
    or diag($out);
is($states[2], 'up=0 err=ECONNREFUSED', 'each refused');

# limits: max_inflight declines the calls over it, at once
($out, $code) = drive('-i', 4, $addr, 'wait_state',
                      'calls', 10, 'ServerCheckRequest');
like($out, qr/^calls n=10 OK=4 AGAIN=0 DECLINED=6 ERROR=0 /m,
     'max_inflight 4: 4 answered, 6 declined') or diag($out);

# max_message_size: a request over it is refused by nd_grpc_peer_call,
# an answer over it fails the call, not the connection
($out, $code, my $log) = drive('-m', 1000, $addr, 'wait_state',
                               'big', 2000, 1000, 'big', 100, 1000);
like($out, qr/^call rc=ERROR$/m, 'a request over max_message_size: '
     . 'ND_ERROR from nd_grpc_peer_call, no callback') or diag($out);
like($log, qr/over max_message_size 1000/, 'and a clear error in the log');
like($out, qr/^done rc=OK type=ServerCheckResponse/m,
     'a request under it goes through');
($out, $code, $log) = drive('-m', 120, $addr, 'wait_state',
                            'call', 'ServerCheckRequest', 1000,
                            'call', 'ServerCheckRequest', 1000, 'connected');
@done = $out =~ /^(done rc=\w+)/mg;
is_deeply(\@done, [ 'done rc=ERROR', 'done rc=ERROR' ],
          'answers over max_message_size fail their calls') or diag($out);
like($log, qr/response over max_message_size/, 'and say so');
like($out, qr/^connected 1$/m, 'the connection stays up');

# a graceful stop: the server sends GOAWAY; the peer reports it down
# (err 0) and dials again at once, refused by the stopped server
($out, $code) = drive($addr, 'wait_state', 'calls', 20, 'ServerCheckRequest',
    'signal', POSIX::SIGTERM(), $t->pid, 'wait_state', 'wait_state');
is($code, 0, 'driver exit 0 (GOAWAY)') or diag($out);
@states = $out =~ /^state (up=\d err=\S+)$/mg;
is_deeply(\@states, [ 'up=1 err=0', 'up=0 err=0', 'up=0 err=ECONNREFUSED' ],
          'up, down on GOAWAY, redial refused') or diag($out);
is($t->wait_exit(10), 0, 'the server stopped gracefully (exit 0)');
$t->{checked} = 1;
@bad = $t->log_problems;
ok(!@bad, 'no [alert] in the server log') or diag("@bad");
$t->run;

# the server killed mid-call: SIGSTOP so the call stays unanswered, then
# SIGKILL: the call fails with ND_ERROR and the peer reports it down
my $pid = $t->pid;
($out, $code) = drive($addr, 'wait_state', 'signal', POSIX::SIGSTOP(), $pid,
    'send', 'ServerCheckRequest', 8000, 'sleep', 200,
    'signal', POSIX::SIGKILL(), $pid, 'wait_calls', 'sleep', 50,
    'call', 'ServerCheckRequest', 1000);
waitpid($pid, 0);
$t->{pid} = undef;
$t->{checked} = 1;
@bad = $t->log_problems;
ok(!@bad, 'no [alert] in the server log before the kill') or diag("@bad");

is($code, 0, 'driver exit 0 (server killed)') or diag($out);
my @lines = grep { /^(state|done)/ } split /\n/, $out;
is($lines[0], 'state up=1 err=0', 'up before the kill') or diag($out);
# the peer says it is down as it sees the reset; the call's callback
# runs from the next loop pass
like($lines[1], qr/^state up=0 err=(ECONNRESET|EPIPE)$/,
     'down: connection reset');
is($lines[2], 'done rc=ERROR type=- body=-',
   'the call in flight failed with ND_ERROR');
my @rest = @lines[3 .. $#lines];
is($rest[-1], 'done rc=DECLINED type=- body=-',
   'a call after it: declined (backoff)');
pop @rest;
# (a redial racing the dying process may connect and be reset)
ok(@rest >= 1
   && !(grep { !/^state up=0 err=(ECONNREFUSED|ECONNRESET)$/ } @rest),
   'redialled at once: refused') or diag($out);

done_testing;
