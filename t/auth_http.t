# Authentication over HTTP, auth on as shipped: no admin before the
# bootstrap (every protected API says how to set it), the one-time admin
# bootstrap, login on both paths, the three ways to pass a token, and
# every bad token refused (wrong password, expired by the token_ttl
# directive, another secret, alg none, truncated, unknown user); the
# username/password parameters the npm client sends; a secret shorter
# than 32 bytes is a conf error; auth off is warned about.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Auth;

my $t = Test::Nd->new;
$t->write_conf('nacosd.conf', $t->conf(extra => Test::Nd::Auth::conf(
    $t, ttl => '1s')));
$t->run;
$t->wait_ready;

my $cfg = '/nacos/v1/cs/configs?dataId=d1&group=DEFAULT_GROUP';

# ---- before the admin exists --------------------------------------------
my $r = $t->http_get($cfg);
is($r->{status}, 403, 'no admin yet: a protected API answers 403');
like($r->{body}, qr{/nacos/v1/auth/users/admin.*admin_password_file}s,
     'the message says how to set the admin password');
is($t->http_get('/nacos/v1/console/health/liveness')->{status}, 200,
   'liveness is open');
is($t->http_get('/nacos/v1/console/health/readiness')->{status}, 200,
   'readiness is open');
my ($st) = Test::Nd::Auth::login($t, 'nacos', 'nacos');
is($st, 403, 'no default user: nacos/nacos cannot log in');

# ---- the bootstrap ---------------------------------------------------------
$r = $t->http_post('/nacos/v1/auth/users/admin', 'password=short');
is($r->{status}, 400, 'admin password under 8 characters refused');
$r = $t->http_post('/nacos/v1/auth/users/admin', 'password=Adm1nPassw0rd');
is($r->{status}, 200, 'admin bootstrap answers 200');
is(Test::Nd::decode_json($r->{body})->{username}, 'nacos',
   'the admin is "nacos"');
$r = $t->http_post('/nacos/v1/auth/users/admin', 'password=other-password');
is($r->{status}, 409, 'a second bootstrap is refused (409)');

# ---- login ------------------------------------------------------------------
my $b;
($st, $b) = Test::Nd::Auth::login($t, 'nacos', 'wrong-password');
is($st, 403, 'wrong password: 403');
like($b, qr/unknown user/, 'wrong password: Nacos message');
($st, $b) = Test::Nd::Auth::login($t, 'nobody', 'Adm1nPassw0rd');
is($st, 403, 'unknown user: 403');

for my $path ('/nacos/v1/auth/users/login', '/nacos/v1/auth/login') {
    ($st, $b) = Test::Nd::Auth::login($t, 'nacos', 'Adm1nPassw0rd', $path);
    is($st, 200, "login on $path");
    ok($b->{accessToken} && $b->{accessToken} =~ /^[\w-]+\.[\w-]+\.[\w-]+$/,
       "$path: accessToken is a JWT");
    is($b->{tokenTtl}, 1, "$path: tokenTtl from token_ttl");
    ok($b->{globalAdmin}, "$path: globalAdmin");
    is($b->{username}, 'nacos', "$path: username");
}

# tokens: ours with a long expiry, signed with the conf's secret
my $tok = Test::Nd::Auth::token('nacos', time + 600);
$r = Test::Nd::Auth::req($t, 'POST', '/nacos/v1/cs/configs', $tok,
                         dataId => 'd1', group => 'DEFAULT_GROUP',
                         content => 'v1');
is($r->{status}, 200, 'publish with accessToken parameter');
is($t->http_get($cfg, headers => { accessToken => $tok })->{body}, 'v1',
   'get with an accessToken header');
is($t->http_get($cfg, headers => { Authorization => "Bearer $tok" })->{body},
   'v1', 'get with Authorization: Bearer');

