#!/usr/bin/perl
# Warm start on PostgreSQL (a private one, Test::Nd::Pg; under CI=true a
# PostgreSQL that cannot start fails the test): readiness waits for the
# whole cache load (docs/store.md), which reads the tables in any order.
# Rows written straight into them by another writer (formal rows, a tag,
# a beta) are all there when the node is ready; a publish after it wins
# and survives kill -9.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Pg;

my $t = Test::Nd->new;
$t->has(qw(store config));
my $pg = Test::Nd::Pg->start_or_skip;

my $N = 3000;
my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "store {\n    schema_dir $schema;\n    backend pg;\n"
           . '    pg_conninfo "' . $pg->conninfo . "\";\n}\n"));
my $form = { 'Content-Type' => 'application/x-www-form-urlencoded' };
sub get ($d, $more = '') {
    return $t->http_req('GET', "/nacos/v1/cs/configs?dataId=$d&group=G$more");
}

$t->run;
ok($t->wait_ready(30), 'empty node ready (schema)');
$t->stop;

# the sequence is taken as the store's writers take it
$pg->psql(
    "INSERT INTO config_info (data_id, group_id, tenant_id, content, md5, "
  . "gmt_create, gmt_modified, src_ip, app_name, type, change_seq) "
  . "SELECT 'w-' || i, 'G', '', 'c-' || i, md5('c-' || i), 1700000000000, "
  . "1700000000000, '127.0.0.1', '', 'text', $N + 1 - i "
  . "FROM generate_series(1, $N) i; "
  . "INSERT INTO config_tags_relation (id, tag_name, data_id, group_id) "
  . "SELECT id, 't1', data_id, group_id FROM config_info "
  . "WHERE data_id = 'w-2999'; "
  . "INSERT INTO config_info_gray (data_id, group_id, tenant_id, gray_name, "
  . "gray_rule, content, md5, gmt_create, gmt_modified, change_seq) "
  . "VALUES ('w-2998', 'G', '', 'beta', '{\"type\":\"beta\",\"version\":"
  . "\"1.0.0\",\"expr\":\"127.0.0.1\",\"priority\":2147483647}', "
  . "'beta-2998', md5('beta-2998'), 1700000000000, 1700000000000, "
  . "$N + 1); "
  . "UPDATE nd_change_seq SET seq = $N + 1");

$t->run;
ok($t->wait_ready(30), 'ready on the filled tables');
my $m = $t->http_req('GET', '/nacos/actuator/prometheus')->{body};
like($m, qr/name="configCount"\} ${\ ($N + 1)}\b/,
     'ready once every row is cached (formal rows and the beta)');
is(get('w-1')->{body}, 'c-1', 'the first row');
is(get("w-$N")->{body}, "c-$N", 'the last row');
is(get('w-absent')->{status}, 404, 'an absent key');
is(get('w-2998')->{body}, 'beta-2998', 'the beta, for its address');
my $all = $t->http_json('GET', '/nacos/v1/cs/configs?dataId=w-2999&group=G'
                        . '&show=all');
is($all->{configTags}, 't1', 'the tag');

my $r = $t->http_req('POST', '/nacos/v1/cs/configs', headers => $form,
                     body => "dataId=w-$N&group=G&content=new");
is($r->{body}, 'true', 'publish');
is(get("w-$N")->{body}, 'new', 'read back');
$t->kill('KILL');
$t->run;
ok($t->wait_ready(30), 'restarted after kill -9');
is(get("w-$N")->{body}, 'new', 'the publish is kept');
is(get('w-2')->{body}, 'c-2', 'and the loaded rows');

$t->done_testing;
