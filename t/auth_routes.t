# Every route is classified in src/modules/auth/nd_auth_routes.c (nacosd
# refuses to start with a route missing there); this walks that table:
# without a token every route but the open ones (liveness, readiness,
# login, the admin bootstrap) answers 403, before the admin exists (saying
# how to set it) and after; every SDK gRPC request type likewise answers
# errorCode 403 without a token, and is served with one.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Auth;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw(auth naming config grpc));
Test::Nd::Grpc->ensure_client;

# the table, as the code has it
my $src = Test::Nd::root() . '/src/modules/auth/nd_auth_routes.c';
open my $fh, '<', $src or die "$src: $!";
my $text = do { local $/; <$fh> };
my @bits = qw(GET HEAD POST PUT DELETE PATCH OPTIONS);
my %set = (RW => [qw(POST PUT DELETE)], ANY => \@bits);
my (@routes, @types);
while ($text =~ /^\s*R\((\w+),\s*"([^"]+)",\s*(\w+)\)/mg) {
    push @routes, [ $_, $2, $3 ] for @{ $set{$1} // [$1] };
}
while ($text =~ /^\s*\{\s*"(\w+Request)",\s*ND_AUTH_(\w+)\s*\}/mg) {
    push @types, [ $1, $2 ];
}
cmp_ok(scalar @routes, '>', 100, 'the route table is read (' . @routes
       . ' route methods)');
cmp_ok(scalar @types, '>=', 10, 'the gRPC type table is read');

$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . Test::Nd::Auth::conf($t)));
$t->run;
$t->wait_ready;

sub walk ($what, $msg) {
    my @bad;
    for my $rt (@routes) {
        my ($m, $path, $cls) = @$rt;
        next if $cls eq 'OPEN';
        my $r = $t->http_req($m, "/nacos$path");
        push @bad, "$m $path: $r->{status}"
            if $r->{status} != 403
            || ($m ne 'HEAD' && $r->{body} !~ $msg);
    }
    ok(!@bad, "$what: every protected route answers 403")
        or diag(join "\n", @bad);
}

# the open routes are exactly these: a new one must be added here on purpose
is_deeply([ sort map { "$_->[0] $_->[1]" } grep { $_->[2] eq 'OPEN' } @routes ],
          [ sort((map { "GET $_" } qw(/v1/console/health/liveness
                      /v1/console/health/readiness / /index.html /console.js
                      /console.css /diff.js /actuator/prometheus)),
                 'POST /v1/auth/users/login', 'POST /v1/auth/login',
                 'POST /v1/auth/users/admin') ],
          'the open routes: probes, login, bootstrap, console files, scrape');

walk('before the admin', qr/admin/);
is($t->http_get('/nacos/v1/console/health/liveness')->{status}, 200,
   'liveness open');
is($t->http_post('/nacos/v1/auth/users/admin', 'password=Walk-Admin-1')
     ->{status}, 200, 'bootstrap open');
walk('after the admin', qr/user not found/);

# gRPC: each SDK type without a token, then with the admin's
my $tok = Test::Nd::Auth::token_of($t, 'nacos', 'Walk-Admin-1');
ok($tok, 'admin token');
my @hello = Test::Nd::Auth::grpc_hello();
my %body = (dataId => 'walk', group => 'DEFAULT_GROUP', tenant => '',
            content => 'x', namespace => 'public', serviceName => 'walk',
            groupName => 'DEFAULT_GROUP', type => 'registerInstance',
            instance => { ip => '10.0.0.1', port => 80, weight => 1,
                          healthy => JSON::PP::true,
                          enabled => JSON::PP::true,
                          ephemeral => JSON::PP::true,
                          clusterName => 'DEFAULT' },
            instances => [], configListenContexts => [], listen => 1,
            pageNo => 1, pageSize => 10, subscribe => JSON::PP::true);
my @calls = map { { op => 'unary', type => $_->[0], body => \%body } }
            grep { $_->[1] ne 'OPEN' } @types;
my @auth = map { { %$_, headers => { accessToken => $tok } } } @calls;
my $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run($t->port(9848),
                                                  [ @hello, @calls, @auth ]));
my $n = @calls;
for my $i (0 .. $n - 1) {
    my $type = $calls[$i]{type};
    my $no = $s->{4 + $i}{body} // {};
    is($no->{errorCode}, 403, "$type without a token: errorCode 403");
    my $yes = $s->{4 + $n + $i}{body} // {};
    isnt($yes->{errorCode} // 0, 403, "$type with the admin's token: not 403");
}

$t->done_testing;
