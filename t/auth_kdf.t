# Password checks run on a thread of their own, not on the loop: while a
# slow check runs (password_iterations high), the node answers other
# requests; checks past password_queue are answered 503 at once; a client
# that goes away while its check runs costs nothing more; the result is
# the same as before (wrong password 403, right one a token), for a login
# and for the username and password parameters of any request.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes ();
use Test::Nd;
use Test::Nd::Auth;

my $PW = 'Adm1nPassw0rd';

my $t = Test::Nd->new;
# 1,000,000 iterations: a check takes about a second here (sanitizers)
$t->write_conf('nacosd.conf', $t->conf(extra => Test::Nd::Auth::conf(
    $t, admin_password => $PW, iterations => 1000000,
    extra => "    password_queue 2;\n")));
$t->run;
$t->wait_ready(60);

my $live = '/nacos/v1/console/health/liveness';
my $cfg = '/nacos/v1/cs/configs?dataId=kdf&group=DEFAULT_GROUP';

# the admin from admin_password_file: its hash is made on the password
# thread too, the loop answering meanwhile
ok($t->wait_for(30, sub {
       my $r = $t->http_get($cfg);
       return $r->{status} == 403 && $r->{body} !~ /no admin user yet/;
   }), 'the admin from admin_password_file is set');

sub login_conn ($user, $pass) {
    my $c = $t->connect or die "connect: $!";
    my $body = Test::Nd::Auth::form(username => $user, password => $pass);
    $c->send($t->request_text('POST', '/nacos/v1/auth/users/login',
        body => $body,
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' }));
    return $c;
}

sub get_conn ($path) {
    my $c = $t->connect or die "connect: $!";
    $c->send($t->request_text('GET', $path));
    return $c;
}

# the request on $c, sent just before, waits for its check: meanwhile the
# loop answers others (a check on the loop would answer it first)
sub loop_free_while ($c, $what) {
    Time::HiRes::sleep(0.2);
    is($t->http_get($live)->{status}, 200,
       "liveness is answered while $what is checked");
    ok(!defined $c->read_response(timeout => 0),
       "$what: still waiting for its check");
}

# ---- the loop answers while a check runs --------------------------------
# username and password parameters (the npm client's way), first use: the
# check goes to the thread, the request waits, then goes on to its handler
my $c = get_conn("$cfg&username=nacos&password=$PW");
loop_free_while($c, 'a request with a password');
my $r = $c->read_response(timeout => 30);
ok($r && $r->{status} != 403 && $r->{status} != 503,
   'right password parameters: the request reaches its handler')
    or diag explain $r;

$c = get_conn("$cfg&username=nacos&password=wrong-password");
$r = $c->read_response(timeout => 30);
is($r && $r->{status}, 403, 'wrong password parameters: 403');
like($r && $r->{body}, qr/unknown user/, 'wrong password parameters: message');

# a login with a wrong password: answered after its check, the loop free
my $wrong = login_conn('nacos', 'wrong-password');
loop_free_while($wrong, 'a login');
$r = $wrong->read_response(timeout => 30, method => 'POST');
is($r && $r->{status}, 403, 'wrong password: 403');
like($r && $r->{body}, qr/unknown user/, 'wrong password: Nacos message');

# an unknown user's check is made as long (a dummy hash with the
# iterations of password_iterations): the loop still free meanwhile
my $unknown = login_conn('nobody', $PW);
loop_free_while($unknown, 'an unknown user');
$r = $unknown->read_response(timeout => 30, method => 'POST');
is($r && $r->{status}, 403, 'unknown user: 403');

# ---- password_queue --------------------------------------------------------
my @c = map { login_conn('nacos', "wrong-$_") } 1 .. 2;
Time::HiRes::sleep(0.2);
my $third = login_conn('nacos', 'wrong-3');
$r = $third->read_response(timeout => 5, method => 'POST');
is($r && $r->{status}, 503, 'a check past password_queue: 503 at once');
like($r && $r->{body}, qr/too many password checks/, '503 message');
ok(!defined $c[0]->read_response(timeout => 0),
   'the queued checks are still running');
for my $i (0, 1) {
    $r = $c[$i]->read_response(timeout => 30, method => 'POST');
    is($r && $r->{status}, 403, "queued check $i: 403");
}

# ---- clients that go away --------------------------------------------------------
# the first one's check runs; the second one's, still queued, never does
my $gone = login_conn('nacos', 'wrong-gone');
Time::HiRes::sleep(0.2);
my $gone2 = get_conn("$cfg&username=nacos&password=wrong-gone");
Time::HiRes::sleep(0.2);
close $gone2->socket;
close $gone->socket;
is($t->http_get($live)->{status}, 200, 'clients gone mid-check: node answers');
# the first one's check still runs: one place left, which the second
# one's would hold had it not been dropped
my $next = login_conn('nacos', 'wrong-4');
$r = $next->read_response(timeout => 30, method => 'POST');
is($r && $r->{status}, 403, 'a check after the clients gone: queued, not 503');

# ---- the right password: a token, then no slow check --------------------------
my ($st, $b) = Test::Nd::Auth::login($t, 'nacos', $PW);
is($st, 200, 'right password: 200');
ok($b->{accessToken}, 'right password: a token');

$r = $t->http_get("$cfg&username=nacos&password=$PW");
ok($r->{status} != 403 && $r->{status} != 503,
   'the password logged in with: accepted');

ok($t->running, 'the node is running');

# ---- stop with checks waiting ------------------------------------------------
# a second TERM stops at once: the module's exit frees its jobs before the
# connections close (their abort must not touch them); the end check below
# fails on any sanitizer report
@c = (login_conn('nacos', 'wrong-6'), login_conn('nacos', 'wrong-7'),
      get_conn("$cfg&username=nacos&password=wrong-8"));
Time::HiRes::sleep(0.2);
$t->signal('TERM');
Time::HiRes::sleep(0.2);
$t->signal('TERM');
is($t->wait_exit(30), 0, 'stopped with checks waiting: exit 0');
$t->done_testing;
