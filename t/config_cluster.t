#!/usr/bin/perl
# Config across a 3-node cluster: a change committed on node 1 reaches the
# listeners of the other nodes through ConfigChangeClusterSyncRequest.
#
# Three real nodes on one private PostgreSQL, cache_refresh 60s: the
# store's periodic re-read (the backstop) cannot run within the test's
# waits (each at most $WAIT = 15 s after a change), so a notification can
# only come from the cluster notify.  Node 3 holds real 2.x gRPC listeners
# (t/grpc/listeners.js on @grpc/grpc-js: each on its own connection, each
# fetching the key from node 3 with ConfigQueryRequest when notified),
# node 2 held 1.x long polls.  Node 1 gets the publishes: HTTP v1, HTTP
# v2 and gRPC ConfigPublishRequest; then a delete, a beta (betaIps) and a
# tag version and their deletes, with config_gray.t's conventions: a
# listed client address sees the beta, a Vipserver-Tag the tag version,
# any other client only the formal one; a long poll is answered only
# when the md5 it should hold changed.  A cluster-only request type on
# the SDK port is refused.
use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::MD5 qw(md5_hex);
use IO::Socket::INET;
use Test::More;
use Test::Nd;
use Test::Nd::Cluster;
use Test::Nd::Grpc;
use Test::Nd::Listeners;

my $WAIT = 15;              # s; far below cache_refresh 60s
my ($D, $G) = ('cc.yaml', 'CC');
my $CHANGED = "$D%02$G%01\n";

my $cl = Test::Nd::Cluster->new(
    nodes => 3,
    conf  => { store   => 'cache_refresh 60s;',
               cluster => "report_interval 500ms;\n"
                        . "    unhealthy_report_interval 1s;",
               extra   => "config {\n    long_poll_floor 1s;\n}\n" });
Test::Nd::Grpc->ensure_client;

if (!ok($cl->start_all, 'three nodes started and ready')) {
    $cl->done_testing;
    exit 1;
}
ok($cl->wait_all_up(20), 'every node sees every member UP')
    or $cl->diag_views;

sub esc ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }

# one HTTP request to node $i from a local address
sub req ($i, $method, $path, %o) {
    my %h = %{ $o{headers} // {} };
    my $body = $o{body} // '';
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $cl->node($i)->port,
                                  LocalAddr => $o{from} // '127.0.0.1',
                                  Proto => 'tcp', Timeout => 5)
        or return { status => 0, headers => {}, body => "connect: $!" };
    $s->autoflush(1);
    my $c = bless { s => $s, buf => '', eof => 0 }, 'Test::Nd::Conn';
    $c->send("$method $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             . join('', map { "$_: $h{$_}\r\n" } sort keys %h)
             . ($method eq 'GET' ? ''
                : "Content-Type: application/x-www-form-urlencoded\r\n"
                  . 'Content-Length: ' . length($body) . "\r\n")
             . "\r\n$body");
    return $c->read_response(timeout => 10, method => $method)
        // { status => 0, headers => {}, body => '' };
}

