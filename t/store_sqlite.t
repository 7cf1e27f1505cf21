# The store suite (t/lib/Test/Nd/StoreSuite.pm) on the embedded SQLite
# backend, through the debug routes.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd::StoreSuite qw(store_server suite);

my ($t) = store_server('sqlite', extra => 'max_content_size 64k;');
suite($t, 'sqlite');

ok(-f $t->testdir . '/data/nacosd.db', 'sqlite: database file under the prefix');
ok(-f $t->testdir . '/data/nacosd.db-wal', 'sqlite: WAL mode');

$t->done_testing;
