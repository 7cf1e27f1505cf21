#!/usr/bin/perl
# Config Open API v1 and v2 over the real store: publish, get (headers,
# 404, show=all), delete, CAS, validation errors, search, history and
# namespaces.
use v5.36;
use Test::More;
use Digest::MD5 qw(md5_hex);
use lib 't/lib';
use Test::Nd;

my $t = Test::Nd->new;
$t->has(qw(store config));
my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "store {\n    schema_dir $schema;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');

sub esc ($s) {
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}
sub form (%p) {
    return join '&', map { esc($_) . '=' . esc($p{$_}) } sort keys %p;
}
sub post ($path, %p) {
    my $h = delete $p{_headers} // {};
    return $t->http_req('POST', $path, body => form(%p), headers => {
        'Content-Type' => 'application/x-www-form-urlencoded', %$h });
}
sub get ($path, %p) { $t->http_req('GET', "$path?" . form(%p)) }
sub del ($path, %p) { $t->http_req('DELETE', "$path?" . form(%p)) }
my $C = '/nacos/v1/cs/configs';

# publish and read back
my $r = post($C, dataId => 'app.yaml', group => 'DEFAULT_GROUP',
             content => "a: 1\nb: ü", type => 'yaml', appName => 'order');
is($r->{status}, 200, 'publish: 200');
is($r->{body}, 'true', 'publish: true');

$r = get($C, dataId => 'app.yaml', group => 'DEFAULT_GROUP');
is($r->{status}, 200, 'get: 200');
is($r->{body}, "a: 1\nb: \xc3\xbc", 'get: the content, bytes as published');
is($r->{headers}{'content-md5'}, md5_hex("a: 1\nb: \xc3\xbc"),
   'Content-MD5 is the md5 of the UTF-8 bytes');
is($r->{headers}{'config-type'}, 'yaml', 'Config-Type');
like($r->{headers}{'last-modified'}, qr/GMT$/, 'Last-Modified');
is($r->{headers}{'cache-control'}, 'no-cache,no-store', 'no caching');

$r = get($C, dataId => 'app.yaml', group => 'DEFAULT_GROUP',
         tenant => 'public');
is($r->{status}, 200, 'tenant "public" is the default namespace');

$r = get($C, dataId => 'nope', group => 'DEFAULT_GROUP');
is($r->{status}, 404, 'missing: 404');
is($r->{body}, "config data not exist\n", 'missing: Nacos body');

my $j = Test::Nd::decode_json(get($C, dataId => 'app.yaml', group => 'DEFAULT_GROUP',
                            show => 'all')->{body});
is($j->{appName}, 'order', 'show=all: appName');
is($j->{type}, 'yaml', 'show=all: type');
like($j->{id}, qr/^\d+$/, 'show=all: id is a string of digits');

# an unknown type is stored as text
post($C, dataId => 'plain', group => 'G', content => 'x', type => 'bogus');
is(get($C, dataId => 'plain', group => 'G')->{headers}{'config-type'}, 'text',
   'unknown type becomes text');

# validation
$r = post($C, group => 'G', content => 'x');
is($r->{status}, 400, 'missing dataId: 400');
like($r->{body}, qr/dataId/, 'missing dataId: named');
$r = post($C, dataId => 'a b', group => 'G', content => 'x');
is($r->{status}, 400, 'invalid dataId: 400');
like($r->{body}, qr/invalid dataId/, 'invalid dataId: message');
$r = post($C, dataId => 'a', group => 'G/1', content => 'x');
is($r->{status}, 400, 'invalid group: 400');
$r = post($C, dataId => 'a', group => 'G', content => 'x', tenant => 'a*b');
is($r->{status}, 400, 'invalid tenant: 400');
$r = post($C, dataId => 'a', group => 'G');
is($r->{status}, 400, 'missing content: 400');

# CAS
my $md5 = md5_hex('x');
$r = post($C, dataId => 'plain', group => 'G', content => 'y',
          _headers => { casMd5 => 'ffffffffffffffffffffffffffffffff' });
