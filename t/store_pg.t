# The store suite (t/lib/Test/Nd/StoreSuite.pm) on the PostgreSQL backend,
# against a private PostgreSQL started by Test::Nd::Pg.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd::StoreSuite qw(store_server suite);

my ($t, $pg) = store_server('pg', extra => 'max_content_size 64k;');
suite($t, 'pg');

# the schema is versioned and every write left its history row
my ($newest) = sort { $b <=> $a } map { /^-- version (\d+)$/ ? $1 : () }
    do { local (@ARGV, $/) = (Test::Nd::root() . '/conf/schema/pg.sql'); split /\n/, <> };
is($pg->psql('SELECT max(version) FROM nd_schema_version'), $newest,
   "pg: schema version recorded (the file's newest, $newest)");
is($pg->psql("SELECT character_maximum_length FROM information_schema.columns "
             . "WHERE table_name = 'naming_instance' "
             . "AND column_name = 'service_name'"), '512',
   'pg: a service name holds the 512 bytes the name rules allow');
is($pg->psql('SELECT count(*) FROM config_info c WHERE NOT EXISTS '
             . '(SELECT 1 FROM his_config_info h '
             . 'WHERE h.change_seq = c.change_seq)'), '0',
   'pg: every config row has the history row of its sequence');
is($pg->psql('SELECT seq FROM nd_change_seq'),
   $pg->psql('SELECT max(change_seq) FROM his_config_info'),
   'pg: the sequence counter is the highest history sequence');

$t->done_testing;
