# pg: a commit group's plain publishes go as one call of
# nd_config_publish_batch (schema version 5).  A database of schema
# version 4 with configs in it upgrades; then groups of concurrent
# publishes mixing new configs, updates, CAS updates (matching and not),
# one key written five times and a config that had tags are answered
# each as alone: the refused ones take no sequence, the sequences of the
# rest are one contiguous run, each history row holds the row before its
# write (U) or the new one (I), and the last write of a key wins.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Digest::MD5 qw(md5_hex);
use Test::More;
use Test::Nd;
use Test::Nd::Pg;
use Test::Nd::StoreSuite qw(store_conf form publish get_config history
                            concurrent);

my $t = Test::Nd->new;
$t->has('store');
plan(skip_all => 'the store debug routes need a --with-debug build')
    unless $t->is_debug;
my $pg = Test::Nd::Pg->start_or_skip(conf => "track_functions = 'pl'\n");

# 1. a database of version 4, written as nacosd of that version did: the
# schema file's sections before version 5, configs by nd_config_publish
my $text = do {
    local (@ARGV, $/) = (Test::Nd::root() . '/conf/schema/pg.sql');
    <>
};
my ($old) = $text =~ /\A(.*?)^-- version 5$/ms
    or BAIL_OUT('pg.sql has no version 5');
$pg->psql("BEGIN; CREATE TABLE nd_schema_version (version bigint PRIMARY "
          . "KEY, applied bigint NOT NULL); $old; INSERT INTO "
          . "nd_schema_version SELECT v, 0 FROM generate_series(1, 4) v; "
          . "COMMIT");

sub publish4 ($data_id, $content, $tags = '') {
    my $md5 = md5_hex($content);
    $pg->psql("SELECT o_status FROM nd_config_publish('$data_id', 'B', '', "
              . "'$content', '$md5', 1, '', '', '', '', '', '', '', '', '', "
              . "false, '', '$tags')");
}

publish4("up-$_", "old $_") for 1 .. 20;
publish4('twice', 'twice v0');
publish4('tagged', 'tagged v0', 't1,t2');

# 2. the upgrade (no refresh timer: the cache learns only from its own
# writes, so what it holds is known exactly, see 4.)
(my $conf = store_conf($t, 'pg', $pg))
    =~ s/cache_refresh \S+;/cache_refresh 1h;/
    or die 'no cache_refresh in the store conf';
$t->write_conf('nacosd.conf', $conf);
$t->run;
ok($t->wait_ready(20), 'version 5: ready after the upgrade')
    or diag($t->error_log);
my ($newest) = sort { $b <=> $a } map { /^-- version (\d+)$/ ? $1 : () }
    split /\n/, Test::Nd::_slurp(Test::Nd::root() . '/conf/schema/pg.sql');
ok($newest >= 6, "pg.sql's newest version is $newest");
is($pg->psql('SELECT max(version) FROM nd_schema_version'), $newest,
   "versions 5 to $newest: applied over version 4");
is(get_config($t, dataId => 'up-7', group => 'B')->{content}, 'old 7',
   'version 5: the configs of version 4 are there');
is(get_config($t, dataId => 'tagged', group => 'B')->{configTags}, 't1,t2',
   'version 5: with their tags');

# 3. groups of concurrent publishes
my $seq0 = $pg->psql('SELECT seq FROM nd_change_seq');
my (@bodies, @what);
for my $i (1 .. 100) {
    push @bodies, form(dataId => "new-$i", group => 'B',
                       content => "new $i");
    push @what, [ new => $i ];
    # the updates among the new ones, in the same groups
    if ($i % 5 == 0) {
        my $u = $i / 5;
        my %cas = $u % 5 == 0 ? (casMd5 => 'f' x 32)
                : $u % 2      ? (casMd5 => md5_hex("old $u"))
                :               ();
        push @bodies, form(dataId => "up-$u", group => 'B',
                           content => "upd $u", %cas);
        push @what, [ ($u % 5 == 0 ? 'stale' : 'upd') => $u ];
    }
    if ($i % 20 == 10) {
        my $v = ($i + 10) / 20;
        push @bodies, form(dataId => 'twice', group => 'B',
                           content => "twice v$v");
        push @what, [ twice => $v ];
    }
}
push @bodies, form(dataId => 'tagged', group => 'B', content => 'tagged v1');
push @what, [ tagged => 1 ];

my @resp = concurrent($t, @bodies);
my (%seq, @bad, @twice);
for my $k (0 .. $#resp) {
    my ($kind, $i) = @{ $what[$k] };
    my ($st, $body) = @{ $resp[$k] };
    if ($kind eq 'stale') {
        push @bad, "$kind $i: $st" unless $st == 409;
        next;
    }
    my $j = $st == 200 ? Test::Nd::decode_json($body) : undef;
    unless ($j && $j->{seq}) {
        push @bad, "$kind $i: $st $body";
        next;
    }
    $seq{"$kind $i"} = $j->{seq};
    push @twice, [ $j->{seq}, "twice v$i" ] if $kind eq 'twice';
}
ok(!@bad, 'each publish answered as alone (409: the stale CAS ones)')
    or diag(join "\n", @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);

