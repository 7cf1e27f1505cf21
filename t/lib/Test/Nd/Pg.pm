package Test::Nd::Pg;

# A private PostgreSQL for one test: its own data dir and socket dir in a
# temp dir, a free TCP port on 127.0.0.1, trust authentication, database
# "nacos".  Binaries come from `pg_config --bindir`; when we are root they
# run as the postgres user through runuser.  Stopped at the end.
#
#     my $pg = Test::Nd::Pg->start_or_skip;     # fails under CI=true
#     my $conninfo = $pg->conninfo;
#     $pg->stop; $pg->start; $pg->psql("SELECT 1");

use v5.36;

use File::Temp ();
use IO::Socket::INET;
use POSIX ();
use Test::More ();

my %LIVE;


sub bindir {
    state $dir = do {
        my $d = `pg_config --bindir 2>/dev/null` // '';
        chomp $d;
        unless ($d && -x "$d/initdb") {
            # libpq-dev's pg_config may not know the server: try Debian's
            ($d) = sort { $b cmp $a } grep { -x "$_/initdb" }
                   glob('/usr/lib/postgresql/*/bin');
        }
        $d // '';
    };
    return $dir;
}


sub _free_port {
    for (1 .. 200) {
        my $p = 40000 + int(rand(20000));
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Proto => 'tcp',
                                      ReuseAddr => 1, Listen => 1)
            or next;
        close $s;
        return $p;
    }
    die "no free port for PostgreSQL\n";
}


# runs a command as the server's user; returns (exit code, output)
sub _run ($self, @cmd) {
    my @full = $> == 0 ? ('runuser', '-u', 'postgres', '--', @cmd) : @cmd;
    my $out = '';
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        no warnings q(exec);
        open STDERR, ">&", \*STDOUT;
        open STDIN, '<', '/dev/null';
        chdir $self->{dir};
        exec { $full[0] } @full;
        print "exec $full[0]: $!\n";
        POSIX::_exit(127);
    }
    local $/;
    $out = <$fh> // '';
    close $fh;
    my $st = $?;
    return (($st & 0x7f) ? 128 + ($st & 0x7f) : $st >> 8, $out);
}


sub new ($class, %opt) {
    my $bin = bindir();
    die "PostgreSQL server binaries not found (pg_config --bindir; "
        . "apt-get install postgresql)\n" unless $bin && -x "$bin/initdb";
    if ($> == 0) {
        die "no postgres user to run the server as\n"
            unless defined getpwnam('postgres');
    }

    my $dir = File::Temp::tempdir('nd-pg-XXXXXX', TMPDIR => 1,
                                  CLEANUP => !$ENV{ND_TEST_KEEP});
    chmod 0755, $dir;
    my $self = bless { dir => $dir, bin => $bin, port => _free_port(),
                       running => 0, owner => $$ }, $class;
    $LIVE{"$self"} = $self;

    mkdir "$dir/sock";
    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam('postgres');
        chown $uid, $gid, $dir, "$dir/sock";
    }

    my ($rc, $out) = $self->_run("$bin/initdb", '-D', "$dir/data",
                                 '-A', 'trust', '-U', 'postgres',
                                 '-E', 'UTF8', '--locale=C', '--no-sync');
    die "initdb failed ($rc):\n$out" if $rc;

    open my $fh, '>>', "$dir/data/postgresql.conf" or die "conf: $!";
    print $fh "listen_addresses = '127.0.0.1'\n",
              "port = $self->{port}\n",
              "unix_socket_directories = '$dir/sock'\n",
              "max_connections = 50\n",
              "shared_buffers = 32MB\n",
              ($opt{conf} // '');
    close $fh;

    # the free port may be taken between our check and the server's bind
    # (tests run in parallel): another port, a few times
    for my $try (1 .. 5) {
        last if eval { $self->start; 1 };
        my $err = $@;
        die $err unless $err =~ /Address already in use/ && $try < 5;
        $self->{port} = _free_port();
        open my $fh2, '>>', "$dir/data/postgresql.conf" or die "conf: $!";
        print $fh2 "port = $self->{port}\n";
        close $fh2;
    }
    ($rc, $out) = $self->_run("$bin/psql", '-X', '-q', '-h', "$dir/sock",
                              '-p', $self->{port}, '-U', 'postgres',
                              '-d', 'postgres', '-c', 'CREATE DATABASE nacos');
    die "CREATE DATABASE failed ($rc):\n$out" if $rc;

    return $self;
}


# a PostgreSQL for this test, or skip_all; under CI=true a server that
# cannot start fails the test instead
sub start_or_skip ($class, %opt) {
    my $pg = eval { $class->new(%opt) };
    return $pg if $pg;
    my $err = $@;
    if (($ENV{CI} // '') eq 'true') {
        Test::More::ok(0, 'PostgreSQL for the test started');
        Test::More::diag($err);
        Test::More::done_testing();
        exit 1;
    }
    Test::More::plan(skip_all => "no PostgreSQL: $err");
}


sub dir ($self)  { $self->{dir} }
sub port ($self) { $self->{port} }
sub running ($self) { $self->{running} }

sub conninfo ($self) {
    return "hostaddr=127.0.0.1 port=$self->{port} dbname=nacos "
         . "user=postgres connect_timeout=5";
}


sub start ($self) {
    my ($rc, $out) = $self->_run("$self->{bin}/pg_ctl", '-D',
                                 "$self->{dir}/data", '-l',
                                 "$self->{dir}/server.log", '-w', '-t', '60',
                                 'start');
    die "pg_ctl start failed ($rc):\n$out\n" . $self->server_log if $rc;
    $self->{running} = 1;
    return $self;
}


sub stop ($self, $mode = 'fast') {
    return unless $self->{running};
    my ($rc, $out) = $self->_run("$self->{bin}/pg_ctl", '-D',
                                 "$self->{dir}/data", '-m', $mode, '-w',
                                 '-t', '60', 'stop');
    warn "pg_ctl stop failed ($rc): $out" if $rc;
    $self->{running} = 0;
}


# runs SQL with psql on the nacos database; returns the output
# (tuples only, unaligned, fields separated by "|")
sub psql ($self, $sql) {
    my ($rc, $out) = $self->_run("$self->{bin}/psql", '-X', '-q', '-t',
                                 '-A', '-h', "$self->{dir}/sock", '-p',
                                 $self->{port}, '-U', 'postgres', '-d',
                                 'nacos', '-v', 'ON_ERROR_STOP=1', '-c', $sql);
    die "psql failed ($rc): $out" if $rc;
    chomp $out;
    return $out;
}


# pgbench against the nacos database (for bench/); returns the output
sub pgbench ($self, @args) {
    my ($rc, $out) = $self->_run("$self->{bin}/pgbench", '-h',
                                 "$self->{dir}/sock", '-p', $self->{port},
                                 '-U', 'postgres', @args, 'nacos');
    return wantarray ? ($rc, $out) : $out;
}


sub server_log ($self) {
    open my $fh, '<', "$self->{dir}/server.log" or return '';
    local $/;
    return <$fh> // '';
}


sub DESTROY ($self) {
    return unless $self->{owner} == $$;
    $self->stop('immediate') if $self->{running};
    delete $LIVE{"$self"};
}


END {
    for my $pg (values %LIVE) {
        $pg->stop('immediate') if $pg && $pg->{running} && $pg->{owner} == $$;
    }
}

1;