is($r->{status}, 500, 'stale casMd5: 500');
like($r->{body}, qr/Cas publish fail/, 'stale casMd5: Nacos message');
is(get($C, dataId => 'plain', group => 'G')->{body}, 'x',
   'stale casMd5 changed nothing');
$r = post($C, dataId => 'plain', group => 'G', content => 'y',
          _headers => { casMd5 => $md5 });
is($r->{body}, 'true', 'current casMd5: published');
is(get($C, dataId => 'plain', group => 'G')->{body}, 'y', 'new content');

# delete
is(del($C, dataId => 'plain', group => 'G')->{body}, 'true', 'delete: true');
is(get($C, dataId => 'plain', group => 'G')->{status}, 404,
   'deleted: 404');
is(del($C, dataId => 'plain', group => 'G')->{body}, 'true',
   'delete of a missing config: true');

# batch delete by ids (console)
post($C, dataId => 'b1', group => 'BATCH', content => '1');
post($C, dataId => 'b2', group => 'BATCH', content => '2');
post($C, dataId => 'b3', group => 'BATCH', content => '3');
my @ids = map { Test::Nd::decode_json(get($C, dataId => $_, group => 'BATCH',
                                          show => 'all')->{body})->{id} }
          qw(b1 b2);
$r = del($C, delType => 'ids', ids => join(',', @ids, 999999));
is($r->{status}, 200, 'delete by ids: 200');
$j = Test::Nd::decode_json($r->{body});
is_deeply([ $j->{code}, $j->{data} ], [ 200, JSON::PP::true ],
          'delete by ids: RestResult data true');
is(get($C, dataId => 'b1', group => 'BATCH')->{status}, 404, 'b1 deleted');
is(get($C, dataId => 'b2', group => 'BATCH')->{status}, 404, 'b2 deleted');
is(get($C, dataId => 'b3', group => 'BATCH')->{body}, '3',
   'a config not listed stays');
is(del($C, delType => 'ids', ids => '1,x')->{status}, 400,
   'delete by ids: a bad id is refused');

# search
for my $i (1 .. 5) {
    post($C, dataId => "svc-$i.properties", group => 'SEARCH',
         content => "n=$i", tenant => 'dev');
}
$j = Test::Nd::decode_json(get($C, search => 'accurate', dataId => '',
                         group => 'SEARCH', tenant => 'dev', pageNo => 1,
                         pageSize => 2)->{body});
is($j->{totalCount}, 5, 'accurate search: totalCount');
is($j->{pagesAvailable}, 3, 'accurate search: pagesAvailable');
is(scalar @{ $j->{pageItems} }, 2, 'accurate search: a page');
$j = Test::Nd::decode_json(get($C, search => 'blur', dataId => 'svc-*',
                         group => '', tenant => 'dev', pageNo => 1,
                         pageSize => 10)->{body});
is($j->{totalCount}, 5, 'blur search: * is a wildcard');
$j = Test::Nd::decode_json(get($C, search => 'blur', dataId => 'svc-3*',
                         group => '', tenant => 'dev', pageNo => 1,
                         pageSize => 10)->{body});
is($j->{pageItems}[0]{content}, 'n=3', 'blur search: the match');

# history
post($C, dataId => 'h', group => 'G', content => 'v1');
post($C, dataId => 'h', group => 'G', content => 'v2');
del($C, dataId => 'h', group => 'G');
$j = Test::Nd::decode_json(get('/nacos/v1/cs/history', search => 'accurate',
                         dataId => 'h', group => 'G')->{body});
