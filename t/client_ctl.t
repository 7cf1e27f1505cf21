#!/usr/bin/perl
# nacosctl end to end from the shell against a real nacosd (config,
# instance, service, subscribe, listen, cluster/connections/health; exit
# codes 0 / 1 not found / 2 error), then make install into a DESTDIR:
# the header, both libraries and libnacos.pc build docs/client.md's
# example, which registers, subscribes and listens against the server.
use v5.36;
use Test::More;
use File::Spec;
use POSIX ();
use Time::HiRes ();
use lib 't/lib';
use Test::Nd;
use Test::Nd::Client;

my ($t, $addr) = Test::Nd::Client->standalone('nacosctl');
my $dir = $t->testdir;

sub sh ($cmd) { Test::Nd::Client->sh($t, "NACOS_SERVERS=$addr; export NACOS_SERVERS; $cmd") }

# config
my ($rc, $out) = sh('$NACOSCTL config get nope');
is($rc, 1, 'config get of an absent config: exit 1');
like($out, qr/not found/, '... with a message');
($rc, $out) = sh('printf "a: 1\n" | $NACOSCTL config publish app.yaml G --type yaml && $NACOSCTL config get app.yaml G');
is($rc, 0, 'publish from stdin, get: exit 0');
is($out, "a: 1\n", 'the content, as published');
($rc, $out) = sh("printf 'b: 2' > $dir/c.txt && \$NACOSCTL config publish app.yaml G -f $dir/c.txt && \$NACOSCTL --json config get app.yaml G");
like($out, qr/^\{"dataId":"app.yaml","group":"G","md5":"([0-9a-f]{32})","content":"b: 2"\}$/m,
     'publish from a file; --json get');