sub get ($i, %o) {
    return req($i, 'GET', "/nacos/v1/cs/configs?dataId=$D&group=$G"
               . ($o{q} // ''), %o);
}

my @hello = (
    { op => 'unary', type => 'ServerCheckRequest', body => {} },
    { op => 'bidi_open' },
    { op => 'bidi_send', type => 'ConnectionSetupRequest',
      body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                labels => { module => 'config' } } },
    { op => 'sleep', ms => 100 },
);

# a publish on node $i; $how v1 | v2 | grpc; beta => ips, tag => name
sub publish ($i, $how, $content, %o) {
    if ($how eq 'grpc') {
        my $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run(
            $cl->node($i)->port(9848), [ @hello,
            { op => 'unary', type => 'ConfigPublishRequest',
              body => { dataId => $D, group => $G, tenant => '',
                        content => $content, additionMap => {} } } ]));
        return ($s->{4}{type} // '') eq 'ConfigPublishResponse'
               && $s->{4}{body}{success} ? 'ok' : explain($s->{4});
    }
    my $path = $how eq 'v2' ? '/nacos/v2/cs/config' : '/nacos/v1/cs/configs';
    my $r = req($i, 'POST', $path,
                headers => $o{beta} ? { betaIps => $o{beta} } : {},
                body => "dataId=$D&group=$G&content=" . esc($content)
                      . ($o{tag} ? "&tag=$o{tag}" : ''));
    return 'ok' if $r->{status} == 200
                   && ($how eq 'v2' ? (Test::Nd::decode_json($r->{body}) // {})
                                       ->{data} : $r->{body} eq 'true');
    return "$r->{status} $r->{body}";
}

sub remove ($i, $q = '') {
    my $r = req($i, 'DELETE', "/nacos/v1/cs/configs?dataId=$D&group=$G$q");
    return $r->{status} == 200 && $r->{body} =~ /^(?:true|\{.*"code":200)/
           ? 'ok' : "$r->{status} $r->{body}";
}

# a long poll on node 2 with the md5 its client holds; held (not answered
# at once) or undef
sub poll ($md5, %o) {
    my $c = Test::Nd::Listeners->long_poll($cl->node(2), [ [ $D, $G, $md5 ] ],
                                           %o) or return undef;
    my $r = $c->read_response(timeout => 0.3, method => 'POST');
    return undef if $r;
    return $c;
}

sub answer ($c, $timeout = $WAIT) {
    my $r = $c->read_response(timeout => $timeout, method => 'POST');
    $c->close;
    return $r ? $r->{body} : '(no answer)';
}

# ---- the first content, then the listeners ------------------------------------

is(publish(1, 'v1', 'v0'), 'ok', 'first content published on node 1');
for my $i (2, 3) {
    ok($cl->wait_for($WAIT, sub { get($i)->{body} eq 'v0' }),
       "node $i serves it (cluster notify, not the 60s refresh)");
}

# node 3: a beta-listed client (10.9.9.9), an unlisted one (10.1.1.1), one
# with Vipserver-Tag blue (10.2.2.2)
my $key = sub ($md5) { [ { dataId => $D, group => $G, tenant => '',
                           md5 => $md5 } ] };
my $ls = Test::Nd::Listeners->start([
    { id => 'beta', port => $cl->node(3)->port(9848), clientIp => '10.9.9.9',
      keys => $key->(md5_hex('v0')), fetch => 1 },
    { id => 'plain', port => $cl->node(3)->port(9848), clientIp => '10.1.1.1',
      keys => $key->(md5_hex('v0')), fetch => 1 },
    { id => 'blue', port => $cl->node(3)->port(9848), clientIp => '10.2.2.2',
      headers => { 'Vipserver-Tag' => 'blue' },
      keys => $key->(md5_hex('v0')), fetch => 1 },
]);
ok($ls->wait_ready(30), 'three gRPC listeners on node 3')
    or diag(explain($ls->errors));
is_deeply([ map { @{ $_->{changed} // [] } } $ls->events('ready') ], [],
          'none of them is out of date');

# the fetches of listener $l after its first $n, once there are $want
sub fetched ($l, $n, $want = 1) {
    $ls->wait_for($WAIT, sub { $ls->events('fetched', l => $l) >= $n + $want });
    my @f = $ls->events('fetched', l => $l);
    return [ map { $_->{content} } @f[ $n .. $#f ] ];
}
# the fetches of listener $l after its first $n, once one of them fetched
# $want (listeners also notified of a gray change they do not see fetch
# what they see: that may come late, so gray steps wait for the content)
sub fetched_until ($l, $n, $want) {
    my $hit = sub {
        my @f = $ls->events('fetched', l => $l);
        grep { ($_->{content} // '') eq $want } @f[ $n .. $#f ];
    };
    $ls->wait_for($WAIT, sub { $hit->() });
    my @f = $ls->events('fetched', l => $l);
    return [ map { $_->{content} } @f[ $n .. $#f ] ];
}
# ... it ends with $want, and before it only @others
sub fetched_ok ($l, $n, $want, $others, $what) {
    my $f = fetched_until($l, $n, $want);
    my %ok = map { $_ => 1 } @$others;
    ok(@$f && ($f->[-1] // '') eq $want
       && !grep({ !$ok{ $_ // '(deleted)' } } @$f[ 0 .. $#$f - 1 ]), $what)
        or diag("$l fetched: " . join(', ', map { $_ // '(deleted)' } @$f));
}
my %seen = map { $_ => 0 } qw(beta plain blue);
sub mark () { $seen{$_} = () = $ls->events('fetched', l => $_) for keys %seen }

# ---- formal publishes, each API -------------------------------------------------

my $prev = 'v0';
for my $step ([ 'v1', 'v1' ], [ 'v2', 'v2' ], [ 'grpc', 'v3' ]) {
    my ($how, $content) = @$step;
    mark();
    my $lp = poll(md5_hex($prev));
    ok($lp, "$content: a long poll held on node 2");
    is(publish(1, $how, $content), 'ok', "$content: published on node 1 ($how)");
    is($lp ? answer($lp) : '', $CHANGED, "$content: node 2's long poll answered");
    for my $l (qw(beta plain blue)) {
        is_deeply(fetched($l, $seen{$l}), [ $content ],
                  "$content: node 3 listener $l notified, fetched the new "
                  . 'content from node 3');
    }
    is(get(2)->{body}, $content, "$content: GET on node 2");
    is(get(3)->{body}, $content, "$content: GET on node 3");
    $prev = $content;
}

# ---- delete ---------------------------------------------------------------------

mark();
my $lp = poll(md5_hex($prev));
ok($lp, 'delete: a long poll held on node 2');
is(remove(1), 'ok', 'delete on node 1');
is($lp ? answer($lp) : '', $CHANGED, "delete: node 2's long poll answered");
for my $l (qw(beta plain blue)) {
    my $f = fetched($l, $seen{$l});
    is_deeply($f, [ undef ], "delete: listener $l notified, node 3 says "
                             . 'not found (errorCode 300)') or diag(explain($f));
}
is(get(2)->{status}, 404, 'delete: GET on node 2: 404');
is(get(3)->{status}, 404, 'delete: GET on node 3: 404');

# ---- beta -----------------------------------------------------------------------

mark();
is(publish(1, 'v1', 'f1'), 'ok', 'formal f1 published on node 1');
for my $l (qw(beta plain blue)) {
    is_deeply(fetched($l, $seen{$l}), [ 'f1' ], "f1: listener $l fetched it");
}

mark();
my $lp_listed = poll(md5_hex('f1'));
my $lp_other = poll(md5_hex('f1'), local => '127.0.0.2',
                    timeout_ms => 4000);
ok($lp_listed && $lp_other, 'beta: long polls held on node 2 from 127.0.0.1 '
                            . '(listed) and 127.0.0.2 (not)');
is(publish(1, 'v1', 'b1', beta => '10.9.9.9,127.0.0.1'), 'ok',
   'beta b1 published on node 1 (betaIps 10.9.9.9,127.0.0.1)');
is($lp_listed ? answer($lp_listed) : '', $CHANGED,
   "beta: node 2's long poll of the listed address answered");
is($lp_other ? answer($lp_other) : '', '',
   "beta: node 2's long poll of an unlisted address not answered "
   . '(times out empty)');
fetched_ok('beta', $seen{beta}, 'b1', [],
           'beta: the listed gRPC listener on node 3 notified, fetched b1');
my @fb = $ls->events('fetched', l => 'beta');
is($fb[-1]{beta}, JSON::PP::true, '... with beta true');
for my $l (qw(plain blue)) {
    my @f = $ls->events('fetched', l => $l);
    ok(!grep({ ($_->{content} // '') eq 'b1' } @f[ $seen{$l} .. $#f ]),
       "beta: unlisted listener $l never fetched the beta");
}
for my $i (2, 3) {
    my $r = get($i);
    is("$r->{body} " . ($r->{headers}{isbeta} // '-'), 'b1 true',
       "beta: GET on node $i from the listed address: b1, isBeta");
    is(get($i, from => '127.0.0.2')->{body}, 'f1',
       "beta: GET on node $i from another address: f1");
}

# ---- tag ------------------------------------------------------------------------

mark();
my $lp_tag = poll(md5_hex('f1'), local => '127.0.0.2',
                  headers => { 'Vipserver-Tag' => 'blue' });
my $lp_notag = poll(md5_hex('f1'), local => '127.0.0.2', timeout_ms => 4000);
ok($lp_tag && $lp_notag, 'tag: long polls held on node 2 with and without '
                         . 'Vipserver-Tag: blue');
is(publish(1, 'v1', 't1', tag => 'blue'), 'ok', 'tag blue t1 published on '
                                                . 'node 1');
is($lp_tag ? answer($lp_tag) : '', $CHANGED,
   "tag: node 2's long poll with Vipserver-Tag: blue answered");
is($lp_notag ? answer($lp_notag) : '', '',
   "tag: node 2's long poll without the tag not answered (times out empty)");
fetched_ok('blue', $seen{blue}, 't1', [ 'f1' ],
           'tag: the Vipserver-Tag listener on node 3 notified, fetched t1');
{
    my @f = $ls->events('fetched', l => 'plain');
    ok(!grep({ ($_->{content} // '') eq 't1' } @f[ $seen{plain} .. $#f ]),
       'tag: the plain listener never fetched the tag version');
}
for my $i (2, 3) {
    is(get($i, from => '127.0.0.2', q => '&tag=blue')->{body}, 't1',
       "tag: GET tag=blue on node $i: t1");
    is(get($i, from => '127.0.0.2')->{body}, 'f1',
       "tag: GET without a tag on node $i: f1");
}

# ---- gray deletes ---------------------------------------------------------------

mark();
$lp_tag = poll(md5_hex('t1'), local => '127.0.0.2',
               headers => { 'Vipserver-Tag' => 'blue' });
ok($lp_tag, 'tag delete: a tag long poll held on node 2');
is(remove(1, '&tag=blue'), 'ok', 'tag version deleted on node 1');
is($lp_tag ? answer($lp_tag) : '', $CHANGED,
   "tag delete: node 2's tag long poll answered");
fetched_ok('blue', $seen{blue}, 'f1', [ 't1' ],
           'tag delete: the Vipserver-Tag listener fetched the formal f1');
for my $i (2, 3) {
    is(get($i, from => '127.0.0.2', q => '&tag=blue')->{status}, 404,
       "tag delete: GET tag=blue on node $i: 404");
}

mark();
$lp_listed = poll(md5_hex('b1'));
ok($lp_listed, 'beta delete: a long poll of the listed address held');
is(remove(1, '&beta=true'), 'ok', 'beta deleted on node 1');
is($lp_listed ? answer($lp_listed) : '', $CHANGED,
   "beta delete: node 2's long poll of the listed address answered");
fetched_ok('beta', $seen{beta}, 'f1', [ 'b1' ],
           'beta delete: the listed listener fetched the formal f1');
for my $i (2, 3) {
    my $r = get($i);
    is("$r->{body} " . ($r->{headers}{isbeta} // '-'), 'f1 -',
       "beta delete: GET on node $i from the listed address: f1, no isBeta");
}

# every fetch of every listener: only contents that were published, and
# no stream trouble
ok(!@{ $ls->errors }, 'the listeners saw no error or stream end')
    or diag(explain($ls->errors));
$ls->kill;

# ---- cluster-only types on the SDK port ---------------------------------------------

my $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run(
    $cl->node(3)->port(9848), [ @hello,
    { op => 'unary', type => 'ConfigChangeClusterSyncRequest',
      body => { dataId => $D, group => $G, tenant => '',
                lastModified => 1, isBeta => JSON::PP::false } },
    { op => 'unary', type => 'MemberReportRequest',
      body => { node => { ip => '127.0.0.1', port => $cl->node(1)->port,
                          address => $cl->addr(1), state => 'UP',
                          extendInfo => {} } } },
    { op => 'unary', type => 'ServerCheckRequest', body => {} } ]));
for my $st ([ 4, 'ConfigChangeClusterSyncRequest' ],
            [ 5, 'MemberReportRequest' ]) {
    my ($n, $type) = @$st;
    my $b = $s->{$n}{body} // {};
    ok(($s->{$n}{type} // '') eq 'ErrorResponse'
       && ($b->{resultCode} // 200) != 200 && ($b->{errorCode} // 0) != 0,
       "$type on the SDK port: ErrorResponse") or diag(explain($s->{$n}));
}
is($s->{6}{type}, 'ServerCheckResponse', '... the connection stays usable');

$cl->done_testing;
