package Test::Nd::Conns;

# Drives t/grpc/conns.js: many SDK connections on @grpc/grpc-js that
# refuse, reset and redirect as the Java SDK does.  ->start(spec) runs it
# in the background; ->lines, ->wait_line, ->where (who -> SDK port of
# its current connection), ->events(ev), ->kill (the rest as
# Test::Nd::Grpc's background clients).

use v5.36;
use JSON::PP;
use File::Temp qw(tempfile);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Test::Nd::Grpc;
use parent -norequire, 'Test::Nd::Grpc';

my $dir = abs_path(dirname(__FILE__) . '/../../../grpc');

sub start ($class, $spec) {
    Test::Nd::Grpc->ensure_client;
    my ($fh, $file) = tempfile(UNLINK => 0);
    print $fh encode_json($spec);
    close $fh;
    my ($ofh, $ofile) = tempfile(UNLINK => 0);
    close $ofh;

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $ofile or die;
        exec 'node', "$dir/conns.js", $file;
        exit 127;
    }
    return bless { pid => $pid, out => $ofile, steps => $file }, $class;
}

sub events ($self, $ev) {
    return [ grep { ($_->{ev} // '') eq $ev } @{ $self->lines } ];
}

# who -> the port of its connection now (undef once lost or refused)
sub where ($self) {
    my %w;
    for my $l (@{ $self->lines }) {
        my $ev = $l->{ev} // '';
        if ($ev eq 'conn') {
            $w{ $l->{who} } = $l->{port};
        } elsif ($ev eq 'reset' || $ev eq 'gave_up') {
            delete $w{ $l->{who} };
        }
    }
    return \%w;
}

# how many clients sit on each port
sub spread ($self) {
    my %n;
    $n{$_}++ for values %{ $self->where };
    return \%n;
}

1;
