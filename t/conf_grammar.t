# Conf grammar: a valid conf using every syntax feature passes -t and serves;
# each error path exits 1 with "[emerg] ... in <file>:<line>".

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;

my $t = Test::Nd->new(conf => 'conf/nacosd.conf');
my $dir = $t->testdir;

sub conf_test ($path, @extra) {
    return $t->run_binary('-p', "$dir/", '-c', $path, '-t', @extra);
}

# --- valid: include (relative to the conf dir), quotes, comments, units ---

$t->write_conf('conf/http.d/listen.conf', <<'C');
# included from conf/nacosd.conf
listen 127.0.0.1:%%PORT_8848%%;   # trailing comment
C
my $good = $t->write_conf('conf/nacosd.conf', <<'C');
# a comment line
daemon off;            # after a directive
pid "logs/nacosd.pid";
error_log
    'logs/error.log'
    info;

events {
    # inside a block
    shutdown_timeout 1500ms;
}

http {
    include "http.d/listen.conf";
    context_path "/nacos";
    access_log "logs/acc#ess.log";
    keepalive_timeout 1m;
    client_header_timeout 30s;
    client_body_timeout 1h;
    client_max_body_size 1g;
    client_header_max_size 16k;
}
C
my ($rc, $out) = conf_test($good);
is($rc, 0, 'valid conf: -t exits 0') or diag($out);
like($out, qr/syntax is ok/, 'valid conf: syntax is ok');

for my $v (qw(250ms 10s 2m 1h 1d)) {
    my $p = $t->write_conf('conf/u.conf',
                           $t->conf(events => "shutdown_timeout $v;"));
    ($rc, $out) = conf_test($p);
    is($rc, 0, "time value $v accepted") or diag($out);
}
for my $v (qw(512 10k 8m 1g)) {
    my $p = $t->write_conf('conf/u.conf',
                           $t->conf(http => "client_max_body_size $v;"));
    ($rc, $out) = conf_test($p);
    is($rc, 0, "size value $v accepted") or diag($out);
}

# the valid conf serves: listen came from the include, logs from the prefix
$t->run;
my $r = $t->http_get('/nacos/v1/console/health/liveness');
is($r->{status}, 200, 'conf with include serves liveness');
ok(-f "$dir/logs/error.log", 'error_log path is relative to the prefix');
ok($t->wait_for(3, sub { -e "$dir/logs/acc#ess.log" }),
   '"#" inside quotes is part of the argument, not a comment');
$t->stop;

# --- -g ---------------------------------------------------------------------

