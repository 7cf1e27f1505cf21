# C unit tests: every executable under <builddir>/t/unit/ prints TAP; each
# one becomes a subtest here. A binary that exits non-zero, prints "not ok",
# breaks its plan, or no binary at all, is a failure.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Find ();
use File::Spec;
use IO::Select;
use POSIX ();
use Time::HiRes ();
use Test::More;
use Test::Nd ();

my $dir = File::Spec->catdir(Test::Nd::builddir(), 't', 'unit');
my @bins;
File::Find::find({ no_chdir => 1, wanted => sub {
    push @bins, $_ if -f $_ && -x _ && !/\.(?:o|d|a|so|c|h)$/;
} }, $dir) if -d $dir;
@bins = sort @bins;

ok(scalar @bins, "unit test binaries exist under $dir (make unit)")
    or done_testing, exit;


sub run_bin ($bin) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        no warnings 'exec';
        close $r;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>&', $w;
        open STDERR, '>&', $w;
        chdir Test::Nd::root();
        exec { $bin } $bin;
        print "exec $bin: $!\n";
        POSIX::_exit(127);
    }
    close $w;
    my ($out, $timeout) = ('', 120);
    my $sel = IO::Select->new($r);
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $left = $deadline - Time::HiRes::time();
        if ($left <= 0) {
            kill 'KILL', $pid;
            $out .= "# killed after ${timeout}s\n";
            last;
        }
        next unless $sel->can_read($left);
        my $n = sysread($r, my $buf, 65536);
        last unless $n;
        $out .= $buf;
    }
    close $r;
    waitpid($pid, 0);
    my $st = $?;
    my $code = ($st & 0x7f) ? 128 + ($st & 0x7f) : $st >> 8;
    return ($code, $out);
}


for my $bin (@bins) {
    my $name = File::Spec->abs2rel($bin, $dir);
    my ($code, $out) = run_bin($bin);

    subtest $name => sub {
        my ($plan, $skip, $count) = (undef, undef, 0);
        for my $line (split /\n/, $out) {
            if ($line =~ /^1\.\.(\d+)(?:\s*#\s*(?i:skip)\S*\s*(.*))?/) {
                ($plan, $skip) = ($1, $2);
            } elsif ($line =~ /^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?([^#]*)(#.*)?$/) {
                my ($not, $num, $desc, $dir) =
                    ($1, $2 // $count + 1, $3, $4 // '');
                $count++;
                $desc =~ s/\s+$//;
                $desc = "test $num: $desc" if $desc =~ /^[\d\s]*$/;
                if ($dir =~ /^#\s*(todo|skip)\b/i) {
                    (my $why = $dir) =~ s/^#\s*//;
                    ok(1, "$desc ($why)");
                } else {
                    ok(!$not, $desc);
                }
            } elsif ($line =~ /^\s*#/) {
                note($line);
            } elsif ($line =~ /\S/) {
                diag($line);     # stray output, e.g. a sanitizer report
            }
        }
        if (defined $plan && $plan == 0 && defined $skip) {
            plan(skip_all => $skip || "$name skipped");
        }
        ok(defined $plan, "$name printed a plan");
        is($count, $plan, "$name ran as many tests as planned")
            if defined $plan;
        ok($count > 0, "$name ran at least one test");
        is($code, 0, "$name exited 0");
        unlike($out, qr/AddressSanitizer|LeakSanitizer|runtime error:/,
               "$name: no sanitizer report");
    };
}

done_testing;
