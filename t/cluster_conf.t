# cluster { } in the conf: each error (self not a member, a duplicate
# member, more than one member on SQLite, a bad address) stops nacosd -t
# and the start with "[emerg] ... in <file>:<line>"; a good conf passes;
# members_file reads Nacos' cluster.conf format (comments, comma lists,
# port 8848 by default).  nacosd -t does not connect to PostgreSQL, so no
# server is needed here.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Cluster;

my $t = Test::Nd::Cluster->require_modules(Test::Nd->new);
my $dir = $t->testdir;
my $P = $t->port;
my ($Q1, $Q2, $Q3, $PG) = map { Test::Nd::free_port() } 1 .. 4;
my $path = "$dir/nacosd.conf";

my $pg = "store {\n    backend pg;\n"
       . "    pg_conninfo \"hostaddr=127.0.0.1 port=$PG dbname=nacos "
       . "user=postgres\";\n}\n";
my $sqlite = "store {\n    backend sqlite;\n"
           . "    sqlite_path data/nacosd.db;\n}\n";

sub conf_with ($store, $cluster) {
    return $t->conf(extra => $store . "cluster {\n$cluster}\n");
}

sub line_of ($text, $re) {
    my @l = split /\n/, $text;
    for my $i (0 .. $#l) { return $i + 1 if $l[$i] =~ $re }
    die "no line matches $re";
}

sub conf_test () {
    return $t->run_binary('-p', "$dir/", '-c', $path, '-t');
}

# a refused conf: exit != 0, [emerg] with $re, "in <file>:<line>" (the line
# itself when $line is given)
sub refused ($name, $text, $re, $line = undef, $file = $path) {
    $t->write_conf('nacosd.conf', $text);
    my ($rc, $out) = conf_test();
    subtest "refused: $name" => sub {
        isnt($rc, 0, 'nacosd -t exits non-zero');
        like($out, qr/\[emerg\] .*$re/, "[emerg] message matches $re");
        like($out, qr/\[emerg\] .* in \Q$file\E:\d+/, 'names file:line');
        like($out, qr/\[emerg\] .* in \Q$file\E:$line\b/, "at line $line")
            if defined $line;
        like($out, qr/test failed/, 'test failed');
    } or diag($out);
}

my $m = "    member 127.0.0.1:$P;\n    member 127.0.0.1:$Q1;\n"
      . "    member 127.0.0.1:$Q2;\n";

# ---- errors -------------------------------------------------------------------

refused('the HTTP listen address is not a member',
        conf_with($pg, "    member 127.0.0.1:$Q1;\n    member 127.0.0.1:$Q2;\n"),
        qr/self|member|127\.0\.0\.1:$P/);

refused('"self" is not a member',
        conf_with($pg, $m . "    self 127.0.0.1:$Q3;\n"),
        qr/self|member|127\.0\.0\.1:$Q3/);

my $text = conf_with($pg, $m . "    member 127.0.0.1:$Q1;\n");
refused('a duplicate member', $text, qr/(?i:duplicate)|127\.0\.0\.1:$Q1/);

refused('two members on backend sqlite', conf_with($sqlite, $m),
        qr/sqlite/i);
refused('two members and no store block (SQLite by default)',
        $t->conf(extra => "cluster {\n$m}\n"), qr/sqlite|store/i);

$text = conf_with($pg, $m . "    member 127.0.0.1:99999;\n");
refused('a member port over 65535', $text, qr/99999|port|invalid/i,
        line_of($text, qr/member 127\.0\.0\.1:99999/));

$text = conf_with($pg, $m . "    member nohost;\n");
refused('a member that is not an address', $text, qr/nohost/,
        line_of($text, qr/member nohost/));

$text = conf_with($pg, $m =~ s/(:$Q2);/$1 rpc=127.0.0.1:99999;/r);
refused('a bad rpc= address', $text, qr/99999|rpc|port|invalid/i,
        line_of($text, qr/rpc=/));

# and at start, not only with -t
$t->write_conf('nacosd.conf', conf_with($pg, $m . "    member 127.0.0.1:$Q1;\n"));
eval { $t->run };
like($@, qr/exited with status [1-9]/, 'a duplicate member: nacosd does not start');
like($t->error_log . $t->stderr_log,
     qr/\[emerg\] .*(?:(?i:duplicate)|127\.0\.0\.1:$Q1).* in \Q$path\E:\d+/,
     'the start says what and where');

# ---- good confs -----------------------------------------------------------------

sub accepted ($name, $text) {
    $t->write_conf('nacosd.conf', $text);
    my ($rc, $out) = conf_test();
    ok($rc == 0 && $out =~ /test is successful/, "accepted: $name")
        or diag($out);
}

accepted('three members on pg', conf_with($pg, $m));
accepted('rpc= on members, every directive at its default value',
         conf_with($pg, "    member 127.0.0.1:$P;\n"
                      . "    member 127.0.0.1:$Q1 rpc=127.0.0.1:$Q3;\n"
                      . "    member 127.0.0.1:$Q2;\n"
                      . "    self 127.0.0.1:$P;\n"
                      . "    listen 127.0.0.1:" . ($P + 1001) . ";\n"
                      . "    report_interval 2s;\n"
                      . "    unhealthy_report_interval 5s;\n"
                      . "    call_timeout 3s;\n"));
accepted('shortened intervals (as the cluster tests use)',
         conf_with($pg, $m . "    report_interval 500ms;\n"
                           . "    unhealthy_report_interval 1s;\n"
                           . "    call_timeout 1s;\n"));

# ---- members_file: Nacos cluster.conf -------------------------------------------

my $mf = conf_with($pg, "    members_file conf/cluster.conf;\n");

$t->write_file('conf/cluster.conf', <<"F");
#2026-12-06 12:00:00,000 written by nacos
127.0.0.1:$P
# 127.0.0.1:$Q3 commented out
127.0.0.1:$Q1,127.0.0.1:$Q2    # two on one line, a trailing comment

F
accepted('members_file: comments, a comma list, a blank line', $mf);

$t->write_file('conf/cluster.conf', "127.0.0.1:$P,127.0.0.1:$Q1,127.0.0.1\n");
accepted('members_file: a member without a port', $mf);

# the port defaults to 8848: "127.0.0.1" and "127.0.0.1:8848" are one
$t->write_file('conf/cluster.conf', "127.0.0.1:$P\n127.0.0.1\n127.0.0.1:8848\n");
refused('members_file: "127.0.0.1" and "127.0.0.1:8848" (port 8848 by default)',
        $mf, qr/(?i:duplicate)|8848/);

$t->write_file('conf/cluster.conf', "127.0.0.1:$Q1\n127.0.0.1:$Q2\n");
refused('members_file: self not listed', $mf, qr/self|member|127\.0\.0\.1:$P/);

$t->write_file('conf/cluster.conf', "127.0.0.1:$P\n127.0.0.1:99999\n");
$t->write_conf('nacosd.conf', $mf);
my ($rc, $out) = conf_test();
isnt($rc, 0, 'members_file with a bad port: refused');
like($out, qr/\[emerg\] .*(?i:99999|port|invalid).* in \S+:\d+/,
     'members_file with a bad port: what and file:line') or diag($out);

unlink "$dir/conf/cluster.conf";
($rc, $out) = conf_test();
isnt($rc, 0, 'members_file missing: refused');
like($out, qr/\[emerg\] .*cluster\.conf/, 'members_file missing: names it')
    or diag($out);

done_testing;
