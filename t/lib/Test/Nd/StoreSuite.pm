package Test::Nd::StoreSuite;

# The store test suite, written once and run against each backend
# (t/store_sqlite.t, t/store_pg.t), plus the helpers the other store tests
# share.  It drives the store through the debug routes
# /nacos/v1/core/debug/store/... (debug builds only).

use v5.36;

use Digest::MD5 ();
use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();
use Test::More;
use Test::Nd;
use Test::Nd::Pg;

our @EXPORT_OK = qw(store_server store_conf esc form publish get_config
                    search history suite concurrent);

my $BASE = '/nacos/v1/core/debug/store';


sub esc ($s) {
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}


sub form (%a) {
    return join '&', map { "$_=" . esc($a{$_}) } sort keys %a;
}


# the conf for a backend: sqlite, or pg with $pg's conninfo
sub store_conf ($t, $backend, $pg = undef, $extra = '', $top = '') {
    my $schema = Test::Nd::root() . '/conf/schema';
    my $store = "store {\n    schema_dir $schema;\n";
    if ($backend eq 'pg') {
        $store .= "    backend pg;\n"
                . "    pg_conninfo \"" . $pg->conninfo . "\";\n"
                . "    pg_pool 3;\n    pg_reconnect_max 300ms;\n"
                . "    query_timeout 3s;\n    cache_refresh 200ms;\n";
    } else {
        $store .= "    sqlite_path data/nacosd.db;\n";
    }
    $store .= "    $extra\n}\n";
    return $t->conf(extra => $store . $top);
}


