#!/usr/bin/perl
# Gray config releases (t/config_gray_pg.t runs the same on PostgreSQL):
# a beta version (header betaIps) seen only by listed client addresses
# (127.0.0.1 is listed, a client bound to 127.0.0.2 is not), with isBeta;
# long polls compare against the md5 their client should hold and are
# answered on a beta publish only when that md5 changed; GET/DELETE
# ?beta=true; tag versions (tag=, Vipserver-Tag, the "tag" header, 404 for
# a tag without a version); gRPC query with tag, listen with
# Vipserver-Tag; history rows of gray writes; the beta survives kill -9
# and a restart; the formal version is never touched.
use v5.36;
use Test::More;
use Digest::MD5 qw(md5_hex);
use IO::Socket::INET;
use Time::HiRes qw(time);
use lib 't/lib';
use Test::Nd;
use Test::Nd::Pg;
use Test::Nd::Grpc;

our $BACKEND //= 'sqlite';

my $t = Test::Nd->new;
$t->has(qw(store config));
my $grpc = $t->has_module('grpc');
Test::Nd::Grpc->ensure_client if $grpc;
my $pg = $BACKEND eq 'pg' ? Test::Nd::Pg->start_or_skip : undef;

my $schema = Test::Nd::root() . '/conf/schema';
my $store = "store {\n    schema_dir $schema;\n";
if ($pg) {
    $store .= "    backend pg;\n    pg_conninfo \"" . $pg->conninfo . "\";\n"
            . "    pg_pool 2;\n    cache_refresh 200ms;\n";
} else {
    $store .= "    sqlite_path data/nacosd.db;\n";
}
$store .= "}\n";
$t->write_conf('nacosd.conf', $t->conf(
    extra => $store
           . ($grpc ? "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
                    : '')
           . "config {\n    long_poll_floor 1s;\n}\n"));
$t->run;
ok($t->wait_ready(20), "$BACKEND: ready") or diag($t->error_log);
my $port = $t->port(8848);

sub esc ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }

