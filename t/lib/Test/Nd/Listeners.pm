package Test::Nd::Listeners;

# Drives t/grpc/listeners.js: many real 2.x config listeners (@grpc/grpc-js,
# one connection each) in one node process, and 1.x long polls; used by the
# config cluster tests.
#
#     my $ls = Test::Nd::Listeners->start([ { id => 'a', port => $p,
#                  keys => [ { dataId => 'd', group => 'G', tenant => '',
#                              md5 => $m } ], fetch => 1 } ]);
#     $ls->wait_ready(20) or diag(explain($ls->errors));
#     my @n = $ls->events('notify', l => 'a', dataId => 'd');
#     my @f = $ls->events('fetched', l => 'a');
#     $ls->kill;

use v5.36;
use JSON::PP ();
use File::Temp ();
use Time::HiRes ();
use Test::Nd::Grpc;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $dir = abs_path(dirname(__FILE__) . '/../../../grpc');


sub start ($class, $listeners, %o) {
    Test::Nd::Grpc->ensure_client;
    my ($fh, $file) = File::Temp::tempfile(UNLINK => 0);
    print $fh JSON::PP::encode_json({ listeners => $listeners,
                                      concurrency => $o{concurrency} // 20 });
    close $fh;
    my ($ofh, $ofile) = File::Temp::tempfile(UNLINK => 0);
    close $ofh;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $ofile or die;
        exec 'node', "$dir/listeners.js", $file;
        exit 127;
    }
    open my $in, '<', $ofile or die "$ofile: $!";
    return bless { pid => $pid, out => $ofile, spec => $file, in => $in,
                   buf => '', lines => [], n => scalar @$listeners }, $class;
}


# every line so far (parsed), read incrementally
sub lines ($self) {
    my $in = $self->{in};
    while (1) {
        my $n = sysread($in, my $chunk, 1 << 16);
        last unless $n;
        $self->{buf} .= $chunk;
    }
    while ((my $i = index($self->{buf}, "\n")) >= 0) {
        my $l = substr($self->{buf}, 0, $i + 1, '');
        chomp $l;
        push @{ $self->{lines} },
             eval { JSON::PP::decode_json($l) } // { raw => $l };
    }
    return $self->{lines};
}


# the lines of one event, filtered by field values
sub events ($self, $event, %f) {
    return grep {
        my $l = $_;
        ($l->{event} // '') eq $event
            && !grep { ($l->{$_} // "\0undef") ne ($f{$_} // "\0undef") }
                    keys %f
    } @{ $self->lines };
}


sub errors ($self) {
    return [ grep { ($_->{event} // '') =~ /^(?:error|fatal|stream_error|stream_end)$/
                    || exists $_->{raw} } @{ $self->lines } ];
}


# true when every listener answered its listen request, within $timeout s
sub wait_ready ($self, $timeout = 30) {
    my $l = $self->wait_for($timeout, sub { scalar $self->events('all_ready') })
        or return 0;
    my ($a) = $self->events('all_ready');
    return $a->{ready} == $self->{n};
}


sub wait_for ($self, $timeout, $cb) {
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $r = $cb->();
        return $r if $r;
        return 0 if Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep(0.05);
    }
}


sub kill ($self) {
    return unless $self->{pid};
    CORE::kill('KILL', $self->{pid});
    waitpid($self->{pid}, 0);
    $self->{pid} = 0;
}


sub DESTROY ($self) {
    $self->kill if $self->{pid};
    unlink $self->{out}, $self->{spec};
}


# ---- 1.x long polls --------------------------------------------------------

sub _esc ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }


# a held long poll on node $t for [ [dataId, group, md5], ... ]; returns
# the connection (read_response later); headers => {...} more headers,
# local => '127.0.0.2' binds the client address
sub long_poll ($class, $t, $keys, %o) {
    my $v = join '', map { "$_->[0]\x02$_->[1]\x02$_->[2]\x01" } @$keys;
    my $body = 'Listening-Configs=' . _esc($v);
    my %h = ('Long-Pulling-Timeout' => $o{timeout_ms} // 30000,
             %{ $o{headers} // {} });
    my $c;
    if ($o{local}) {
        require IO::Socket::INET;
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $t->port,
                                      LocalAddr => $o{local}, Proto => 'tcp',
                                      Timeout => 5) or return undef;
        $s->autoflush(1);
        $c = bless { s => $s, buf => '', eof => 0 }, 'Test::Nd::Conn';
    } else {
        $c = $t->connect(timeout => 5) or return undef;
    }
    $c->send("POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: x\r\n"
             . "Content-Type: application/x-www-form-urlencoded\r\n"
             . join('', map { "$_: $h{$_}\r\n" } sort keys %h)
             . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
    return $c;
}

1;