# ---- what is refused ---------------------------------------------------------
my $now = time;
my %bad = (
    'no token'           => undef,
    'expired'            => Test::Nd::Auth::token('nacos', $now - 5),
    'another secret'     => Test::Nd::Auth::token('nacos', $now + 600,
                                                  'x' x 40),
    'truncated'          => substr($tok, 0, length($tok) - 4),
    'header and payload' => join('.', (split /\./, $tok)[0, 1]),
    'garbage'            => 'not-a-token',
    'unknown user'       => Test::Nd::Auth::token('ghost', $now + 600),
    'alg none'           => Test::Nd::Auth::b64u('{"alg":"none"}') . '.'
                            . (split /\./, $tok)[1] . '.',
    'alg HS512 claimed'  => Test::Nd::Auth::token('nacos', $now + 600,
                                                  $Test::Nd::Auth::SECRET,
                                                  'HS512'),
);
my %msg = ('no token' => qr/user not found/, expired => qr/token expired/,
           'unknown user' => qr/user not found/);
for my $what (sort keys %bad) {
    $r = Test::Nd::Auth::req($t, 'GET', $cfg, $bad{$what});
    is($r->{status}, 403, "$what: 403");
    like($r->{body}, $msg{$what} // qr/token invalid/, "$what: message");
}

# the token_ttl directive: a token from login lasts 1 s
($st, $b) = Test::Nd::Auth::login($t, 'nacos', 'Adm1nPassw0rd');
is(Test::Nd::Auth::req($t, 'GET', $cfg, $b->{accessToken})->{status}, 200,
   'a fresh login token works');
ok($t->wait_for(5, sub {
       Test::Nd::Auth::req($t, 'GET', $cfg, $b->{accessToken})->{body}
           =~ /token expired/ }),
   'the same token is expired after token_ttl (1s)');

# ---- the npm client's way: username and password on every request ------------
$r = $t->http_get("$cfg&username=nacos&password=Adm1nPassw0rd");
is($r->{body}, 'v1', 'username and password parameters authenticate');
$r = $t->http_get("$cfg&username=nacos&password=bad-password");
is($r->{status}, 403, 'a wrong password parameter is refused');

# ---- the secret and the users survive a restart --------------------------------
$t->stop;
$t->run;
$t->wait_ready;
is(Test::Nd::Auth::req($t, 'GET', $cfg, $tok)->{body}, 'v1',
   'after a restart the same token still works');
($st) = Test::Nd::Auth::login($t, 'nacos', 'Adm1nPassw0rd');
is($st, 200, 'after a restart the admin still logs in');
$t->stop;

# ---- conf: a short secret; admin_password_file; auth off ---------------------------
my $t2 = Test::Nd->new;
$t2->write_file('short.secret', "too-short\n");
$t2->write_conf('nacosd.conf', $t2->conf(extra => "auth {\n"
    . "    token_secret_file " . $t2->testdir . "/short.secret;\n}\n"));
my ($rc, $out) = $t2->run_binary('-t', '-p', $t2->testdir . '/', '-c',
                                 $t2->conf_path);
isnt($rc, 0, 'a token secret under 32 bytes fails the conf test');
like($out, qr/token_secret_file.*at least 32/, 'and says why');

my $t3 = Test::Nd->new;
$t3->write_conf('nacosd.conf', $t3->conf(extra => Test::Nd::Auth::conf(
    $t3, admin_password => 'From-A-File-123', secret_file => 0)));
$t3->run;
$t3->wait_ready;
ok($t3->wait_for(5, sub {
       (Test::Nd::Auth::login($t3, 'nacos', 'From-A-File-123'))[0] == 200 }),
   'admin_password_file sets the admin at first start (secret made at '
   . 'first start too)');
like($t3->error_log, qr/new token secret was made/,
     'the token secret was generated');
$t3->stop;

my $t4 = Test::Nd->new;
$t4->write_conf('nacosd.conf', $t4->conf(extra => "auth off;\n"));
$t4->run;
is($t4->http_get($cfg)->{status}, 404, 'auth off: open (config not found)');
like($t4->error_log, qr/\[warn\].*auth is off/, 'auth off is warned about');
$t4->stop;

$t->done_testing;