is($j->{totalCount}, 3, 'history: one row per write');
my @ops = map { $_->{opType} =~ s/\s+//gr } @{ $j->{pageItems} };
is_deeply(\@ops, [qw(D U I)], 'history: newest first, D U I');
my $nid = $j->{pageItems}[0]{id};
$j = Test::Nd::decode_json(get('/nacos/v1/cs/history', nid => $nid, dataId => 'h',
                         group => 'G')->{body});
is($j->{id}, $nid, 'history detail by nid');
is($j->{content}, 'v2', 'history detail: the delete keeps what it removed');
$r = get('/nacos/v1/cs/history', nid => $nid, dataId => 'other',
         group => 'G');
is($r->{status}, 400, 'history detail of another key: refused');
$j = Test::Nd::decode_json(get('/nacos/v1/cs/history/previous', id => $nid,
                         dataId => 'h', group => 'G')->{body});
# Nacos keeps the content a write replaced: U holds v1, D holds v2
is($j->{content}, 'v1', 'history previous of the delete: the update row');
is($j->{opType} =~ s/\s+//gr, 'U', 'history previous: opType U');

# v2
my $V = '/nacos/v2/cs/config';
$j = Test::Nd::decode_json(post($V, dataId => 'v2.json', group => 'G',
                          content => '{"a":1}', type => 'json')->{body});
is_deeply([ $j->{code}, $j->{data} ], [ 0, JSON::PP::true ],
          'v2 publish: code 0, data true');
$j = Test::Nd::decode_json(get($V, dataId => 'v2.json', group => 'G')->{body});
is($j->{data}, '{"a":1}', 'v2 get: data is the content');
$r = get($V, dataId => 'none', group => 'G');
is($r->{status}, 404, 'v2 missing: 404');
$j = Test::Nd::decode_json($r->{body});
is_deeply([ $j->{code}, $j->{message}, $j->{data} ],
          [ 20004, 'resource not found', 'config data not exist' ],
          'v2 missing: Nacos envelope');
$r = get($V, group => 'G');
is(Test::Nd::decode_json($r->{body})->{code}, 10000, 'v2 missing dataId: 10000');
$r = post($V, dataId => 'bad id', group => 'G', content => 'x');
is(Test::Nd::decode_json($r->{body})->{code}, 20002, 'v2 invalid dataId: 20002');
$j = Test::Nd::decode_json(del($V, dataId => 'v2.json', group => 'G')->{body});
is($j->{data}, JSON::PP::true, 'v2 delete');

# namespaces
my $N = '/nacos/v1/console/namespaces';
is(post($N, customNamespaceId => 'dev', namespaceName => 'Dev',
        namespaceDesc => 'development')->{body}, 'true', 'namespace created');
is(post($N, customNamespaceId => 'dev', namespaceName => 'Dev')->{body},
   'false', 'duplicate namespace: false');
is(post($N, customNamespaceId => 'x', namespaceName => 'a@b')->{body},
   'false', 'bad name: false');
is(get($N, checkNamespaceIdExist => 'true',
       customNamespaceId => 'dev')->{body}, 'true', 'exists: true');
$j = Test::Nd::decode_json(get($N)->{body});
is($j->{code}, 200, 'list: RestResult');
is($j->{data}[0]{namespace}, '', 'list: public first, id ""');
is($j->{data}[0]{namespaceShowName}, 'public', 'list: public name');
my ($dev) = grep { $_->{namespace} eq 'dev' } @{ $j->{data} };
is($dev->{configCount}, 5, 'list: configCount of dev');
is($dev->{type}, 2, 'list: custom namespace type 2');
is($t->http_req('PUT', $N, body => form(namespace => 'dev',
       namespaceShowName => 'Development', namespaceDesc => 'd'),
       headers => { 'Content-Type' => 'application/x-www-form-urlencoded' }
   )->{body}, 'true', 'namespace updated');
$j = Test::Nd::decode_json(get('/nacos/v2/console/namespace',
                         namespaceId => 'dev')->{body});
is($j->{data}{namespaceShowName}, 'Development', 'v2 get namespace');
$r = post('/nacos/v2/console/namespace', namespaceId => 'dev',
          namespaceName => 'again');
is(Test::Nd::decode_json($r->{body})->{code}, 22002, 'v2 duplicate: 22002');
is(del($N, namespaceId => 'dev')->{body}, 'true', 'namespace deleted');

$t->done_testing;
