package Test::Nd::Proxy;

# A TCP proxy for one directed link, so a test can cut it: a forked Perl
# process, IO::Select based, listening on a free loopback port and
# forwarding every connection to 127.0.0.1:<to_port>.
#
#     my $p = Test::Nd::Proxy->new(to_port => $port);
#     ... connect to 127.0.0.1:$p->port ...
#     $p->cut;               # black hole (default) or $p->cut('refuse')
#     $p->heal;              # forward again
#     my $s = $p->stats;     # { accepted, forwarded, held, open, ... }
#
# cut 'blackhole': the open connections are closed, new ones are accepted
# and held, their bytes read and dropped, nothing forwarded.  cut 'refuse':
# the open and held connections are closed and the listening socket too,
# so a connect is refused.  heal closes the held connections (their bytes
# are lost) and forwards what comes next, listening again if needed.  A
# connection whose upstream refuses is reset.
#
# The parent drives the proxy over a socketpair, one line per command and
# one answer line, so cut and heal are done when they return.  The proxy
# exits when that socket closes, i.e. when the test process goes away,
# however it ends, and it checks its parent every second besides.

use v5.36;

use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Scalar::Util ();
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC SOL_SOCKET SO_LINGER);
use Time::HiRes ();
use Test::Nd ();

my %LIVE;      # pid => weak ref
my @CTRL;      # our ends of every proxy's control socket

use constant MAX_BUF  => 1 << 20;     # per direction of a connection
use constant MAX_CONN => 128;         # forwarded connections at once
use constant MAX_HELD => 64;          # black-holed connections kept


sub _listen ($port) {
    return IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                 Proto => 'tcp', ReuseAddr => 1,
                                 Listen => 128);
}


sub new ($class, %opt) {
    my $to = $opt{to_port} // die "Test::Nd::Proxy: to_port needed\n";
    my $mode = $opt{mode} // 'blackhole';
    die "Test::Nd::Proxy: mode is blackhole or refuse, not $mode\n"
        unless $mode =~ /^(?:blackhole|refuse)$/;
    my $port = $opt{port} // Test::Nd::free_port();
    my $l = _listen($port)
        or die "Test::Nd::Proxy: listen 127.0.0.1:$port: $!\n";
    socketpair(my $mine, my $theirs, AF_UNIX, SOCK_STREAM, PF_UNSPEC)
        or die "socketpair: $!";

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $mine;
        close $_ for grep { defined fileno $_ } @CTRL;
        my $rc = eval { _serve($l, $theirs, $to, $port); 0 } // do {
            print STDERR "Test::Nd::Proxy $port->$to: $@";
            1;
        };
        POSIX::_exit($rc);       # never the test's END blocks
    }
    close $l;
    close $theirs;
    $mine->autoflush(1);
    push @CTRL, $mine;

    my $self = bless { pid => $pid, port => $port, to_port => $to,
                       mode => $mode, ctl => $mine, owner => $$,
                       name => $opt{name} // "127.0.0.1:$port->$to" },
                     $class;
    $LIVE{$pid} = $self;
    Scalar::Util::weaken($LIVE{$pid});
    $self->_cmd('ping');          # up and listening
    return $self;
}


sub port    ($self) { $self->{port} }
sub to_port ($self) { $self->{to_port} }
sub pid     ($self) { $self->{pid} }
sub name    ($self) { $self->{name} }


# one command line, one answer line ("ok ..."); dies otherwise
sub _cmd ($self, $line) {
    die "proxy $self->{name} is stopped\n" unless $self->{pid};
    my $ctl = $self->{ctl};
    print $ctl "$line\n" or die "proxy $self->{name}: write: $!\n";
    my $sel = IO::Select->new($ctl);
    my $buf = '';
    my $deadline = Time::HiRes::time() + 10;
    while (index($buf, "\n") < 0) {
        my $left = $deadline - Time::HiRes::time();
        die "proxy $self->{name}: no answer to '$line'\n"
            if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($ctl, $buf, 4096, length $buf);
        die "proxy $self->{name} exited (answer to '$line')\n" unless $n;
    }
    chomp $buf;
    die "proxy $self->{name}: '$line': $buf\n" unless $buf =~ s/^ok\s*//;
    return $buf;
}