my $nolog = $t->write_conf('conf/nacosd.conf',
                           $t->conf =~ s/^error_log .*\n//mr);
($rc, $out) = conf_test($nolog, '-g', 'error_log logs/g.log debug;');
is($rc, 0, '-g "error_log logs/g.log debug;" passes -t') or diag($out);
$t->run('-g', 'error_log logs/g.log debug;');
ok(-f "$dir/logs/g.log", '-g error_log opens logs/g.log');
$t->stop;

for my $g ('bogus_g_directive on;', 'error_log logs/g.log debug',
           'error_log logs/g.log loud;', 'listen 127.0.0.1:1;') {
    ($rc, $out) = conf_test($nolog, '-g', $g);
    is($rc, 1, "bad -g '$g' exits 1");
    like($out, qr/\[emerg\]/, "bad -g '$g': [emerg]");
}
($rc, $out) = conf_test($nolog, '-g', 'bogus_g_directive on;');
like($out, qr/bogus_g_directive/, 'bad -g: names the directive');

# --- error paths ------------------------------------------------------------
# The line ending in "#!" is the one the error must point at (the marker is
# removed before writing). With "eof", the file has no final newline and
# the error is on its last line.

my $http = "http {\n    listen 127.0.0.1:%%PORT_8848%%;\n}\n";
my $head = "daemon off;\nerror_log logs/error.log info;\n";

my @cases = (
  ['unknown directive', qr/bogus_directive/, "$head bogus_directive on; #!\n$http"],
  ['unknown directive in http', qr/bogus_in_http/,
   "$head" . "http {\n    listen 127.0.0.1:%%PORT_8848%%;\n    bogus_in_http 1; #!\n}\n"],
  ['unknown directive in events', qr/frobnicate/,
   "$head" . "events {\n    frobnicate; #!\n}\n$http"],
  ['http directive at main level', qr/keepalive_timeout/,
   "$head keepalive_timeout 5s; #!\n$http"],
  ['main directive inside http', qr/daemon/,
   "error_log logs/error.log info;\nhttp {\n    listen 127.0.0.1:%%PORT_8848%%;\n    daemon off; #!\n}\n"],
  ['events directive inside http', qr/shutdown_timeout/,
   "$head" . "http {\n    shutdown_timeout 1s; #!\n    listen 127.0.0.1:%%PORT_8848%%;\n}\n"],
  ['http block inside http', qr/http/,
   "$head" . "http {\n    listen 127.0.0.1:%%PORT_8848%%;\n    http { #!\n    }\n}\n"],
  ['block directive without a block', qr/events/, "$head" . "events; #!\n$http"],
  ['simple directive with a block', qr/daemon/,
   "error_log logs/error.log info;\ndaemon { #!\n}\n$http"],
  ['missing ";" before "}"', qr/[;}]/,
   "$head" . "http { listen 127.0.0.1:%%PORT_8848%% } #!\n"],
  ['missing ";" before a block', qr/pid|events|;/,
   "$head" . "pid logs/nacosd.pid events { } #!\n$http"],
  ['missing ";" at end of file', qr/end of file|;/,
   "error_log logs/error.log info;\n$http" . "daemon off #!", 'eof'],
  ['unexpected "}"', qr/}/, "$head$http} #!\n"],
  ['unclosed block', qr/end of file|}/,
   "$head" . "http {\n    listen 127.0.0.1:%%PORT_8848%%; #!", 'eof'],
  ['unclosed quote', qr/end of file|quot|"/,
   "$head$http" . 'pid "logs/nacosd.pid; #!', 'eof'],
  ['no arguments', qr/daemon/, "error_log logs/error.log info;\ndaemon; #!\n$http"],
  ['too many arguments', qr/pid/, "$head" . "pid a b; #!\n$http"],
  ['listen without address', qr/listen/,
   "$head" . "http {\n    listen; #!\n}\n"],
  ['invalid flag value', qr/perhaps|daemon/,
   "error_log logs/error.log info;\ndaemon perhaps; #!\n$http"],
  ['invalid time value', qr/5x|keepalive_timeout/,
   "$head" . "http {\n    listen 127.0.0.1:%%PORT_8848%%;\n    keepalive_timeout 5x; #!\n}\n"],
  ['negative time value', qr/-1s|client_header_timeout/,
   "$head" . "http {\n    listen 127.0.0.1:%%PORT_8848%%;\n    client_header_timeout -1s; #!\n}\n"],
  ['invalid time in events', qr/abc|shutdown_timeout/,
   "$head" . "events {\n    shutdown_timeout abc; #!\n}\n$http"],
  ['invalid size value', qr/10q|client_max_body_size/,
   "$head" . "http {\n    listen 127.0.0.1:%%PORT_8848%%;\n    client_max_body_size 10q; #!\n}\n"],
  ['size unit without number', qr/client_header_max_size|"k"/,
   "$head" . "http {\n    listen 127.0.0.1:%%PORT_8848%%;\n    client_header_max_size k; #!\n}\n"],
  ['listen: bad IPv4', qr/999\.1\.1\.1|listen/,
   "$head" . "http {\n    listen 999.1.1.1:80; #!\n}\n"],
  ['listen: port out of range', qr/99999|listen/,
   "$head" . "http {\n    listen 127.0.0.1:99999; #!\n}\n"],
  ['listen: port not a number', qr/abc|listen/,
   "$head" . "http {\n    listen 127.0.0.1:abc; #!\n}\n"],
  ['listen: empty port', qr/listen/,
   "$head" . "http {\n    listen 127.0.0.1:; #!\n}\n"],
  ['include of a missing file', qr/nothere\.conf/,
   "$head" . "include nothere.conf; #!\n$http"],
  ['duplicate directive', qr/duplicate|already/i,
   "$head" . "http {\n    listen 127.0.0.1:%%PORT_8848%%;\n    keepalive_timeout 5s;\n    keepalive_timeout 6s; #!\n}\n"],
  ['duplicate main directive', qr/duplicate|already/i,
   "$head" . "daemon off; #!\n$http"],
  ['duplicate block', qr/duplicate|already|events/i,
   "$head" . "events { }\nevents { } #!\n$http"],
  ['invalid log level', qr/loud/, "daemon off;\nerror_log logs/error.log loud; #!\n$http"],
);

for my $c (@cases) {
    my ($desc, $re, $text, $eof) = @$c;
    my @lines = split /\n/, $text, -1;
    my ($line) = grep { $lines[$_ - 1] =~ /#!\s*$/ } 1 .. @lines;
    die "case '$desc' has no #! marker" unless $line;
    $text =~ s/\s*#!//;
    $text =~ s/\n\z// if $eof;
    my $path = $t->write_conf('conf/bad.conf', $text);
    ($rc, $out) = conf_test($path);
    subtest $desc => sub {
        is($rc, 1, 'exit 1');
        like($out, qr/\[emerg\] /, '[emerg]');
        like($out, qr/\[emerg\] .* in \Q$path\E:$line\b/, "in bad.conf:$line");
        like($out, qr/\[emerg\] .*$re/, "message matches $re");
        like($out, qr/test failed/, 'test failed');
        unlike($out, qr/test is successful/, 'not successful');
    } or diag($out);
}

# an error inside an included file points at that file and its line
$t->write_conf('conf/inc/bad.conf', "keepalive_timeout 1s;\nbogus_inc on;\n");
my $inc = $t->write_conf('conf/with_inc.conf', "$head" . "http {\n"
    . "    listen 127.0.0.1:%%PORT_8848%%;\n    include inc/bad.conf;\n}\n");
($rc, $out) = conf_test($inc);
is($rc, 1, 'error in included file: exit 1');
like($out, qr/\[emerg\] .*bogus_inc.* in \Q$dir\E\/conf\/inc\/bad\.conf:2\b/,
     'error in included file: file and line of the included file');

$t->done_testing;
