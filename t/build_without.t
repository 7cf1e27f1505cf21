# Module removal at configure time: --without-<m> for an optional module
# builds a binary whose -V no longer lists m and which still serves; the
# mandatory http module and unknown modules are refused with a clear message.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;

my $t = Test::Nd->new;
my $root = Test::Nd::root();
my $tmp = $t->testdir;

ok(-f "$root/configure", 'configure exists') or done_testing, exit;

my $main_makefile = Test::Nd::builddir() . '/Makefile';
my $mtime = (stat $main_makefile)[9];

sub configure (@args) {
    return $t->run_cmd([ 'sh', './configure', @args ], cwd => $root,
                       timeout => 300);
}

my ($rc, $help) = configure('--help');
is($rc, 0, 'configure --help exits 0');
my %seen;
my @without = grep { !$seen{$_}++ } $help =~ /--without-(\w+)/g;
note("optional modules: @without");
ok(!grep({ $_ eq 'http' } @without), '--help does not offer --without-http');

# refused: the mandatory module, an unknown one, and --with-debug typos
($rc, my $out) = configure("--builddir=$tmp/objs-nohttp", '--without-http');
isnt($rc, 0, '--without-http fails');
like($out, qr/\bhttp\b.*(?:cannot|mandatory|required|not be)|(?:cannot|mandatory).*\bhttp\b/i,
     '--without-http: message says http cannot be disabled');
ok(!-e "$tmp/objs-nohttp/nacosd", '--without-http: nothing built');

($rc, $out) = configure("--builddir=$tmp/objs-x", '--without-nosuchmod');
isnt($rc, 0, '--without-nosuchmod fails');
like($out, qr/nosuchmod/, '--without-nosuchmod: names the module');

($rc, $out) = configure("--builddir=$tmp/objs-x", '--with-bogus');
isnt($rc, 0, 'unknown option fails');
like($out, qr/--with-bogus/, 'unknown option: names the option');

# requires: find "X requires Y" among the modules in this tree
my %requires;
for my $cfg (glob "$root/src/modules/*/config") {
    my ($m) = $cfg =~ m{/modules/([^/]+)/config$};
    my ($req) = Test::Nd::_slurp($cfg)
        =~ /^\s*nd_module_requires=["']?([^"'\n]*)/m;
    $requires{$m} = [ split ' ', $req // '' ];
}
my @optional = grep { exists $requires{$_} } @without;
my ($needer, $needed);
for my $m (sort keys %requires) {
    for my $r (@{ $requires{$m} }) {
        ($needer, $needed) = ($m, $r) if grep { $_ eq $r } @optional;
    }
}
SKIP: {
    skip 'no optional module is required by another one yet', 2
        unless $needer;
    ($rc, $out) = configure("--builddir=$tmp/objs-req", "--without-$needed");
    isnt($rc, 0, "--without-$needed fails ($needer requires it)");
    like($out, qr/\b$needer\b.*\b$needed\b.*--without-$needer/,
         "--without-$needed: says to also pass --without-$needer");
}

# every module --help offers is a module --without- takes, all at once
# (a word at the end of a line of the module list was once "unknown")
($rc, $out) = configure("--builddir=$tmp/objs-none",
                        map { "--without-$_" } @without);
is($rc, 0, 'every module --help offers can be left out, all at once')
    or diag($out);

is((stat $main_makefile)[9], $mtime,
   'configure with --builddir leaves the main build alone');

# build without an optional module nobody requires (the last in order)
my %required = map { $_ => 1 } map { @$_ } values %requires;
my ($drop) = reverse grep { !$required{$_} } @optional;

SKIP: {
    skip 'no optional module in this tree yet (only http, mandatory)', 7
        unless $drop;
    # the same compiler options as the main build (CI: debug + asan)
    my $args = $t->version_info->{configure} // '';
    my (undef, $words) = $t->run_cmd(
        [ 'sh', '-c', "set -- $args; for a; do printf '%s\\n' \"\$a\"; done" ]);
    my @keep = grep { /^--with-/ } split /\n/, $words;
    my $bdir = "$tmp/objs";
    ($rc, $out) = configure("--builddir=$bdir", @keep, "--without-$drop");
    is($rc, 0, "configure --without-$drop") or diag($out);
    ($rc, $out) = $t->run_cmd([ 'make', '-j2', '-f', "$bdir/Makefile", 'build' ],
                              cwd => $root, timeout => 900);
    is($rc, 0, "build --without-$drop") or diag($out);
    skip 'build failed', 5 if $rc;

    my $n = Test::Nd->new(bin => "$bdir/nacosd");
    my @mods = $n->modules;
    ok(!grep({ $_ eq $drop } @mods), "-V no longer lists $drop");
    is_deeply([ @mods[0 .. 2] ], [qw(core event http)], '-V still lists core event http');
    like($n->version_info->{configure}, qr/--without-$drop\b/,
         '-V configure arguments show --without-' . $drop);
    $n->run;
    is($n->http_get('/nacos/v1/console/health/liveness')->{status}, 200,
       "the binary without $drop serves liveness");
    $n->stop;
}

done_testing;