sub cut ($self, $mode = $self->{mode}) {
    die "Test::Nd::Proxy: mode is blackhole or refuse, not $mode\n"
        unless $mode =~ /^(?:blackhole|refuse)$/;
    $self->_cmd("cut $mode");
    return $self;
}


sub heal ($self) {
    $self->_cmd('heal');
    return $self;
}


sub mode ($self) { $self->stats->{mode} }


# { mode, accepted, forwarded, upstream_failed, held, open, bytes }
sub stats ($self) {
    return { map { split /=/, $_, 2 } split ' ', $self->_cmd('stats') };
}


sub stop ($self) {
    return unless $self->{pid} && $self->{owner} == $$;
    my $pid = $self->{pid};
    close $self->{ctl};           # the proxy exits on EOF
    my $deadline = Time::HiRes::time() + 5;
    while (waitpid($pid, POSIX::WNOHANG()) == 0) {
        if (Time::HiRes::time() > $deadline) {
            CORE::kill('KILL', $pid);
            waitpid($pid, 0);
            last;
        }
        Time::HiRes::sleep(0.01);
    }
    delete $LIVE{$pid};
    $self->{pid} = undef;
}


sub DESTROY ($self) {
    $self->stop if $self->{pid};
}


END {
    my $st = $?;
    $_->stop for grep { defined } values %LIVE;
    $? = $st;
}


# ---- the proxy process -----------------------------------------------------

