package Test::Nd::Grpc;

# Drives t/grpc/client.js, a Nacos gRPC client on @grpc/grpc-js, from the
# Perl tests.  The npm packages are installed into t/grpc/node_modules on
# first use; without node/npm the tests skip, except under CI=true, where
# they fail.

use v5.36;
use Test::More;
use JSON::PP;
use File::Temp qw(tempfile);
use Time::HiRes qw(sleep time);
use Fcntl qw(:flock);
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $dir = abs_path(dirname(__FILE__) . '/../../../grpc');

sub ensure_client ($class) {
    return 1 if -d "$dir/node_modules/\@grpc/grpc-js"
                && -d "$dir/node_modules/\@grpc/proto-loader";

    my $why;
    if (system('node --version >/dev/null 2>&1') != 0
        || system('npm --version >/dev/null 2>&1') != 0)
    {
        $why = 'node and npm are needed for the gRPC client';
    } else {
        open my $lock, '>', "$dir/.install.lock" or die "lock: $!";
        flock($lock, LOCK_EX);
        if (!-d "$dir/node_modules/\@grpc/proto-loader") {
            system("npm install --prefix '$dir' --no-audit --no-fund "
                   . "--loglevel=error >/dev/null 2>&1");
        }
        close $lock;
        return 1 if -d "$dir/node_modules/\@grpc/proto-loader";
        $why = 'npm install of @grpc/grpc-js failed';
    }

    if (($ENV{CI} // '') eq 'true') {
        fail("gRPC client available: $why");
        done_testing();
        exit 1;
    }
    plan skip_all => $why;
}

# the steps a Java SDK starts with: ServerCheck, the bi-stream and its
# ConnectionSetupRequest with these labels (module => 'naming' when none),
# then a pause for the setup to be taken
sub hello ($class, %labels) {
    %labels = (module => 'naming') if !%labels;
    return (
        { op => 'unary', type => 'ServerCheckRequest', body => {} },
        { op => 'bidi_open' },
        { op => 'bidi_send', type => 'ConnectionSetupRequest',
          body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                    labels => \%labels } },
        { op => 'sleep', ms => 100 },
    );
}

# one unary request step
sub call ($class, $type, %body) {
    return { op => 'unary', type => $type, body => \%body };
}

# run a step list to completion; returns the parsed output lines.
# tls_ca => FILE: over TLS, verifying the server with that CA
sub run ($class, $port, $steps, %opt) {
    local $ENV{ND_GRPC_TLS_CA} = $opt{tls_ca} if $opt{tls_ca};
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh encode_json($steps);
    close $fh;

    my @lines;
    my $pid = open(my $out, '-|', 'node', "$dir/client.js", $port, $file)
        or die "node: $!";
    local $SIG{ALRM} = sub { kill 'KILL', $pid };
    alarm($opt{timeout} // 30);
    while (my $l = <$out>) {
        chomp $l;
        push @lines, eval { decode_json($l) } // { raw => $l };
    }
    alarm 0;
    close $out;
    return \@lines;
}

# step results keyed by step number
sub steps ($class, $lines) {
    return { map { $_->{step} => $_ } grep { defined $_->{step} } @$lines };
}

# start a step list in the background; ->lines, ->wait_line, ->kill
sub start ($class, $port, $steps) {
    my ($fh, $file) = tempfile(UNLINK => 0);
    print $fh encode_json($steps);
    close $fh;
    my ($ofh, $ofile) = tempfile(UNLINK => 0);
    close $ofh;

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $ofile or die;
        exec 'node', "$dir/client.js", $port, $file;
        exit 127;
    }
    return bless { pid => $pid, out => $ofile, steps => $file }, $class;
}

sub lines ($self) {
    open my $fh, '<', $self->{out} or return [];
    return [ map { chomp; eval { decode_json($_) } // { raw => $_ } } <$fh> ];
}

sub wait_line ($self, $cb, $timeout = 10) {
    my $end = time + $timeout;
    while (time < $end) {
        for my $l (@{ $self->lines }) {
            return $l if $cb->($l);
        }
        sleep 0.05;
    }
    return undef;
}

sub kill ($self, $sig = 'KILL') {
    return unless $self->{pid};
    CORE::kill($sig, $self->{pid});
    waitpid($self->{pid}, 0);
    $self->{pid} = 0;
}

sub DESTROY ($self) {
    $self->kill if $self->{pid};
    unlink $self->{out}, $self->{steps};
}

1;