# a running nacosd on $backend ('sqlite' or 'pg'); for pg, also starts
# (or takes) a private PostgreSQL.  Returns ($t, $pg).
sub store_server ($backend, %opt) {
    my $t = Test::Nd->new;
    $t->has('store');
    plan(skip_all => 'the store debug routes need a --with-debug build')
        unless $t->is_debug;
    my $pg = $opt{pg};
    $pg //= Test::Nd::Pg->start_or_skip if $backend eq 'pg';
    $t->write_conf('nacosd.conf',
                   store_conf($t, $backend, $pg, $opt{extra} // ''));
    $t->run;
    ok($t->wait_ready(20), "$backend: nacosd ready (schema applied, "
                           . "cache loaded)")
        or diag($t->error_log);
    return ($t, $pg);
}


# sends every publish (form bodies) at once, each on its own connection;
# returns the answers (status, body) in request order
sub concurrent ($t, @bodies) {
    my (@socks, @resp);
    for my $i (0 .. $#bodies) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $t->port, Proto => 'tcp')
            or die "connect: $!";
        my $req = $t->request_text('POST', "$BASE/config",
            body => $bodies[$i],
            headers => { 'Content-Type'
                         => 'application/x-www-form-urlencoded' });
        syswrite($s, $req) == length $req or die "write: $!";
        push @socks, $s;
        $resp[$i] = '';
    }
    my %idx = map { ("$socks[$_]" => $_) } 0 .. $#socks;
    my $sel = IO::Select->new(@socks);
    my $deadline = Time::HiRes::time() + 120;
    while ($sel->count && Time::HiRes::time() < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $n = sysread($s, my $buf, 65536);
            if ($n) {
                $resp[$idx{"$s"}] .= $buf;
                next;
            }
            $sel->remove($s);
            close $s;
        }
    }
    return map {
        my ($r) = Test::Nd::parse_responses($_);
        [ $r ? $r->{status} : 0, $r ? $r->{body} : '' ]
    } @resp;
}


sub publish ($t, %a) {
    my ($j, $r) = $t->http_json('POST', "$BASE/config",
        body => form(%a),
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
    return wantarray ? ($r->{status}, $j, $r) : $r->{status};
}


sub get_config ($t, %a) {
    my ($j, $r) = $t->http_json('GET', "$BASE/config?" . form(%a));
    return wantarray ? ($r->{status}, $j, $r) : $j;
}


sub search ($t, %a) {
    my ($j, $r) = $t->http_json('GET', "$BASE/configs?" . form(%a));
    return wantarray ? ($r->{status}, $j) : $j;
}


sub history ($t, %a) {
    my ($j, $r) = $t->http_json('GET', "$BASE/history?" . form(%a));
    return wantarray ? ($r->{status}, $j) : $j;
}


sub req ($t, $method, $path, %a) {
    my ($j, $r) = $t->http_json($method, "$BASE/$path",
        body => form(%a),
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
    return ($r->{status}, $j, $r);
}


# the shared functional suite
sub suite ($t, $backend) {
    my ($st, $j, $r);
    my $L = "$backend:";

    ($j) = $t->http_json('GET', "$BASE/status");
    is($j->{backend}, $backend, "$L status names the backend");
    ok($j->{available}, "$L store available");

    # publish, get, update, history, CAS
    ($st, $j) = publish($t, dataId => 'app.yaml', group => 'DEFAULT_GROUP',
                        content => "a: 1\n", type => 'yaml');
    is($st, 200, "$L publish: 200");
    my $seq1 = $j->{seq};
    ok($seq1 > 0, "$L publish takes a change sequence");
    is($j->{md5}, Digest::MD5::md5_hex("a: 1\n"),
       "$L publish answers the md5 of the content");
    my $md5a = $j->{md5};

    ($st, $j) = get_config($t, dataId => 'app.yaml', group => 'DEFAULT_GROUP');
    is($st, 200, "$L get: 200");
    is($j->{content}, "a: 1\n", "$L get: content");
    is($j->{type}, 'yaml', "$L get: type");
    is($j->{seq}, $seq1, "$L get: seq on the row");

    ($st, $j) = publish($t, dataId => 'app.yaml', group => 'DEFAULT_GROUP',
                        content => "a: 2\n", casMd5 => $md5a);
    is($st, 200, "$L CAS publish with the right md5: 200");
    my $seq2 = $j->{seq};
    ok($seq2 > $seq1, "$L the sequence increases");

    ($st, $j, $r) = publish($t, dataId => 'app.yaml', group => 'DEFAULT_GROUP',
                            content => "a: 3\n", casMd5 => $md5a);
    is($st, 409, "$L CAS publish with a stale md5: refused");
    like($r->{body}, qr/Cas publish fail/, "$L CAS refusal message");
    is(get_config($t, dataId => 'app.yaml', group => 'DEFAULT_GROUP')
           ->{content}, "a: 2\n", "$L CAS refusal changed nothing");

    ($st, $j) = history($t, dataId => 'app.yaml', group => 'DEFAULT_GROUP');
    is($st, 200, "$L history list: 200");
    is($j->{totalCount}, 2, "$L two history rows (insert, update)");
    my @h = @{ $j->{pageItems} // [] };
    is_deeply([ map { $_->{opType} } @h ], [qw(U I)],
              "$L history newest first: U then I");
    is($h[0]{content}, "a: 1\n", "$L U row keeps the old content (Nacos)");
    is($h[0]{seq}, $seq2, "$L U row carries the change sequence");
    ($j) = $t->http_json('GET', "$BASE/history?nid=$h[0]{nid}");
    is($j->{nid}, $h[0]{nid}, "$L history get by nid");
    ($j) = $t->http_json('GET', "$BASE/history/previous?nid=$h[0]{nid}");
    is($j->{nid}, $h[1]{nid}, "$L history previous");
    ($st) = req($t, 'GET', "history/previous?nid=$h[1]{nid}");
    is($st, 404, "$L no history before the first row: 404");
    ($st) = req($t, 'GET', 'history?nid=999999');
    is($st, 404, "$L unknown nid: 404");

    # delete leaves a history row with the sequence; changes since
    ($st, $j) = req($t, 'DELETE', 'config?dataId=app.yaml&group=DEFAULT_GROUP');
    is($st, 200, "$L delete: 200");
    my $seq3 = $j->{seq};
    ok($seq3 > $seq2, "$L delete takes a sequence");
    ($st) = get_config($t, dataId => 'app.yaml', group => 'DEFAULT_GROUP');
    is($st, 404, "$L deleted config: 404");
    ($st, $j) = req($t, 'DELETE', 'config?dataId=app.yaml&group=DEFAULT_GROUP');
    is($j->{seq}, 0, "$L deleting nothing takes no sequence");
    $j = history($t, dataId => 'app.yaml', group => 'DEFAULT_GROUP');
    is($j->{pageItems}[0]{opType}, 'D', "$L delete history row");
    is($j->{pageItems}[0]{seq}, $seq3, "$L delete history carries the seq");
    ($j) = $t->http_json('GET', "$BASE/changes?since=$seq1");
    is_deeply([ map { [ $_->{seq}, $_->{deleted} ? 1 : 0 ] }
                @{ $j->{data} // [] } ],
              [ [ $seq3, 1 ] ], "$L changes since N: the delete");

    # case-sensitive keys; tenants
    is(publish($t, dataId => 'Case', group => 'G', content => 'upper'), 200,
       "$L publish Case");
    is(publish($t, dataId => 'case', group => 'G', content => 'lower'), 200,
       "$L publish case");
    is(publish($t, dataId => 'case', group => 'G', tenant => 'dev',
               content => 'dev lower'), 200, "$L publish in tenant dev");
    is(get_config($t, dataId => 'Case', group => 'G')->{content}, 'upper',
       "$L keys are case-sensitive (Case)");
    is(get_config($t, dataId => 'case', group => 'G')->{content}, 'lower',
       "$L keys are case-sensitive (case)");
    is(get_config($t, dataId => 'case', group => 'G', tenant => 'dev')
           ->{content}, 'dev lower', "$L tenants are separate");

    # search: accurate, blur, paging; LIKE metacharacters are literal
    for my $i (1 .. 5) {
        publish($t, dataId => "svc-$i.properties", group => 'PAGE',
                content => "n=$i", appName => $i % 2 ? 'odd' : 'even');
    }
    publish($t, dataId => 'a_b', group => 'LIKE', content => 'underscore');
    publish($t, dataId => 'axb', group => 'LIKE', content => 'x');
    $j = search($t, group => 'PAGE', pageNo => 1, pageSize => 2);
    is($j->{totalCount}, 5, "$L accurate list by group: total 5");
    is(scalar @{ $j->{pageItems} }, 2, "$L page size 2");
    is($j->{pagesAvailable}, 3, "$L pages available");
    $j = search($t, group => 'PAGE', pageNo => 3, pageSize => 2);
    is($j->{pageItems}[0]{dataId}, 'svc-5.properties', "$L last page");
    $j = search($t, group => 'PAGE', appName => 'odd');
    is($j->{totalCount}, 3, "$L filter by appName");
    $j = search($t, dataId => 'svc-*', search => 'blur');
    is($j->{totalCount}, 5, "$L blur search with *");
    $j = search($t, dataId => 'SVC-*', search => 'blur');
    is($j->{totalCount}, 0, "$L blur search is case-sensitive");
    $j = search($t, dataId => 'a_b', search => 'blur', group => 'LIKE');
    is_deeply([ map { $_->{dataId} } @{ $j->{pageItems} } ], ['a_b'],
              "$L _ in a pattern is literal");
    $j = search($t, dataId => 'svc-1.properties', group => 'PAGE');
    is($j->{totalCount}, 1, "$L accurate search by dataId");
    $j = search($t, tenant => 'dev');
    is($j->{totalCount}, 1, "$L list a tenant");

    # SQL metacharacters in every free field are stored verbatim
    my $evil = qq{x'); DROP TABLE config_info; -- "q" \\ %_ \$1 ? :a \x{263A}};
    my %fields = (content => $evil, appName => substr($evil, 0, 60),
                  desc => $evil, use => "u'\"", effect => "e;--",
                  schema => $evil, type => "t'", src_user => "o'neil",
                  encryptedDataKey => $evil, config_tags => "t'1,t\"2");
    ($st, $j) = publish($t, dataId => 'evil', group => 'SQL', %fields);
    is($st, 200, "$L publish with SQL metacharacters in every field");
    my $u = sub ($s) { my $x = $s; utf8::encode($x); utf8::decode($x); $x };
    for my $src ('cache', 'db') {
        my $row = $src eq 'cache'
            ? get_config($t, dataId => 'evil', group => 'SQL')
            : search($t, dataId => 'evil', group => 'SQL')->{pageItems}[0];
        is($row->{content}, $u->($evil), "$L $src: content verbatim");
        is($row->{appName}, $u->($fields{appName}), "$L $src: appName");
        is($row->{desc}, $u->($evil), "$L $src: desc verbatim");
        is($row->{use}, $fields{use}, "$L $src: use verbatim");
        is($row->{effect}, $fields{effect}, "$L $src: effect verbatim");
        is($row->{schema}, $u->($evil), "$L $src: schema verbatim");
        is($row->{type}, $fields{type}, "$L $src: type verbatim");
        is($row->{srcUser}, "o'neil", "$L $src: src_user verbatim");
        is($row->{encryptedDataKey}, $u->($evil), "$L $src: key verbatim");
        is(join(',', sort split /,/, $row->{configTags}), "t\"2,t'1",
           "$L $src: tags verbatim");
    }
    $j = history($t, dataId => 'evil', group => 'SQL');
    is($j->{pageItems}[0]{content}, $u->($evil), "$L history verbatim");
    ok(search($t, group => 'PAGE')->{totalCount} == 5,
       "$L tables intact after the metacharacters");

    # bad input is refused before SQL
    my $count = search($t, group => 'BAD')->{totalCount};
    my @bad = (
        [ 'dataId with a space', dataId => 'a b', group => 'BAD' ],
        [ 'dataId with a quote', dataId => "a'b", group => 'BAD' ],
        [ 'empty dataId', dataId => '', group => 'BAD' ],
        [ 'dataId of 256 bytes', dataId => 'd' x 256, group => 'BAD' ],
        [ 'group with a slash', dataId => 'ok', group => 'BAD/x' ],
        [ 'group of 129 bytes', dataId => 'ok', group => 'G' x 129 ],
        [ 'tenant with a quote', dataId => 'ok', group => 'BAD',
          tenant => "t'1" ],
        [ 'tenant of 129 bytes', dataId => 'ok', group => 'BAD',
          tenant => 't' x 129 ],
        [ 'empty content', dataId => 'ok', group => 'BAD', content => '' ],
        [ 'invalid UTF-8', dataId => 'ok', group => 'BAD',
          content => "\xff\xfe" ],
        [ 'NUL byte', dataId => 'ok', group => 'BAD', content => "a\0b" ],
        [ 'appName of 129 bytes', dataId => 'ok', group => 'BAD',
          appName => 'a' x 129 ],
        [ 'desc of 257 bytes', dataId => 'ok', group => 'BAD',
          desc => 'd' x 257 ],
        [ 'tag of 129 bytes', dataId => 'ok', group => 'BAD',
          config_tags => 'x' x 129 ],
    );
    for my $b (@bad) {
        my ($name, %a) = @$b;
        $a{content} //= 'c';
        ($st, $j, $r) = publish($t, %a);
        is($st, 400, "$L refused: $name") or diag($r->{body});
    }
    ($st, $j, $r) = publish($t, dataId => 'big', group => 'BAD',
                            content => 'x' x (64 * 1024 + 1));
    is($st, 413, "$L refused: content over max_content_size");
    ($st) = publish($t, dataId => 'fits', group => 'BAD',
                    content => 'x' x (64 * 1024));
    is($st, 200, "$L content of exactly max_content_size is stored");
    is(search($t, group => 'BAD')->{totalCount}, $count + 1,
       "$L none of the refused ones reached the database");
    ($st) = req($t, 'GET', 'configs?pageSize=501');
    is($st, 400, "$L refused: pageSize 501");
    ($st) = req($t, 'GET', 'configs?pageNo=-1');
    is($st, 400, "$L refused: negative pageNo");
    ($st) = req($t, 'GET', 'changes?since=-5');
    is($st, 400, "$L refused: negative change sequence");
    ($st) = req($t, 'GET', 'history?nid=-1');
    is($st, 400, "$L refused: negative nid");

    # namespaces
    ($st) = req($t, 'POST', 'namespace', namespaceId => 'ns-1',
                namespaceName => "Team 'A'", namespaceDesc => 'd;--');
    is($st, 200, "$L namespace create");
    ($st) = req($t, 'POST', 'namespace', namespaceId => 'ns-1',
                namespaceName => 'again');
    is($st, 409, "$L namespace create twice: 409");
    ($st) = req($t, 'POST', 'namespace', namespaceId => 'bad id',
                namespaceName => 'x');
    is($st, 400, "$L namespace with a bad id: 400");
    ($st) = req($t, 'POST', 'namespace', namespaceId => 'ns-2');
    is($st, 400, "$L namespace without a name: 400");
    ($st) = req($t, 'PUT', 'namespace', namespaceId => 'ns-1',
                namespaceName => 'Team B', namespaceDesc => 'new');
    is($st, 200, "$L namespace update");
    ($st, $j) = req($t, 'GET', 'namespace?namespaceId=ns-1');
    is($j->{namespaceShowName}, 'Team B', "$L namespace get after update");
    ($st) = req($t, 'PUT', 'namespace', namespaceId => 'nope',
                namespaceName => 'x');
    is($st, 404, "$L update a missing namespace: 404");
    ($st, $j) = req($t, 'GET', 'namespace');
    is(scalar @{ $j->{data} }, 1, "$L namespace list");
    ($st) = req($t, 'DELETE', 'namespace?namespaceId=ns-1');
    is($st, 200, "$L namespace delete");
    ($st) = req($t, 'GET', 'namespace?namespaceId=ns-1');
    is($st, 404, "$L deleted namespace: 404");

    # persistent instances
    my %in = (serviceName => 'orders', groupName => 'DEFAULT_GROUP',
              ip => '10.0.0.1', port => 8080);
    ($st) = req($t, 'POST', 'instance', %in, weight => 2.5,
                metadata => '{"k":"v\'"}');
    is($st, 200, "$L instance upsert");
    ($st) = req($t, 'POST', 'instance', %in, weight => 3, healthy => 'false');
    is($st, 200, "$L instance upsert again (update)");
    ($st) = req($t, 'POST', 'instance', %in, ip => '10.0.0.2');
    ($st, $j) = req($t, 'GET', 'instance?serviceName=orders');
    is(scalar @{ $j->{data} }, 2, "$L two instances");
    is($j->{data}[0]{weight}, 3, "$L the upsert updated the weight");
    ok(!$j->{data}[0]{healthy}, "$L and the health");
    ($st) = req($t, 'POST', 'instance', %in, port => 70000);
    is($st, 400, "$L instance with port 70000: 400");
    ($st) = req($t, 'POST', 'instance', %in, weight => -1);
    is($st, 400, "$L instance with a negative weight: 400");
    ($st) = req($t, 'DELETE', 'instance?' . form(%in));
    is($st, 200, "$L instance delete");
    ($st) = req($t, 'DELETE', 'instance?' . form(%in));
    is($st, 404, "$L delete it again: 404");

    # a graceful restart keeps everything, and the sequence goes on
    ($j) = $t->http_json('GET', "$BASE/status");
    my $last = $j->{lastSeq};
    $t->stop;
    $t->run;
    ok($t->wait_ready(20), "$L ready after a restart");
    is(get_config($t, dataId => 'evil', group => 'SQL')->{content},
       $u->($evil), "$L config served after a restart (cache reloaded)");
    ($j) = $t->http_json('GET', "$BASE/status");
    is($j->{lastSeq}, $last, "$L last sequence restored");
    ($st, $j) = publish($t, dataId => 'after', group => 'G', content => 'r');
    ok($j->{seq} > $last, "$L the sequence continues after a restart");
}

1;