my $calls = 0;
for (1 .. 50) {
    $calls = $pg->psql("SELECT coalesce(sum(calls), 0) FROM "
                       . "pg_stat_user_functions "
                       . "WHERE funcname = 'nd_config_publish_batch'");
    last if $calls > 0;
    select(undef, undef, undef, 0.2);
}
ok($calls > 0, "the groups went as batches ($calls calls)");

my @s = sort { $a <=> $b } values %seq;
my %uniq = map { $_ => 1 } @s;
is(scalar keys %uniq, scalar @s, 'every write its own sequence');
is_deeply([ $s[0], $s[-1] ], [ $seq0 + 1, $seq0 + @s ],
          'one contiguous run of sequences: refused ones took none');
is($pg->psql('SELECT seq FROM nd_change_seq'), $seq0 + @s,
   'the counter at the newest');

my @wrong;
for my $i (1 .. 100) {
    my $c = get_config($t, dataId => "new-$i", group => 'B');
    my $h = history($t, dataId => "new-$i", group => 'B');
    my $hi = $h->{pageItems}[0] // {};
    push @wrong, "new-$i" unless ($c->{content} // '') eq "new $i"
        && $c->{seq} == $seq{"new $i"} && $h->{totalCount} == 1
        && $hi->{opType} eq 'I' && $hi->{content} eq "new $i"
        && $hi->{seq} == $seq{"new $i"};
}
for my $i (1 .. 20) {
    my $c = get_config($t, dataId => "up-$i", group => 'B');
    my $h = history($t, dataId => "up-$i", group => 'B');
    if ($i % 5 == 0) {
        push @wrong, "up-$i (stale)" unless $c->{content} eq "old $i"
            && $h->{totalCount} == 1;
        next;
    }
    my $hu = $h->{pageItems}[0] // {};
    push @wrong, "up-$i" unless $c->{content} eq "upd $i"
        && $c->{seq} == $seq{"upd $i"} && $h->{totalCount} == 2
        && $hu->{opType} eq 'U' && $hu->{content} eq "old $i"
        && $hu->{seq} == $seq{"upd $i"};
}
ok(!@wrong, 'new configs and updates: rows and history rows as written')
    or diag("@wrong");

# the five writes of one key: in sequence order, each U row holds the
# write before it, and the last one is the row
@twice = sort { $a->[0] <=> $b->[0] } @twice;
my $h = history($t, dataId => 'twice', group => 'B', pageSize => 10);
my @u = sort { $a->{seq} <=> $b->{seq} }
        grep { $_->{opType} eq 'U' } @{ $h->{pageItems} };
is_deeply([ map { [ $_->{seq}, $_->{content} ] } @u ],
          [ map { [ $twice[$_][0],
                    $_ ? $twice[$_ - 1][1] : 'twice v0' ] } 0 .. 4 ],
          'one key five times in a group: each history row the one before');
is(get_config($t, dataId => 'twice', group => 'B')->{content},
   $twice[-1][1], 'and the last write is the row');

my $c = get_config($t, dataId => 'tagged', group => 'B');
is_deeply([ $c->{content}, $c->{configTags} // '' ], [ 'tagged v1', '' ],
          'an update without tags drops the tags (as nd_config_publish)');

is($pg->psql('SELECT count(*) FROM config_info c WHERE NOT EXISTS '
             . '(SELECT 1 FROM his_config_info h '
             . 'WHERE h.change_seq = c.change_seq)'), '0',
   'every row has the history row of its sequence');

# 4. the cache's cursor (every change up to it is cached): our own writes,
# each next to the one before, move it, so the refresh does not read them
# back; a change by another writer is a gap it stays below
my $status = sub {
    return scalar $t->http_json('GET', '/nacos/v1/core/debug/store/status');
};
my $st = $status->();
is_deeply([ $st->{syncSeq}, $st->{lastSeq} ], [ ($seq0 + @s) x 2 ],
          'own writes moved the cache cursor, nothing read back');
$pg->psql("SELECT o_status FROM nd_config_publish('other-node', 'B', '', "
          . "'x', '" . md5_hex('x') . "', 1, '', '', '', '', '', '', '', '', "
          . "'', false, '', '')");
publish($t, dataId => 'after-gap', group => 'B', content => 'y');
$st = $status->();
is_deeply([ $st->{syncSeq}, $st->{lastSeq} ], [ $seq0 + @s, $seq0 + @s + 2 ],
          'a change of another writer: the cursor stays below it');

$t->done_testing;
