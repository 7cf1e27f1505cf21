# libpq is loaded on demand: a SQLite node never maps it, a pg node
# does (and says which one), and a libpq that cannot be loaded or lacks a
# function stops the start with a clear message, never a crash.

use v5.36;
use Cwd ();
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Pg;
use Test::Nd::StoreSuite qw(store_conf);

my $t = Test::Nd->new;
$t->has('store');

plan(skip_all => 'needs /proc/<pid>/maps') unless -r "/proc/$$/maps";

sub maps ($n) {
    open my $fh, '<', '/proc/' . $n->pid . '/maps' or die "maps: $!";
    local $/;
    return <$fh>;
}

sub libpq_lines ($maps) {
    return grep { m{/libpq\.so} } split /\n/, $maps;
}

# a SQLite node: no libpq, even with a pg_library that does not exist
$t->write_conf('nacosd.conf', store_conf($t, 'sqlite', undef,
               'pg_library /nonexistent/libpq.so.5;'));
$t->run;
ok($t->wait_ready(20), 'sqlite: ready');
my @pq = libpq_lines(maps($t));
is(scalar @pq, 0, 'sqlite: libpq is not mapped') or diag(join "\n", @pq);
unlike($t->error_log, qr/libpq/, 'sqlite: the log does not mention libpq');
$t->stop;

# -t: a library that cannot be loaded, one without the libpq functions,
# a relative path (from the prefix)
sub check ($lib, $re, $name) {
    my $n = Test::Nd->new;
    $n->write_conf('nacosd.conf', $n->conf(extra => "store {\n"
        . "    backend pg;\n    pg_conninfo \"hostaddr=127.0.0.1\";\n"
        . "    pg_library $lib;\n}\n"));
    my ($rc, $out) = $n->run_binary('-t', '-p', $n->testdir . '/',
                                    '-c', $n->conf_path);
    is($rc, 1, "$name: refused, exit status 1") or diag($out);
    like($out, $re, "$name: message") or diag($out);
    return $n;
}

my $missing = '"backend pg" cannot load libpq '
            . '\("/nonexistent/libpq\.so\.5"\): .*No such file.*; '
            . 'install the libpq5 package';
check('/nonexistent/libpq.so.5', qr/$missing/, 'a missing library');
check('lib/libpq.so.5', qr{cannot load libpq \("/\S+/lib/libpq\.so\.5"\)},
      'a relative path is taken from the prefix');
check('libm.so.6', qr{"libm\.so\.6" has no PQ\w+; libpq 14 or later .*libpq5},
      'a library without the libpq functions');

# the real start fails the same way: exit status 1, no signal
{
    my $b = Test::Nd->new;
    $b->write_conf('nacosd.conf', $b->conf(extra => "store {\n"
        . "    backend pg;\n    pg_conninfo \"hostaddr=127.0.0.1\";\n"
        . "    pg_library libm.so.6;\n}\n"));
    eval { $b->run };
    like($@, qr/exited with status 1 /, 'start with a bad libpq: exit 1');
    like($b->stderr_log, qr/has no PQ\w+/, 'start with a bad libpq: message');
}

# a pg node: libpq mapped, and the log says which one
my $pg = Test::Nd::Pg->start_or_skip;
my $p = Test::Nd->new;
$p->write_conf('nacosd.conf', store_conf($p, 'pg', $pg));
$p->run;
ok($p->wait_ready(20), 'pg: ready') or diag($p->error_log);
@pq = libpq_lines(maps($p));
ok(scalar @pq, 'pg: libpq is mapped');
my ($path) = $pq[0] =~ m{(/\S+)$};
my ($logged) = $p->error_log
    =~ m{\[info\] .*pg: libpq \d+\.\d+ from "([^"]+)"};
ok(defined $logged && Cwd::realpath($logged) eq $path,
   'pg: the log names the libpq loaded')
    or diag("logged: " . ($logged // 'nothing') . ", mapped: $path");
$p->stop;

# pg_library naming that same file by its path works
my $q = Test::Nd->new;
$q->write_conf('nacosd.conf', $q->conf(extra => "store {\n"
    . "    backend pg;\n    pg_conninfo \"hostaddr=127.0.0.1\";\n"
    . "    pg_library $path;\n}\n"));
my ($rc, $out) = $q->run_binary('-t', '-p', $q->testdir . '/',
                                '-c', $q->conf_path);
is($rc, 0, 'pg_library with the path of the real libpq: accepted')
    or diag($out);

done_testing;