# one request from a local address (127.0.0.1 or 127.0.0.2)
sub conn ($from) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  LocalAddr => $from, Proto => 'tcp',
                                  Timeout => 5)
        or die "connect from $from: $!";
    $s->autoflush(1);
    return bless { s => $s, buf => '', eof => 0 }, 'Test::Nd::Conn';
}
sub req ($from, $method, $path, %o) {
    my %h = %{ $o{headers} // {} };
    my $body = $o{body} // '';
    my $raw = "$method $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            . join('', map { "$_: $h{$_}\r\n" } sort keys %h)
            . ($method eq 'GET' ? ''
               : "Content-Type: application/x-www-form-urlencoded\r\n"
                 . 'Content-Length: ' . length($body) . "\r\n")
            . "\r\n$body";
    my $c = conn($from);
    $c->send($raw);
    return $c if $o{async};
    return $c->read_response(timeout => $o{timeout} // 5, method => $method)
        // { status => 0, headers => {}, body => '' };
}
sub publish ($content, %o) {
    my %h = $o{beta} ? (betaIps => $o{beta}) : ();
    my $r = req('127.0.0.1', 'POST', '/nacos/v1/cs/configs',
        headers => \%h,
        body => "dataId=app.yaml&group=G&type=yaml&content=" . esc($content)
              . ($o{tag} ? "&tag=$o{tag}" : ''));
    return "$r->{status} $r->{body}";
}
sub get ($from, %o) {
    return req($from, 'GET', '/nacos/v1/cs/configs?dataId=app.yaml&group=G'
               . ($o{q} // ''), headers => $o{headers});
}
sub poll ($from, $md5, %h) {
    my $v = esc("app.yaml\x02G\x02$md5\x01");
    return req($from, 'POST', '/nacos/v1/cs/configs/listener',
               headers => { 'Long-Pulling-Timeout' => 30000, %h },
               body => "Listening-Configs=$v", async => !$h{sync},
               timeout => 5);
}
my $changed = "app.yaml%02G%01\n";

my ($m1, $mb, $mt) = (md5_hex('a: 1'), md5_hex('a: beta'), md5_hex('a: blue'));

is(publish('a: 1'), '200 true', 'formal published');

# held polls: the listed client and one that is not
my $p1 = poll('127.0.0.1', $m1);
my $p2 = poll('127.0.0.2', $m1, 'Long-Pulling-Timeout' => 3000);
select(undef, undef, undef, 0.3);

my $t0 = time;
is(publish('a: beta', beta => '10.9.9.9, 127.0.0.1'), '200 true',
   'beta published (betaIps header)');
my $r = $p1->read_response(timeout => 5);
is($r->{body}, $changed, 'held poll of a listed client: answered');
cmp_ok(time - $t0, '<', 2, '... at once');

$r = get('127.0.0.1');
is($r->{body}, 'a: beta', 'listed client: the beta content');
is($r->{headers}{isbeta}, 'true', 'isBeta: true');
is($r->{headers}{'content-md5'}, $mb, 'Content-MD5 of the beta');
is($r->{headers}{'config-type'}, 'yaml', 'Config-Type: the formal type');
$r = get('127.0.0.2');
is($r->{body}, 'a: 1', 'other client: the formal content');
ok(!exists $r->{headers}{isbeta}, 'no isBeta');

$r = poll('127.0.0.1', $m1, 'Long-Pulling-Timeout-No-Hangup' => 'true',
          sync => 1);
is($r->{body}, $changed, 'poll with the formal md5, listed: changed');
$r = poll('127.0.0.1', $mb, 'Long-Pulling-Timeout-No-Hangup' => 'true',
          sync => 1);
is($r->{body}, '', 'poll with the beta md5, listed: up to date');
$r = poll('127.0.0.2', $m1, 'Long-Pulling-Timeout-No-Hangup' => 'true',
          sync => 1);
is($r->{body}, '', 'poll with the formal md5, not listed: up to date');

$r = req('127.0.0.1', 'GET',
         '/nacos/v1/cs/configs?beta=true&dataId=app.yaml&group=G');
my $j = Test::Nd::decode_json($r->{body});
is($j->{code}, 200, 'GET ?beta=true: RestResult');
is($j->{data}{content}, 'a: beta', '... the beta content');
is($j->{data}{betaIps}, '10.9.9.9, 127.0.0.1', '... its betaIps');
$r = req('127.0.0.1', 'GET',
         '/nacos/v1/cs/configs?show=all&dataId=app.yaml&group=G');
is(Test::Nd::decode_json($r->{body})->{content}, 'a: 1',
   'the formal version is untouched');

# tag versions
is(publish('a: blue', tag => 'blue'), '200 true', 'tag version published');
$r = get('127.0.0.2', q => '&tag=blue');
is($r->{body}, 'a: blue', 'GET tag=blue: the tag version');
is($r->{headers}{tag}, 'blue', 'tag header');
is($r->{headers}{'content-md5'}, $mt, 'Content-MD5 of the tag version');
$r = get('127.0.0.2', headers => { 'Vipserver-Tag' => 'blue' });
is($r->{body}, 'a: blue', 'Vipserver-Tag: blue: the tag version');
is(get('127.0.0.2', q => '&tag=green')->{status}, 404,
   'a tag without a version: 404');
is(get('127.0.0.2')->{body}, 'a: 1', 'no tag: formal');
is(get('127.0.0.1', q => '&tag=blue')->{body}, 'a: beta',
   'beta takes precedence over the tag for a listed client');
$r = req('127.0.0.2', 'GET', '/nacos/v2/cs/config?dataId=app.yaml&group=G'
         . '&tag=blue');
is(Test::Nd::decode_json($r->{body})->{data}, 'a: blue', 'v2 GET tag');
$r = poll('127.0.0.2', $mt, 'Vipserver-Tag' => 'blue',
          'Long-Pulling-Timeout-No-Hangup' => 'true', sync => 1);
is($r->{body}, '', 'poll with Vipserver-Tag and the tag md5: up to date');

# the unlisted poll was never answered early
$r = $p2->read_response(timeout => 5);
is($r->{body}, '', 'held poll of an unlisted client: not answered by the '
                   . 'beta or tag publish (times out empty)');

# gRPC: query with a tag, listen with Vipserver-Tag
SKIP: {
    skip 'no grpc module', 8 unless $grpc;
    # the connection's address: ConnectionSetupRequest metadata.clientIp
    my $hello = sub ($ip) { (
        { op => 'unary', type => 'ServerCheckRequest', body => {} },
        { op => 'bidi_open' },
        { op => 'bidi_send', type => 'ConnectionSetupRequest',
          clientIp => $ip,
          body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                    labels => { module => 'config' } } },
        { op => 'sleep', ms => 100 },
    ) };
    my $q = sub (%b) { { op => 'unary', type => 'ConfigQueryRequest',
                         body => { dataId => 'app.yaml', group => 'G', %b } } };
    my $l = sub ($md5) {
        { op => 'unary', type => 'ConfigBatchListenRequest',
          headers => { 'Vipserver-Tag' => 'blue' },
          body => { listen => JSON::PP::true, configListenContexts => [
              { dataId => 'app.yaml', group => 'G', tenant => '',
                md5 => $md5 } ] } }
    };
    my $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run(
        $t->port(9848), [ $hello->('10.1.1.1'), $q->(tag => 'blue'),
                          $q->(tag => 'green'), $l->($mt), $l->($m1) ]));
    is($s->{4}{body}{content}, 'a: blue', 'gRPC query tag: the tag version');
    is($s->{4}{body}{tag}, 'blue', '... tag');
    is_deeply([ @{ $s->{5}{body} }{qw(content tag)} ], [ 'a: 1', 'green' ],
              'gRPC query, a tag without a version: formal, tag echoed');
    is_deeply($s->{6}{body}{changedConfigs}, [],
              'listen with Vipserver-Tag and the tag md5: up to date');
    is(scalar @{ $s->{7}{body}{changedConfigs} }, 1,
       'listen with Vipserver-Tag and the formal md5: changed');

    $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run(
        $t->port(9848), [ $hello->('10.9.9.9'), $q->(tag => 'blue') ]));
    is($s->{4}{body}{content}, 'a: beta',
       'gRPC query from a listed address: the beta (before the tag)');
    is($s->{4}{body}{beta}, JSON::PP::true, 'gRPC query: beta true');
    is($s->{4}{body}{md5}, $mb, '... the beta md5');
}

# history: gray writes leave gray rows
$r = req('127.0.0.1', 'GET', '/nacos/v1/cs/history?search=accurate'
         . '&dataId=app.yaml&group=G&pageNo=1&pageSize=100');
$j = Test::Nd::decode_json($r->{body});
my %gray = map { ($_->{grayName} // '') => $_->{publishType} }
           @{ $j->{pageItems} // [] };
is($gray{beta}, 'gray', 'history: the beta publish, publishType gray');
is($gray{tag_blue}, 'gray', 'history: the tag publish, grayName tag_blue');

# durable: kill -9, restart, the beta is still served
kill 'KILL', $t->pid;
waitpid($t->pid, 0);
$t->{pid} = undef;
$t->run;
ok($t->wait_ready(20), 'ready after kill -9 and restart');
$r = get('127.0.0.1');
is($r->{body}, 'a: beta', 'the beta survives kill -9');
is($r->{headers}{isbeta}, 'true', '... with isBeta');
is(get('127.0.0.2', q => '&tag=blue')->{body}, 'a: blue',
   'the tag version survives kill -9');
is(get('127.0.0.2')->{body}, 'a: 1', 'the formal one too');

# a poll on the tag version is answered when it is deleted
my $p3 = poll('127.0.0.2', $mt, 'Vipserver-Tag' => 'blue');
select(undef, undef, undef, 0.3);
$r = req('127.0.0.1', 'DELETE',
         '/nacos/v1/cs/configs?dataId=app.yaml&group=G&tag=blue');
is($r->{body}, 'true', 'DELETE tag=blue');
is($p3->read_response(timeout => 3)->{body}, $changed,
   'the tag poll is answered');
is(get('127.0.0.2', q => '&tag=blue')->{status}, 404, 'tag version gone');

# stop the beta
$r = req('127.0.0.1', 'DELETE',
         '/nacos/v1/cs/configs?beta=true&dataId=app.yaml&group=G');
$j = Test::Nd::decode_json($r->{body});
is_deeply([ $j->{code}, $j->{data} ? 1 : 0 ], [ 200, 1 ],
          'DELETE ?beta=true: RestResult');
$r = get('127.0.0.1');
is($r->{body}, 'a: 1', 'beta stopped: the listed client gets the formal');
ok(!exists $r->{headers}{isbeta}, '... no isBeta');
$r = req('127.0.0.1', 'GET',
         '/nacos/v1/cs/configs?beta=true&dataId=app.yaml&group=G');
ok(!defined Test::Nd::decode_json($r->{body})->{data},
   'GET ?beta=true: data null');

my @bad = $t->log_problems;
ok(!@bad, 'no [alert] or sanitizer report') or diag("@bad");

$t->stop;
done_testing();
