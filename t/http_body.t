# Request bodies (Content-Length, chunked, Expect: 100-continue), form and
# query parameters, and the request limits: 400, 413, 414, 431, slow headers.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Time::HiRes qw(time sleep);

my $t = Test::Nd->new;
$t->write_conf('nacosd.conf', $t->conf(http => <<'H'));
    client_max_body_size 1k;
    client_header_max_size 1k;
    client_header_timeout 1s;
H
$t->run;
my $debug = $t->is_debug;

my $live = '/nacos/v1/console/health/liveness';
my $echo = '/nacos/v1/core/debug/echo';
my $form = 'application/x-www-form-urlencoded';
sub req ($m, $path, %o) { $t->request_text($m, $path, keepalive => 1, %o) }

sub echo_json ($r) {
    return undef unless $r && $r->{status} == 200;
    return Test::Nd::decode_json($r->{body});
}

# --- bodies without the debug routes: framing must hold for the next request
my $c = $t->connect;
my @r = $t->http_keepalive([
    req('POST', '/nacos/nope', body => 'x=1&y=2',
        headers => { 'Content-Type' => $form }),
    "POST /nacos/nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        . "3\r\nx=1\r\n4;ext=1\r\n&y=2\r\n0\r\nX-Trailer: t\r\n\r\n",
    req('GET', $live),
], pipeline => 1, conn => $c);
is_deeply([ map { $_->{status} } @r ], [ 404, 404, 200 ],
          'Content-Length and chunked bodies are consumed; next request served');

# bodies that arrive in later reads than the headers
for my $case (
    ['Content-Length body after the headers',
     "POST /nacos/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n",
     'x=1', '&y=2'],
    ['chunked body in pieces',
     "POST /nacos/nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
     "3\r\nx=1\r\n", "4\r\n&y=2\r\n", "0\r\n\r\n"],
) {
    my ($desc, @pieces) = @$case;
    $c = $t->connect;
    for my $p (@pieces) {
        $c->send($p);
        sleep 0.1;
    }
    my $r = $c->read_response(timeout => 3);
    is($r && $r->{status}, 404, "$desc: answered");
    $c->send(req('GET', $live));
    $r = $c->read_response(timeout => 3);
    is($r && $r->{status}, 200, "$desc: next request served");
}