my ($md5) = $out =~ /"md5":"([0-9a-f]{32})"/;
($rc, $out) = sh('echo x | $NACOSCTL config publish app.yaml G --cas 00000000000000000000000000000000');
is($rc, 2, 'publish with a stale --cas: exit 2');
($rc, $out) = sh("echo c3 | \$NACOSCTL config publish app.yaml G --cas $md5");
is($rc, 0, 'publish with the current md5 as --cas: exit 0');
($rc, $out) = sh('$NACOSCTL config history app.yaml G');
is($rc, 0, 'history: exit 0');
like($out, qr/"pageItems":\[/, 'history lists versions');
($rc, $out) = sh('$NACOSCTL config delete app.yaml G; $NACOSCTL config get app.yaml G');
is($rc, 1, 'deleted, then not found');

# config listen: prints the change it was waiting for
my $pid = fork // die;
if ($pid == 0) {
    local $ENV{NACOSCTL} = Test::Nd::Client->bin('nacosctl');
    exec '/bin/sh', '-c', "\$NACOSCTL -s $addr config listen lk --count 1 > $dir/listen.out 2>&1";
}
my $deadline = Time::HiRes::time() + 10;
while (Time::HiRes::time() < $deadline) {
    my $r = $t->http_json('GET', '/nacos/v1/cs/configs/listener?dataId=lk&group=DEFAULT_GROUP');
    last if %{ $r->{lisentersGroupkeyStatus} // {} };
    Time::HiRes::sleep(0.05);
}
($rc) = sh('echo changed | $NACOSCTL config publish lk');
is($rc, 0, 'published while nacosctl listens');
my $waited = 0;
while ($waited++ < 200 && waitpid($pid, POSIX::WNOHANG()) == 0) {
    Time::HiRes::sleep(0.05);
}
kill 'KILL', $pid if $waited > 200;
is($? >> 8, 0, 'config listen --count 1 exits 0 after the change');
like(Test::Nd::_slurp("$dir/listen.out"), qr/^lk DEFAULT_GROUP changed md5=[0-9a-f]{32}\nchanged\n/m,
     'config listen printed the change');

# naming
($rc, $out) = sh('$NACOSCTL instance register web 10.1.1.1 80 --metadata \'{"v":"1"}\' && $NACOSCTL instance list web');
is($rc, 0, 'instance register (persistent), list: exit 0');
is($out, "10.1.1.1:80\n", 'listed');
($rc, $out) = sh('$NACOSCTL service list');
like($out, qr/"serviceNames":\["web"\]/, 'service list');
($rc, $out) = sh('$NACOSCTL service get web');
like($out, qr/"metadata":\{"v":"1"\}/, 'service get: the ServiceInfo');
($rc, $out) = sh('$NACOSCTL subscribe web --count 1');
is($rc, 0, 'subscribe --count 1: exit 0');
like($out, qr/^web DEFAULT_GROUP changed .*"ip":"10.1.1.1"/m,
     'subscribe printed the host list');
($rc, $out) = sh('$NACOSCTL instance deregister web 10.1.1.1 80 && $NACOSCTL instance list web');
is($out, '', 'deregistered');

# the HTTP views
($rc, $out) = sh('$NACOSCTL cluster members');
like($out, qr/"state":"UP"/, 'cluster members');
($rc, $out) = sh('$NACOSCTL connections');
is($rc, 0, 'connections: exit 0');
($rc, $out) = sh('$NACOSCTL health');
is($rc, 0, 'health: exit 0');

# errors
($rc, $out) = sh('$NACOSCTL -s 127.0.0.1:1 -t 300 config get x');
is($rc, 2, 'no server: exit 2');
like($out, qr/nacosctl: no server ready/, '... and why');
($rc, $out) = sh('$NACOSCTL -s bad config get x');
is($rc, 2, 'a bad server list: exit 2');
# a login the server refuses (auth is off in this node and there is no
# such user); the password comes from the environment
($rc, $out) = sh('NACOS_PASSWORD=p@ss $NACOSCTL -u nacos -t 5000 config get x');
is($rc, 2, 'a refused login: exit 2');
# (refused; or, on a very slow machine, no answer within the 5 s given)
like($out, qr/login as "nacos" at \Q$addr\E: (refused|no answer)/,
     '... and why');
($rc, $out) = sh('setsid $NACOSCTL -u nacos config get x </dev/null');
is($rc, 2, 'a user and no password (no terminal): exit 2');
like($out, qr/no password/, '... and why');

($rc, $out) = sh('$NACOSCTL frobnicate');
is($rc, 2, 'an unknown command: exit 2');
like($out, qr/^usage: nacosctl/m, '... with the usage');

# make install into a DESTDIR, then the example of docs/client.md on it
my $dest = "$dir/dest";
my $b = Test::Nd::builddir();
my ($mrc, $mout) = $t->run_cmd([ 'make', '-s', '-f', "$b/Makefile", 'install',
                                 "DESTDIR=$dest" ],
                               cwd => Test::Nd::root(), timeout => 300);
is($mrc, 0, 'make install DESTDIR=') or diag($mout);
my ($prefix) = `sed -n 's/^prefix=//p' $b/libnacos.pc` =~ /(\S+)/;
my $root = "$dest$prefix";
ok(-f "$root/$_", "installed $_") for qw(include/nacos.h lib/libnacos.a
    lib/libnacos.so lib/pkgconfig/libnacos.pc bin/nacosctl);
my @syms = grep { /\bT\b/ } `nm -D --defined-only $root/lib/libnacos.so`;
is(scalar(grep { !/ nacos_/ } @syms), 0, 'libnacos.so exports nacos_* only');

open my $fh, '<', Test::Nd::root() . '/docs/client.md' or die;
my ($example) = do { local $/; <$fh> } =~ /^```c\n(.*?)^```/ms;
ok($example && $example =~ /nacos_naming_register/, 'the example found');
$t->write_file('example.c', $example);
my $pc = "pkg-config --define-variable=prefix=$root";
local $ENV{PKG_CONFIG_PATH} = "$root/lib/pkgconfig";
my $cflags = `$pc --cflags libnacos`;
my $libs = `$pc --static --libs libnacos`;
chomp($cflags, $libs);
$libs =~ s/(^|\s)-lnacos\b/ $root\/lib\/libnacos.a/;
$libs =~ s/(^|\s)-L\S+//g;
($rc, $out) = $t->run_cmd([ '/bin/sh', '-c', "cc -o $dir/example $dir/example.c $cflags $libs" ]);
is($rc, 0, 'the example builds with the installed header, libnacos.a and '
    . 'the .pc') or diag($out);
($rc, $out) = $t->run_cmd([ '/bin/sh', '-c', "cc -o $dir/example_so $dir/example.c $cflags "
                            . `$pc --libs libnacos` ]);
is($rc, 0, 'and links with libnacos.so') or diag($out);

$pid = fork // die;
if ($pid == 0) {
    open STDOUT, '>', "$dir/example.out";
    open STDERR, '>&', \*STDOUT;
    exec "$dir/example", $addr;
}
$deadline = Time::HiRes::time() + 10;
while (Time::HiRes::time() < $deadline) {
    my $r = $t->http_json('GET', '/nacos/v1/cs/configs/listener?dataId=app.yaml&group=DEFAULT_GROUP');
    my $i = $t->http_json('GET', '/nacos/v1/ns/instance/list?serviceName=orders');
    last if %{ $r->{lisentersGroupkeyStatus} // {} } && @{ $i->{hosts} // [] };
    Time::HiRes::sleep(0.05);
}
($rc) = sh('echo "k: v" | $NACOSCTL config publish app.yaml');
$waited = 0;
while ($waited++ < 200 && waitpid($pid, POSIX::WNOHANG()) == 0) {
    Time::HiRes::sleep(0.05);
}
kill 'KILL', $pid if $waited > 200;
is($? >> 8, 0, 'the example exits 0 after the config changed');
my $eout = Test::Nd::_slurp("$dir/example.out");
like($eout, qr/^service orders: .*"ip":"10\.0\.0\.1","port":8080/m,
     'the example registered and its subscription saw itself');
like($eout, qr/^config app.yaml: k: v$/m, 'its listener saw the change');
unlike($eout, qr/Sanitizer|runtime error/, 'no sanitizer report');

$t->stop;
$t->done_testing;
