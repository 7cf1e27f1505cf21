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
use POSIX ();
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


# A 1.x SDK's listener loop in a child process: long polls node $t for
# the keys ([ [dataId, group, content it holds], ... ]), and for each
# key a poll answers, GETs it from $t and holds the new md5, as the Java
# 1.x client does.  Its lines, like listeners.js's: fetched { l, dataId,
# content (undef: not found) }, and error.  ->lines, ->events, ->kill.
sub long_poller ($class, $id, $t, $keys, %o) {
    my ($ofh, $ofile) = File::Temp::tempfile(UNLINK => 0);
    close $ofh;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        require Digest::MD5;
        open my $out, '>', $ofile or POSIX::_exit(2);
        $out->autoflush(1);
        my $say = sub ($h) { print $out JSON::PP::encode_json($h), "\n" };
        my %md5 = map { ("$_->[0]\x02$_->[1]" => Digest::MD5::md5_hex($_->[2])) }
                  @$keys;
        while (1) {
            my $c = $class->long_poll($t, [ map { [ split(/\x02/, $_),
                                                    $md5{$_} ] } sort keys %md5 ],
                                      timeout_ms => $o{timeout_ms} // 30000);
            my $r = $c ? $c->read_response(timeout => 40, method => 'POST')
                       : undef;
            $c->close if $c;
            if (!$r || $r->{status} != 200) {
                $say->({ event => 'error', l => $id,
                         status => $r ? $r->{status} : 'no answer' });
                Time::HiRes::sleep(0.5);
                next;
            }
            (my $body = $r->{body}) =~ s/\s+\z//;
            $body =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
            for my $line (grep { length } split /\x01/, $body) {
                my ($d, $g) = split /\x02/, $line;
                my $q = $t->http_get("/nacos/v1/cs/configs?dataId=$d&group=$g",
                                     timeout => 10);
                my $found = $q->{status} == 200;
                $say->({ event => 'fetched', l => $id, dataId => $d,
                         group => $g, status => $q->{status},
                         content => $found ? $q->{body} : undef,
                         at => int(Time::HiRes::time() * 1000) });
                $md5{"$d\x02$g"} = $found ? Digest::MD5::md5_hex($q->{body})
                                          : '';
            }
        }
    }
    open my $in, '<', $ofile or die "$ofile: $!";
    return bless { pid => $pid, out => $ofile, spec => '', in => $in,
                   buf => '', lines => [], n => 1 }, $class;
}

1;
