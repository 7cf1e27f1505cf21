#!/usr/bin/perl
# Warm start (sqlite): the node is ready after the first chunk of configs
# and loads the rest in the loop's passes (load_chunk; load_interval spaces
# the chunks out here so the checks surely run during the load).  While
# it loads, reads of keys not loaded yet (HTTP, gRPC, search) are the
# database's, listeners compare against the real md5 (no false change, no
# missed one) and see the changes made meanwhile, and a publish or a
# delete during the load wins over the older row the load reads later;
# kept across kill -9 and when the node is stopped during the load.
use v5.36;
use Test::More;
use Digest::MD5 qw(md5_hex);
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw(grpc store config));
plan skip_all => 'needs a --with-debug build (store status route)'
    unless $t->is_debug;
plan skip_all => 'needs the sqlite3 shell (auto/deps test)'
    if system('sqlite3 -version >/dev/null 2>&1') != 0;
Test::Nd::Grpc->ensure_client;

my $N = 2000;                           # rows; two chunks of 1,000
my $schema = Test::Nd::root() . '/conf/schema';
sub conf ($load) {
    $t->write_conf('nacosd.conf', $t->conf(
        extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
               . "store {\n    schema_dir $schema;\n$load}\n"));
}
my $form = { 'Content-Type' => 'application/x-www-form-urlencoded' };
sub get ($d) {
    return $t->http_req('GET', "/nacos/v1/cs/configs?dataId=$d&group=G");
}
sub status () { $t->http_json('GET', '/nacos/v1/core/debug/store/status') }

# the schema from a first start, then the rows straight into the file
conf('');
$t->run;
ok($t->wait_ready(20), 'empty node ready');
$t->stop;

my $db = $t->testdir . '/data/nacosd.db';
open my $sql, '|-', 'sqlite3', $db or die "sqlite3: $!";
print $sql "BEGIN;\n";
for my $i (1 .. $N) {
    my $c = "c-$i";
    print $sql "INSERT INTO config_info (id, data_id, group_id, tenant_id, "
        . "content, md5, gmt_create, gmt_modified, src_ip, app_name, type, "
        . "change_seq) VALUES ($i, 'w-$i', 'G', '', '$c', '"
        . md5_hex($c) . "', 1700000000000, 1700000000000, '127.0.0.1', '', "
        . "'text', $i);\n";
}
print $sql "UPDATE nd_change_seq SET seq = $N;\nCOMMIT;\n";
close $sql or die "sqlite3 failed";

# the second chunk comes 5 s after the start, the end 5 s later
conf("    load_chunk 1000;\n    load_interval 5s;\n");
$t->run;
ok($t->wait_ready(20), 'ready with the first chunk');
my $gport = $t->port(9848);
my $s = status();
ok($s->{loading} && $s->{cached} <= 1000, 'still loading when ready')
    or diag explain $s;

# reads of keys not loaded yet: the database's answers
my $r = get('w-1999');
is($r->{body}, 'c-1999', 'HTTP read of a key not loaded yet');
is(get('w-absent')->{status}, 404, 'an absent key is absent');
$r = $t->http_json('GET', '/nacos/v1/cs/configs?search=accurate&dataId=w-1990'
                   . '&group=G&pageNo=1&pageSize=10');
is($r->{totalCount}, 1, 'search while loading');
is($r->{pageItems}[0]{content}, 'c-1990', 'search: the row');

