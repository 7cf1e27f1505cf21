#!/usr/bin/perl
# The web console in a real headless Chromium (t/js/console_browser.js,
# DevTools protocol over a pipe): the files and their headers (types,
# ETag/304, the Content-Security-Policy, bytes as in the tree), then a
# browser session -- the login page, create and edit a namespace, publish
# a config with a diff, roll it back from its history, a beta, the
# listeners of the config, an instance registered through the API seen
# and edited in the service detail, members, connections -- failing on
# any console error, CSP report or failed request.  A screenshot of each
# page goes to <test dir>/screenshots (ND_TEST_KEEP=1 keeps them).
# Without chromium the test skips, and fails under CI=true.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw/grpc store naming config/);

my ($chromium) = grep { -x } map { ("$_/chromium", "$_/chromium-browser") }
                 split /:/, $ENV{PATH};
if (!$chromium) {
    my $why = 'chromium not found (apt-get install chromium)';
    if (($ENV{CI} // '') eq 'true') {
        fail($why);
        done_testing();
        exit 1;
    }
    plan skip_all => $why;
}
if (system('node --version >/dev/null 2>&1') != 0) {
    if (($ENV{CI} // '') eq 'true') {
        fail('node found');
        done_testing();
        exit 1;
    }
    plan skip_all => 'node not found';
}
Test::Nd::Grpc->ensure_client;

$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');

my $root = Test::Nd::root();
sub slurp ($f) { local $/; open my $fh, '<:raw', $f or die "$f: $!"; <$fh> }

# ---- the files ----------------------------------------------------------

my %type = ('/nacos/' => 'text/html', '/nacos/index.html' => 'text/html',
            '/nacos/console.css' => 'text/css',
            '/nacos/console.js' => 'text/javascript',
            '/nacos/diff.js' => 'text/javascript');
my %src = ('/nacos/' => 'index.html', '/nacos/index.html' => 'index.html',
           '/nacos/console.css' => 'console.css',
           '/nacos/console.js' => 'console.js', '/nacos/diff.js' => 'diff.js');
for my $p (sort keys %type) {
    my $r = $t->http_get($p);
    is($r->{status}, 200, "$p: 200");
    like($r->{headers}{'content-type'}, qr{^\Q$type{$p}\E;charset=UTF-8$}i,
         "$p: $type{$p}");
    ok($r->{body} eq slurp("$root/src/modules/http/console/$src{$p}"),
       "$p: the bytes of src/modules/http/console/$src{$p}");
    is($r->{headers}{'cache-control'}, 'no-cache', "$p: revalidated");
    like($r->{headers}{etag}, qr/^"[0-9a-f]{16}"$/, "$p: a strong ETag");
    my $csp = $r->{headers}{'content-security-policy'} // '';
    like($csp, qr/(^|; )default-src 'self'(;|$)/, "$p: CSP default-src 'self'");
    unlike($csp, qr/unsafe-inline|unsafe-eval/, "$p: no unsafe-inline/eval");
    is($r->{headers}{'x-content-type-options'}, 'nosniff', "$p: nosniff");

    my $nm = $t->http_get($p, headers => { 'If-None-Match' => $r->{headers}{etag} });
    is($nm->{status}, 304, "$p: If-None-Match of its ETag: 304");
    is($nm->{body}, '', "$p: 304 has no body");
    is($t->http_get($p, headers => { 'If-None-Match' => '"0000"' })->{status},
       200, "$p: another ETag: 200");
}
my $html = slurp("$root/src/modules/http/console/index.html");
unlike($html, qr/<script(?![^>]*\bsrc=)|\bstyle=|<style|\bon[a-z]+=/i,
       'index.html: no inline script, style or handler');
my $r = $t->http_get('/nacos');
is($r->{status}, 302, '/nacos: 302');
is($r->{headers}{location}, '/nacos/', '... to /nacos/');
is($t->http_req('POST', '/nacos/index.html')->{status}, 405,
   'POST to a file: 405');
is($t->http_get('/nacos/console.jsx')->{status}, 404, 'another name: 404');

# ---- the browser --------------------------------------------------------

# an SDK connection, subscribed to the service and listening to the
# config the browser makes: the connections, subscribers and listeners
# pages then have something to show
my $sdk = Test::Nd::Grpc->start($t->port(9848), [
    Test::Nd::Grpc->hello(module => 'naming', AppName => 'shop'),
    Test::Nd::Grpc->call('SubscribeServiceRequest',
        namespace => 'console-ns', serviceName => 'orders',
        groupName => 'DEFAULT_GROUP', clusters => '',
        subscribe => JSON::PP::true, module => 'naming'),
    Test::Nd::Grpc->call('ConfigBatchListenRequest',
        listen => JSON::PP::true, module => 'config',
        configListenContexts => [ { dataId => 'app.yaml',
            group => 'DEFAULT_GROUP', tenant => 'console-ns', md5 => '' } ]),
    { op => 'hold' } ]);
ok($sdk->wait_line(sub ($l) { ($l->{op} // '') eq 'hold' }),
   'an SDK is connected, subscribed and listening');

my $shots = $t->testdir . '/screenshots';
mkdir $shots or die "mkdir $shots: $!";
my $base = 'http://127.0.0.1:' . $t->port . '/nacos';

my $pid = open(my $out, '-|', 'node', "$root/t/js/console_browser.js",
               $chromium, $base, $shots) or die "node: $!";
my (@lines, @files);
while (my $l = <$out>) {
    chomp $l;
    my $j = eval { JSON::PP::decode_json($l) } // { raw => $l };
    push @lines, $j;
    if (exists $j->{step}) {
        ok($j->{ok}, "browser: $j->{step}") or diag($j->{why} // $l);
    } elsif ($j->{screenshot}) {
        push @files, $j->{screenshot};
    } elsif (exists $j->{errors}) {
        is(scalar @{ $j->{errors} }, 0,
           'no console error, exception, CSP report or failed request')
            or diag(JSON::PP->new->canonical->pretty->encode($j->{errors}));
    } else {
        diag("browser: $l");
    }
}
close $out;
is($? >> 8, 0, 'the browser script exits 0');
ok((grep { exists $_->{errors} } @lines), 'the browser script finished');

my @pages = qw(login namespaces configs config-diff history config-beta
               listeners services service cluster connections);
for my $p (@pages) {
    my ($f) = grep { m{/\Q$p\E\.png$} } @files;
    ok($f && -s $f > 5000 && substr(slurp($f), 0, 8) eq "\x89PNG\r\n\x1a\n",
       "screenshot of $p") and diag("screenshot: $f");
}

$sdk->kill;

# ---- console off -----------------------------------------------------------

$t->stop;
$t->write_conf('nacosd.conf', $t->conf(http => '    console off;'));
$t->run;
is($t->http_get('/nacos/')->{status}, 404, 'console off: no page');
is($t->http_get('/nacos')->{status}, 404, 'console off: no redirect');
is($t->http_get('/nacos/v1/console/health/liveness')->{status}, 200,
   'console off: the API still answers');

$t->done_testing;
