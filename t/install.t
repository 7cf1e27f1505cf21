#!/usr/bin/perl
# make install DESTDIR=... [PREFIX=...]: the binary, the confs and the
# schema land where contrib/nacosd.service expects them, an upgrade keeps
# an edited conf, and the installed binary starts from the installed
# prefix with the installed conf (a copy with only the ports changed),
# serves, stores into the prefix's data/ and stops cleanly.
use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep);
use POSIX ();
use Test::Nd;

my $t = Test::Nd->new;
my $root = Test::Nd::root();
my $makefile = Test::Nd::builddir() . '/Makefile';
plan skip_all => "no $makefile (configure first)" unless -f $makefile;

my ($prefix) = Test::Nd::_slurp($makefile) =~ /^ND_PREFIX = (.*)$/m;
ok($prefix, "configured prefix: $prefix");

sub install (@vars) {
    my $out = `cd '$root' && make -s -f '$makefile' install @vars 2>&1`;
    is($?, 0, "make install @vars") or diag $out;
    return $out;
}

my $stage = $t->testdir . '/stage';
install("DESTDIR=$stage");
my $p = "$stage$prefix";
ok(-x "$p/sbin/nacosd", 'sbin/nacosd');
ok(-f "$p/conf/$_", "conf/$_")
    for qw(nacosd.conf schema/sqlite.sql schema/pg.sql cluster/node1.conf);
ok(-d "$p/$_", "$_/") for qw(logs data);

# the unit starts what was installed, from the prefix, with the conf
my $unit = Test::Nd::_slurp("$p/contrib/nacosd.service");
like($unit, qr{^ExecStart=\Q$prefix\E/sbin/nacosd -p \Q$prefix\E/ -c conf/nacosd\.conf$}m,
     'unit: ExecStart is the installed binary, prefix and conf');
like($unit, qr{^ReadWritePaths=\Q$prefix\E/logs \Q$prefix\E/data$}m,
     'unit: writes only logs/ and data/');
like($unit, qr{^$_$}m, "unit: $_")
    for 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes';
like(Test::Nd::_slurp("$p/conf/nacosd.conf"), qr/^daemon\s+off;/m,
     'the installed conf runs in the foreground (Type=simple)');

# an upgrade: a new binary, the edited conf kept
open my $fh, '>>', "$p/conf/nacosd.conf" or die $!;
print $fh "# edited by the operator\n";
close $fh;
my $out = install("DESTDIR=$stage");
like($out, qr{kept \Q$p\E/conf/nacosd\.conf}, 'upgrade: says the conf is kept');
like(Test::Nd::_slurp("$p/conf/nacosd.conf"), qr/edited by the operator/,
     'upgrade: the edited conf is untouched');

# PREFIX= moves everything, the unit included
install("DESTDIR=$stage-opt", 'PREFIX=/opt/nd');
ok(-x "$stage-opt/opt/nd/sbin/nacosd", 'PREFIX=/opt/nd: sbin/nacosd');
like(Test::Nd::_slurp("$stage-opt/opt/nd/contrib/nacosd.service"),
     qr{^ExecStart=/opt/nd/sbin/nacosd -p /opt/nd/ -c conf/nacosd\.conf$}m,
     'PREFIX=/opt/nd: the unit follows');

# systemd's own check of the unit, where systemd is installed: a real
# prefix (no DESTDIR), so the paths it names exist
if (system('systemd-analyze --version >/dev/null 2>&1') == 0) {
    my $real = $t->testdir . '/real';
    install("PREFIX=$real");
    my $v = `systemd-analyze verify '$real/contrib/nacosd.service' 2>&1`;
    is($?, 0, 'systemd-analyze verify accepts the unit') or diag $v;
} else {
    note('no systemd-analyze: the unit is not verified by systemd');
}

# the installed binary, the installed conf (ports moved to free ones)
my $port = $t->port(8848);
my $orig = Test::Nd::_slurp("$p/conf/nacosd.conf");
(my $conf = $orig) =~ s/127\.0\.0\.1:8848/127.0.0.1:$port/g;
like($conf, qr/^\s*listen\s+127\.0\.0\.1:$port;/m, 'test conf: listens on a free port');
(my $back = $conf) =~ s/:$port\b/:8848/g;
is($back, $orig, 'test conf: nothing else changed');
open $fh, '>', "$p/conf/test.conf" or die $!;
print $fh $conf;
close $fh;

my @cmd = ("$p/sbin/nacosd", '-p', "$p/", '-c', 'conf/test.conf');
is(system("@cmd -t >/dev/null 2>&1"), 0, 'nacosd -t: the conf is valid');

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    open STDOUT, '>>', "$p/logs/stderr.log";
    open STDERR, '>&', \*STDOUT;
    exec { $cmd[0] } @cmd or POSIX::_exit(127);
}
my $live;
for (1 .. 200) {
    $live = $t->http_get('/nacos/v1/console/health/liveness', timeout => 1);
    last if $live->{status} == 200 || waitpid($pid, POSIX::WNOHANG()) == $pid;
    sleep 0.05;
}
is($live->{status}, 200, 'the installed nacosd answers liveness');
ok($t->wait_ready(20), 'and is ready (store loaded from the prefix)');
is($t->http_req('POST', '/nacos/v1/cs/configs',
                body => 'dataId=d&group=G&content=x',
                headers => { 'Content-Type' =>
                             'application/x-www-form-urlencoded' })->{body},
   'true', 'a config is published');
ok(-s "$p/data/nacosd.db", 'into data/nacosd.db under the prefix');
ok(-f "$p/logs/nacosd.pid", 'its pid file in logs/');

kill 'TERM', $pid;
my $gone = 0;
for (1 .. 200) {
    if (waitpid($pid, POSIX::WNOHANG()) == $pid) { $gone = 1; last }
    sleep 0.05;
}
ok($gone, 'TERM stops it');
is($? >> 8, 0, 'exit status 0') if $gone;
kill 'KILL', $pid unless $gone;
my $log = Test::Nd::_slurp("$p/logs/error.log")
        . Test::Nd::_slurp("$p/logs/stderr.log");
unlike($log, qr/\[alert\]|ERROR: (?:Address|Leak|Undefined)Sanitizer|runtime error:/,
       'no [alert] or sanitizer report');

done_testing;
