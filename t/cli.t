# Command line: -V, -t, -h, bad options, -c, -s with and without a server.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;

my $t = Test::Nd->new;
my $dir = $t->testdir;
my $conf = $t->write_conf('nacosd.conf', $t->conf);
my @pc = ('-p', "$dir/", '-c', $conf);

# -V
my ($rc, $out) = $t->run_binary('-V');
is($rc, 0, '-V exits 0');
like($out, qr{^nacosd version: nacosd/\d+\.\d+\.\d+\b}m, '-V: version line');
like($out, qr/^configure arguments:/m, '-V: configure arguments line');
my ($mods) = $out =~ /^modules:[ \t]*(.*?)\s*$/m;
ok(defined $mods, '-V: modules line') or diag($out);
my @mods = split ' ', $mods // '';
is_deeply([ @mods[0 .. 2] ], [qw(core event http)],
          '-V: modules start with core event http, in order');
my %seen;
ok(!grep({ $seen{$_}++ } @mods), '-V: no module listed twice');

# -t
($rc, $out) = $t->run_binary(@pc, '-t');
is($rc, 0, '-t on a good conf exits 0') or diag($out);
like($out, qr/the configuration file \Q$conf\E syntax is ok/,
     '-t: syntax is ok');
like($out, qr/configuration file \Q$conf\E test is successful/,
     '-t: test is successful');
unlike($out, qr/\[(?:emerg|error)\]/, '-t: no error lines');
ok(!-e "$dir/logs/nacosd.pid", '-t does not start a server (no pid file)');

my $bad = $t->write_conf('bad.conf', "daemon off;\nno_such_thing 1;\n"
                         . $t->conf);
($rc, $out) = $t->run_binary('-p', "$dir/", '-c', $bad, '-t');
is($rc, 1, '-t on a bad conf exits 1');
like($out, qr/\[emerg\] .*no_such_thing.* in \Q$bad\E:2\b/,
     '-t: [emerg] message with file:line');
like($out, qr/configuration file \Q$bad\E test failed/, '-t: test failed');

# -c with a missing file
($rc, $out) = $t->run_binary('-p', "$dir/", '-c', "$dir/nope.conf", '-t');
is($rc, 1, '-c missing file exits 1');
like($out, qr/\[emerg\].*nope\.conf/, '-c missing file: [emerg] names the file');

# -h
($rc, $out) = $t->run_binary('-h');
is($rc, 0, '-h exits 0');
like($out, qr/usage/i, '-h prints usage');
for my $o (qw(-p -c -g -t -V -s -h)) {
    like($out, qr/(?<![\w-])\Q$o\E\b/, "-h mentions $o");
}

# bad options
for my $args (['-Z'], ['--bogus'], ['-c'], ['-p'], ['-g'], ['-s'],
              ['-s', 'explode'], ['extra-arg']) {
    ($rc, $out) = $t->run_binary(@$args);
    is($rc, 1, "nacosd @$args exits 1");
    like($out, qr/\S/, "nacosd @$args says why");
    unlike($out, qr/successful/, "nacosd @$args does not claim success");
}
($rc, $out) = $t->run_binary('-Z');
like($out, qr/-Z|invalid option/, 'bad option is named');
($rc, $out) = $t->run_binary(@pc, '-s', 'explode');
like($out, qr/explode/, 'bad -s argument is named');

# -s without a running server: no pid file
for my $sig (qw(stop reload reopen)) {
    ($rc, $out) = $t->run_binary(@pc, '-s', $sig);
    is($rc, 1, "-s $sig without a server exits 1");
    like($out, qr/\[(?:emerg|error)\].*nacosd\.pid/,
         "-s $sig without a server: error names the pid file");
}

# a pid file naming a dead process
$t->write_file('logs/nacosd.pid', "999999\n");
($rc, $out) = $t->run_binary(@pc, '-s', 'reload');
is($rc, 1, '-s reload with a stale pid file exits 1');
like($out, qr/\[(?:emerg|error)\]/, '-s with a stale pid file: error line');
unlink "$dir/logs/nacosd.pid";

# -s against a running server
$t->run;
my $pidfile = "$dir/logs/nacosd.pid";
ok($t->wait_for(2, sub { -s $pidfile }), 'pid file written');
is(Test::Nd::_slurp($pidfile) =~ s/\s+//gr, $t->pid, 'pid file holds the pid');

($rc, $out) = $t->run_binary(@pc, '-s', 'reopen');
is($rc, 0, '-s reopen exits 0') or diag($out);
ok($t->running, 'server still running after -s reopen');

($rc, $out) = $t->run_binary(@pc, '-s', 'stop');
is($rc, 0, '-s stop exits 0') or diag($out);
is($t->wait_exit(15), 0, 'server exits 0 after -s stop');

$t->done_testing;