# --- echo: methods, query + form body ----------------------------------------
subtest 'form bodies and query strings (debug echo)' => sub {
    plan skip_all => 'needs a --with-debug build' unless $debug;
    my $body = 'k=body&x=hello+world&p=%41%2Fb&e=';
    for my $m (qw(GET POST PUT DELETE)) {
        my $ct = $m eq 'PUT' ? "$form; charset=UTF-8" : $form;
        my ($j, $r) = $t->http_json($m, "$echo?q=1&k=query", body => $body,
                                    headers => { 'Content-Type' => $ct });
        is($r->{status}, 200, "$m echo: 200");
        is($j->{method}, $m, "$m echo: method");
        is($j->{path}, $echo, "$m echo: path without the query");
        is($j->{body_length}, length $body, "$m echo: body_length");
        is_deeply($j->{args}, { q => '1', k => 'query', x => 'hello world',
                                p => 'A/b', e => '' },
                  "$m echo: args merged, decoded, query first");
    }

    my ($j) = $t->http_json('GET', "$echo?name=a%20b%2Bc&u=%E4%B8%AD&plus=1+2"
                            . '&t=%7e&%6Bey=v&dup=1&dup=2');
    is_deeply($j->{args}, { name => 'a b+c', u => "\x{4e2d}", plus => '1 2',
                            t => '~', key => 'v', dup => '1' },
              'query percent-decoding; first occurrence wins')
        or diag(explain $j);

    ($j) = $t->http_json('POST', $echo, body => 'a=b',
                         headers => { 'Content-Type' => 'text/plain' });
    is($j->{body_length}, 3, 'text/plain body: body_length');
    is_deeply($j->{args}, {}, 'text/plain body is not parsed as a form');

    # chunked form body in pieces, then another request on the connection
    my $c = $t->connect;
    $c->send("PUT $echo HTTP/1.1\r\nHost: x\r\nContent-Type: $form\r\n"
             . "Transfer-Encoding: chunked\r\n\r\n");
    for my $p ("3\r\nk=v\r\n", "4;ext=1\r\n&a=b\r\n", "0\r\nX-T: 1\r\n\r\n") {
        sleep 0.05;
        $c->send($p);
    }
    my $r = $c->read_response;
    $j = echo_json($r);
    is($j && $j->{body_length}, 7, 'chunked: body_length');
    is_deeply($j && $j->{args}, { k => 'v', a => 'b' }, 'chunked: form args');
    $c->send(req('GET', $live));
    $r = $c->read_response;
    is($r && $r->{status}, 200, 'chunked: connection reusable');

    # Expect: 100-continue
    $c = $t->connect;
    $c->send("POST $echo HTTP/1.1\r\nHost: x\r\nContent-Type: $form\r\n"
             . "Content-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    $r = $c->read_response(timeout => 3);
    is($r && $r->{status}, 100, 'Expect: 100 Continue before the body');
    like($r ? $r->{raw} : '', qr{^HTTP/1\.1 100 Continue\r\n}, '100 status line');
    $c->send('k=v');
    $r = $c->read_response;
    $j = echo_json($r);
    is_deeply($j && $j->{args}, { k => 'v' }, 'Expect: final response has the body');

    # body size limit boundary: 1024 is allowed
    ($j, $r) = $t->http_json('POST', $echo, body => 'z' x 1024,
                             headers => { 'Content-Type' => 'text/plain' });
    is($r->{status}, 200, 'body of exactly client_max_body_size: 200');
    is($j->{body_length}, 1024, 'body of exactly the limit: body_length');
};

# --- 413 ---------------------------------------------------------------------
my $r = $t->http_req('POST', '/nacos/nope', body => 'z' x 1024,
                     headers => { 'Content-Type' => 'text/plain' });
is($r->{status}, 404, 'body of 1024 bytes (limit 1k) is not rejected');

$c = $t->connect;
$c->send("POST /nacos/nope HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n");
$r = $c->read_response(timeout => 3);
is($r && $r->{status}, 413, 'Content-Length over client_max_body_size: 413');
ok($c->wait_closed(3), '413: connection closed');

$c = $t->connect;
$c->send("POST /nacos/nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
         . "\r\n\r\n" . ("258\r\n" . ('c' x 600) . "\r\n") x 2);
$r = $c->read_response(timeout => 3);
is($r && $r->{status}, 413, 'chunked body over client_max_body_size: 413');
ok($c->wait_closed(3), 'chunked 413: connection closed');

# --- 400 ---------------------------------------------------------------------
my @bad = (
    ['malformed request line', "GARBAGE\r\n\r\n"],
    ['header line without colon', "GET $live HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"],
    ['bad chunk size', "POST /nacos/nope HTTP/1.1\r\nHost: x\r\n"
        . "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"],
    ['non-numeric Content-Length', "POST /nacos/nope HTTP/1.1\r\nHost: x\r\n"
        . "Content-Length: abc\r\n\r\n"],
    ['negative Content-Length', "POST /nacos/nope HTTP/1.1\r\nHost: x\r\n"
        . "Content-Length: -1\r\n\r\n"],
    ['conflicting Content-Length', "POST /nacos/nope HTTP/1.1\r\nHost: x\r\n"
        . "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"],
);
for my $b (@bad) {
    my ($desc, $raw) = @$b;
    $c = $t->connect;
    $c->send($raw . req('GET', $live));
    $r = $c->read_response(timeout => 3);
    is($r && $r->{status}, 400, "$desc: 400");
    ok($c->wait_closed(3), "$desc: connection closed");
    unlike($c->buffer, qr/^HTTP/, "$desc: the request after it is not served");
}

# --- 414 / 431 ---------------------------------------------------------------
$r = $t->http_get('/nacos/' . ('a' x 1500));
is($r->{status}, 414, 'request line over client_header_max_size: 414');

$r = $t->http_get($live, headers => { 'X-Big' => 'b' x 1500 });
is($r->{status}, 431, 'one header over client_header_max_size: 431');

$r = $t->http_get($live, headers => { map { ("X-H$_" => 'v' x 30) } 1 .. 40 });
is($r->{status}, 431, 'many headers over client_header_max_size: 431');

$r = $t->http_get($live, headers => { map { ("X-H$_" => 'v' x 30) } 1 .. 15 });
is($r->{status}, 200, 'headers under client_header_max_size: 200');

# --- slow headers ------------------------------------------------------------
$c = $t->connect;
$c->send("GET $live HTTP/1.1\r\nHost: x\r\n");
my $t0 = time;
ok($c->wait_closed(5), 'incomplete headers: closed by client_header_timeout');
my $el = time - $t0;
cmp_ok($el, '>=', 0.8, 'incomplete headers: not before the timeout');
cmp_ok($el, '<=', 3.5, 'incomplete headers: soon after the timeout');

# one byte every 0.2s: the timeout bounds the whole header, not each read
$c = $t->connect;
my $slow = "GET $live HTTP/1.1\r\nHost: x\r\nX-Slow: " . ('s' x 100) . "\r\n\r\n";
$t0 = time;
my $closed = 0;
for my $ch (split //, $slow) {
    $c->send($ch);
    if ($c->wait_closed(0.2)) { $closed = 1; last }
    last if time - $t0 > 6;
}
ok($closed, 'dribbled headers: closed by client_header_timeout');
cmp_ok(time - $t0, '<=', 3.5, 'dribbled headers: closed soon after the timeout');

$r = $t->http_get($live);
is($r->{status}, 200, 'still serving after all of the above');

$t->done_testing;
