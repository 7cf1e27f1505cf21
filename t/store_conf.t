# store { } directives: bad values are refused at start-up with a clear
# message (nacosd -t), the schema comes from schema_dir or the built-in
# copy, and a broken schema stops the start.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;

my $t = Test::Nd->new;
$t->has('store');

sub check ($store, $re, $name) {
    $t->write_conf('nacosd.conf', $t->conf(extra => "store {\n$store\n}\n"));
    my ($rc, $out) = $t->run_binary('-t', '-p', $t->testdir . '/',
                                    '-c', $t->conf_path);
    isnt($rc, 0, "refused: $name");
    like($out, $re, "message: $name") or diag($out);
}

check('backend mysql;', qr/backend/, 'unknown backend');
check('backend pg;', qr/pg_conninfo/, 'pg without pg_conninfo');
check('backend pg; pg_conninfo "hostaddr=127.0.0.1 password=secret";',
      qr/must not hold a password.*passfile/, 'a password in pg_conninfo');
check('backend pg; pg_conninfo "host=db.example.com dbname=nacos";',
      qr/needs hostaddr=/, 'host= without hostaddr=');
check('backend pg; pg_conninfo "hostaddr=127.0.0.1 bogus=1";',
      qr/not a valid libpq connection string/, 'an unknown libpq keyword');
check('pg_pool 0;', qr/pg_pool.*between 1 and 64/, 'pg_pool 0');
check('pg_pool 65;', qr/pg_pool.*between 1 and 64/, 'pg_pool 65');
check('commit_batch 0;', qr/commit_batch.*between/, 'commit_batch 0');
check('commit_gather 2s;', qr/commit_gather.*at most 1s/, 'commit_gather 2s');
check('query_timeout 10ms;', qr/query_timeout.*at least 100ms/,
      'query_timeout 10ms');
check('pg_reconnect_max 1ms;', qr/pg_reconnect_max.*at least/,
      'pg_reconnect_max 1ms');
check('max_content_size 0;', qr/max_content_size/, 'max_content_size 0');
check('max_content_size 200m;', qr/max_content_size/, 'max_content_size 200m');
check('sqlite_path "";', qr/sqlite_path.*empty/, 'empty sqlite_path');
check("sqlite_path a.db;\n    sqlite_path b.db;", qr/duplicate/,
      'sqlite_path twice');
check('nosuch 1;', qr/unknown directive "nosuch"/, 'unknown directive');

# the built-in schema when the conf dir has no schema/
$t->write_conf('nacosd.conf', $t->conf);
$t->run;
ok($t->wait_ready(10), 'sqlite with the built-in schema: ready');
like($t->error_log, qr/built-in schema sqlite\.sql/,
     'the log says the built-in schema is used');
$t->stop;

# an explicit schema_dir must hold the file; a malformed file stops
for my $case (['missing', undef, qr/cannot read the schema/],
              ['malformed', "CREATE TABLE x (a int);\n-- version 1\n",
               qr/schema .* not applied|malformed/],
              ['broken SQL', "-- version 1\nCREATE TABLE (;\n",
               qr/version 1 failed/]) {
    my ($name, $text, $re) = @$case;
    my $n = Test::Nd->new;
    $n->write_file('myschema/sqlite.sql', $text) if defined $text;
    $n->write_conf('nacosd.conf', $n->conf(
        extra => "store {\n    schema_dir " . $n->testdir . "/myschema;\n}\n"));
    eval { $n->run };
    like($@, qr/exited with status 1/, "$name schema: nacosd does not start");
    like($n->error_log . $n->stderr_log, $re, "$name schema: message");
}

done_testing;
