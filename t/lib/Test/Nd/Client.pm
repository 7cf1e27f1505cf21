package Test::Nd::Client;

# libnacos and nacosctl from tests: the step driver t/client/nd_client_drive.c
# and the nacosctl binary, both run to completion with their output (stdout
# and stderr together) checked for sanitizer reports.
#
#     my $out = Test::Nd::Client->drive($t, '-l', 60000, $servers,
#                                       qw(ready listen k G wait_listens));
#     my ($rc, $out) = Test::Nd::Client->ctl($t, '-s', $addr, qw(config get k));
use v5.36;
use File::Spec;
use Test::More ();
use Test::Nd;

my $BAD = qr/AddressSanitizer|LeakSanitizer|runtime error:/;


sub bin ($class, $name) {
    my $path = $name eq 'nacosctl'
        ? File::Spec->catfile(Test::Nd::builddir(), 'nacosctl')
        : File::Spec->catfile(Test::Nd::builddir(), 't', 'client', $name);
    return -x $path ? $path : undef;
}


# skip_all unless the client was built (the grpc module, no
# --without-client, and make unit for the driver)
sub require_built ($class, @names) {
    for my $n (@names) {
        Test::More::plan(skip_all => "$n not built (make build unit)")
            unless $class->bin($n);
    }
}


# a standalone nacosd with the SDK port (skips without its modules or the
# client programs): ($t, "127.0.0.1:PORT")
sub standalone ($class, @programs) {
    my $t = Test::Nd->new;
    $t->has(qw(grpc store config naming conn_limit));
    $class->require_built(@programs);
    my $schema = Test::Nd::root() . '/conf/schema';
    $t->write_conf('nacosd.conf', $t->conf(
        extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
               . "store {\n    schema_dir $schema;\n}\n"));
    $t->run;
    Test::More::ok($t->wait_ready(20), 'nacosd ready');
    return ($t, '127.0.0.1:' . $t->port);
}


sub _run ($class, $t, $bin, $args, %opt) {
    my ($rc, $out) = $t->run_cmd([ $class->bin($bin), @$args ],
                                 timeout => $opt{timeout} // 60,
                                 cwd => $t->testdir);
    my @bad = grep { /$BAD/ } split /\n/, $out;
    Test::More::ok(!@bad, "$bin @$args[0 .. 1]: no sanitizer report")
        or Test::More::diag($out);
    return ($rc, $out);
}


# the driver: its output; exit code 0 expected (2 = a step timed out)
sub drive ($class, $t, @args) {
    my ($rc, $out) = $class->_run($t, 'nd_client_drive', \@args);
    Test::More::is($rc, 0, 'driver exit 0') or Test::More::diag($out);
    return $out;
}


sub ctl ($class, $t, @args) {
    return $class->_run($t, 'nacosctl', \@args, timeout => 30);
}


# a shell command line with $NACOSCTL set (pipes, files, exit codes)
sub sh ($class, $t, $cmd) {
    local $ENV{NACOSCTL} = $class->bin('nacosctl');
    my ($rc, $out) = $t->run_cmd([ '/bin/sh', '-c', $cmd ], timeout => 30);
    my @bad = grep { /$BAD/ } split /\n/, $out;
    Test::More::ok(!@bad, "sh: $cmd: no sanitizer report")
        or Test::More::diag($out);
    return ($rc, $out);
}

1;
