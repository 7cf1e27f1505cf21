# The README's "by hand" start on a fresh prefix: logs/ (and data/) do not
# exist yet; nacosd makes the directories of its log and pid files (and of
# the SQLite file) instead of failing.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path ();
use Test::More;
use Test::Nd;

my $t = Test::Nd->new;
File::Path::remove_tree($t->testdir . "/$_") for qw(logs data);
ok(!-d $t->testdir . '/logs', 'no logs/ before the start');

$t->run;
ok($t->wait_ready(10), 'started and ready on a fresh prefix');
ok(-f $t->testdir . '/logs/error.log', 'logs/error.log made');
ok(-f $t->testdir . '/logs/nacosd.pid', 'logs/nacosd.pid made');

$t->done_testing;