# a long poll: up to date keys held, a stale one answered at once
sub listening (@keys) {
    my $v = join '', map { join("\x02", @$_) . "\x01" } @keys;
    $v =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return "Listening-Configs=$v";
}
sub poll ($body, %h) {
    my $c = $t->connect;
    my $hdr = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    $c->send("POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: x\r\n"
           . "Content-Type: application/x-www-form-urlencoded\r\n$hdr"
           . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
    return $c;
}
$r = poll(listening([ 'w-1997', 'G', md5_hex('c-1997') ],
                    [ 'w-1996', 'G', 'stale' ],
                    [ 'w-1995', 'G', md5_hex('c-1995') ],
                    [ 'w-absent', 'G', '' ]),
          'Long-Pulling-Timeout' => 30000)->read_response;
is($r->{body}, "w-1996%02G%01\n", 'long poll: only the stale key');
my $held = poll(listening([ 'w-1997', 'G', md5_hex('c-1997') ],
                          [ 'w-1995', 'G', md5_hex('c-1995') ]),
                'Long-Pulling-Timeout' => 30000);

# gRPC: a query and a listener started during the load
my @hello = Test::Nd::Grpc->hello(module => 'config');
sub call ($type, %body) { Test::Nd::Grpc->call($type, %body) }
my $g = Test::Nd::Grpc->start($gport, [ @hello,
    call('ConfigQueryRequest', dataId => 'w-1998', group => 'G'),
    call('ConfigBatchListenRequest', listen => JSON::PP::true,
         configListenContexts => [
             { dataId => 'w-1994', group => 'G', md5 => md5_hex('c-1994') },
             { dataId => 'w-1993', group => 'G', md5 => 'stale' },
             { dataId => 'w-1992', group => 'G', md5 => md5_hex('c-1992') },
             { dataId => 'w-1991', group => 'G', md5 => md5_hex('c-1991') },
             { dataId => 'w-absent', group => 'G', md5 => '' } ]),
    { op => 'wait', type => 'ConfigChangeNotifyRequest', timeout => 30000 },
    { op => 'wait', type => 'ConfigChangeNotifyRequest', timeout => 30000 },
    { op => 'hold' } ]);
my $l = $g->wait_line(sub ($x) { ($x->{step} // -1) == 4 }, 20);
is($l->{body}{content}, 'c-1998', 'gRPC query of a key not loaded yet');
is($l->{body}{md5}, md5_hex('c-1998'), 'gRPC query: its md5');
$l = $g->wait_line(sub ($x) { ($x->{step} // -1) == 5 }, 20);
is_deeply([ map { $_->{dataId} } @{ $l->{body}{changedConfigs} // [] } ],
          [ 'w-1993' ], 'gRPC listen: only the stale key');

# writes during the load: answered at once, newer than what loads later
$r = $t->http_req('POST', '/nacos/v1/cs/configs', headers => $form,
                  body => 'dataId=w-1997&group=G&content=new-w-1997');
is($r->{body}, 'true', 'publish of a key not loaded yet');
$r = $t->http_req('POST', '/nacos/v1/cs/configs', headers => $form,
                  body => 'dataId=w-1994&group=G&content=new-w-1994');
is($r->{body}, 'true', 'another');
$r = $t->http_req('DELETE', '/nacos/v1/cs/configs?dataId=w-1991&group=G');
is($r->{body}, 'true', 'delete of a key not loaded yet');
is(get('w-1997')->{body}, 'new-w-1997', 'read: the publish');
is(get('w-1991')->{status}, 404, 'read: the delete');

# the console's delete by id: of a row not loaded yet, of one written
# during the load
$r = $t->http_req('DELETE', '/nacos/v1/cs/configs?delType=ids&ids=1990');
like($r->{body}, qr/true/, 'delete by id of a row not loaded yet');
is(get('w-1990')->{status}, 404, 'read: gone');
$r = $t->http_req('POST', '/nacos/v1/cs/configs', headers => $form,
                  body => 'dataId=w-new&group=G&content=n');
my $id = $t->http_json('GET', '/nacos/v1/cs/configs?dataId=w-new&group=G'
                       . '&show=all')->{id};
ok($id && $id > $N, 'a new row during the load');
$r = $t->http_req('DELETE', "/nacos/v1/cs/configs?delType=ids&ids=$id");
like($r->{body}, qr/true/, 'delete by id of a row written during the load');
is(get('w-new')->{status}, 404, 'read: gone');

$r = $held->read_response(timeout => 30);
is($r->{body}, "w-1997%02G%01\n", 'held long poll: exactly the published key');
my @pushed = sort map {
    ($g->wait_line(sub ($x) { ($x->{step} // -1) == $_ }, 20) // {})
        ->{body}{dataId} // 'none'
} 6, 7;
is_deeply(\@pushed, [ 'w-1991', 'w-1994' ],
          'gRPC listener: pushed the published and the deleted key');

$s = status();
ok($s->{loading} && $s->{cached} < $N,
   'all of the above ran during the load') or diag explain $s;

# the end of the load: the older rows did not win
ok($t->wait_for(30, sub { !status()->{loading} }), 'then loaded');
is(get('w-1997')->{body}, 'new-w-1997', 'the publish won over the loaded row');
is(get('w-1991')->{status}, 404, 'the delete won over the loaded row');
is(get('w-1990')->{status}, 404, 'so did the delete by id');
is(get('w-1' )->{body}, 'c-1', 'a row of the first chunk');
is(get('w-1500')->{body}, 'c-1500', 'a row of the second chunk');
is(status()->{cached}, $N - 2, 'every row cached, the deleted ones not');
$g->kill;

# kill -9 after the answers: kept
$t->kill('KILL');
$t->run;
ok($t->wait_ready(20), 'restarted after kill -9');
is(get('w-1994')->{body}, 'new-w-1994', 'publish kept across kill -9 '
   . '(read while loading)');
is(get('w-1991')->{status}, 404, 'delete kept');

# stopped during the load (its next chunk an hour away): clean, and what
# was written meanwhile is kept
conf("    load_chunk 1000;\n    load_interval 1h;\n");
$t->stop;
$t->run;
ok($t->wait_ready(20), 'restarted, loading for an hour');
$r = $t->http_req('POST', '/nacos/v1/cs/configs', headers => $form,
                  body => 'dataId=w-1800&group=G&content=late');
is($r->{body}, 'true', 'publish during the load');
ok(status()->{loading}, 'still loading');
$t->stop;
conf('');
$t->run;
ok($t->wait_ready(20), 'restarted');
is(get('w-1800')->{body}, 'late', 'the publish during the load is kept');
is(get('w-1799')->{body}, 'c-1799', 'and the rows around it');

$t->done_testing;