sub _serve ($l, $ctl, $to, $port) {
    $SIG{PIPE} = 'IGNORE';
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP ALRM CHLD);
    my $ppid = getppid();
    my $mode = 'forward';
    my (@pairs, @held);
    my %st = (accepted => 0, forwarded => 0, upstream_failed => 0,
              bytes => 0);
    my $cbuf = '';
    $l->blocking(0);

    my $close_pair = sub ($p) {
        close $p->{a} if $p->{a};
        close $p->{b} if $p->{b};
        $p->{dead} = 1;
    };
    my $reset = sub ($s) {
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        close $s;
    };

    my $command = sub ($line) {
        if ($line eq 'ping') {
            return 'ok';
        } elsif ($line =~ /^cut (blackhole|refuse)$/) {
            $close_pair->($_) for @pairs;
            @pairs = ();
            $mode = $1;
            if ($mode eq 'refuse') {
                close $_ for @held;
                @held = ();
                close $l if $l;
                $l = undef;
            }
            return 'ok';
        } elsif ($line eq 'heal') {
            close $_ for @held;
            @held = ();
            if (!$l) {
                $l = _listen($port) or return "err listen again: $!";
                $l->blocking(0);
            }
            $mode = 'forward';
            return 'ok';
        } elsif ($line eq 'stats') {
            return "ok mode=$mode " . join ' ',
                (map { "$_=$st{$_}" } sort keys %st),
                'held=' . scalar(@held), 'open=' . scalar(@pairs);
        }
        return "err unknown command '$line'";
    };

    my $accept = sub {
        while (my $c = $l->accept) {
            $st{accepted}++;
            if ($mode eq 'blackhole') {
                push @held, $c;
                close shift @held while @held > MAX_HELD;
                next;
            }
            if (@pairs >= MAX_CONN) {
                $reset->($c);
                next;
            }
            my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $to, Proto => 'tcp',
                                          Timeout => 2);
            if (!$u) {
                # the upstream is down: the client sees a reset, as near
                # as an accepted connection gets to "refused"
                $st{upstream_failed}++;
                $reset->($c);
                next;
            }
            $st{forwarded}++;
            $_->blocking(0) for $c, $u;
            push @pairs, { a => $c, b => $u, ab => '', ba => '',
                           eof_a => 0, eof_b => 0, shut_a => 0, shut_b => 0 };
        }
    };

    while (1) {
        return if getppid() != $ppid;     # orphaned: the test is gone

        my $rs = IO::Select->new($ctl, @held);
        my $ws = IO::Select->new;
        $rs->add($l) if $l;
        for my $p (@pairs) {
            $rs->add($p->{a}) if !$p->{eof_a} && length $p->{ab} < MAX_BUF;
            $rs->add($p->{b}) if !$p->{eof_b} && length $p->{ba} < MAX_BUF;
            $ws->add($p->{b}) if length $p->{ab};
            $ws->add($p->{a}) if length $p->{ba};
        }
        my ($r, $w) = IO::Select->select($rs, $ws, undef, 1);
        my %rd = map { fileno($_) => 1 } @{ $r // [] };
        my %wr = map { fileno($_) => 1 } @{ $w // [] };

        if ($rd{ fileno $ctl }) {
            my $n = sysread($ctl, $cbuf, 4096, length $cbuf);
            return unless $n;              # the test went away
            while ($cbuf =~ s/^([^\n]*)\n//) {
                my $answer = $command->($1);
                syswrite($ctl, "$answer\n");
            }
            next;        # the sets above may hold closed sockets now
        }

        $accept->() if $l && $rd{ fileno $l };

        for my $h (@held) {
            next unless $rd{ fileno $h };
            my $n = sysread($h, my $junk, 65536);
            if (defined $n ? $n == 0 : !$!{EAGAIN}) {
                close $h;
                $h = undef;
            }
        }
        @held = grep { defined } @held;

        for my $p (@pairs) {
            for my $dir ([ 'a', 'b', 'ab', 'eof_a' ],
                         [ 'b', 'a', 'ba', 'eof_b' ]) {
                my ($from, $toside, $buf, $eof) = @$dir;
                last if $p->{dead};
                my $fs = $p->{$from};
                if ($rd{ fileno $fs }) {
                    my $n = sysread($fs, $p->{$buf}, 65536,
                                    length $p->{$buf});
                    if ($n) {
                        $st{bytes} += $n;
                    } elsif (defined $n) {
                        $p->{$eof} = 1;
                    } elsif (!$!{EAGAIN}) {
                        $close_pair->($p);     # reset: drop both sides
                    }
                }
            }
            next if $p->{dead};
            for my $dir ([ 'b', 'ab' ], [ 'a', 'ba' ]) {
                my ($ts, $buf) = @$dir;
                next unless length $p->{$buf} && $wr{ fileno $p->{$ts} };
                my $n = syswrite($p->{$ts}, $p->{$buf});
                if (defined $n) {
                    substr($p->{$buf}, 0, $n, '');
                } elsif (!$!{EAGAIN}) {
                    $close_pair->($p);
                    last;
                }
            }
            next if $p->{dead};
            # a half close passes through once its data is delivered
            if ($p->{eof_a} && !length $p->{ab} && !$p->{shut_b}) {
                shutdown($p->{b}, 1);
                $p->{shut_b} = 1;
            }
            if ($p->{eof_b} && !length $p->{ba} && !$p->{shut_a}) {
                shutdown($p->{a}, 1);
                $p->{shut_a} = 1;
            }
            $close_pair->($p) if $p->{shut_a} && $p->{shut_b};
        }
        @pairs = grep { !$_->{dead} } @pairs;
    }
}

1;

__END__

=head1 NAME

Test::Nd::Proxy - a cuttable TCP proxy for one directed link

=head1 METHODS

=over

=item new(to_port => $p, port => $listen, mode => 'blackhole'|'refuse', name => $s)

Forks the proxy: it listens on 127.0.0.1:C<port> (default a free port)
and forwards to 127.0.0.1:C<to_port>. C<mode> is what C<cut> does by
default.

=item port, to_port, pid, name

=item cut($mode), heal

C<cut('blackhole')>: open connections are closed, new ones accepted and
held, nothing forwarded. C<cut('refuse')>: everything closed, connecting
is refused. C<heal>: held connections closed, new ones forwarded. Both
return once the proxy has done it.

=item stats, mode

C<{mode, accepted, forwarded, upstream_failed, held, open, bytes}>.

=item stop

Closes the control socket (the proxy exits on EOF) and reaps it. Done by
C<DESTROY> and at exit too; the proxy also exits on its own when the test
process dies.

=back

=cut
