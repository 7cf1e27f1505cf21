package Test::Nd;

# Test harness for nacosd: a private prefix per test, conf templates with
# free ports, the real binary started and stopped, small HTTP/1.1 clients,
# and a log check (no [alert], no sanitizer report) whenever a server stops.

use v5.36;

use Cwd ();
use File::Basename ();
use File::Spec;
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Scalar::Util ();
use Time::HiRes ();
use Test::More ();

our $VERSION = '0.1';

$SIG{PIPE} = 'IGNORE';

my %LIVE;        # refaddr => weak ref of objects, for the END check
my %USED_PORT;   # ports handed out by this process

# log lines that mean "bug": checked in error logs, stderr and tool output
my $BAD_LINE = qr/\[alert\]|AddressSanitizer|LeakSanitizer|runtime error:
                 |ThreadSanitizer|MemorySanitizer/x;


sub root {
    state $root = do {
        my $me = Cwd::abs_path(__FILE__);
        # <root>/t/lib/Test/Nd.pm
        File::Basename::dirname(File::Basename::dirname(
            File::Basename::dirname(File::Basename::dirname($me))));
    };
    return $root;
}


sub builddir {
    my $b = $ENV{ND_BUILDDIR} || 'objs';
    $b = File::Spec->catdir(root(), $b) unless File::Spec->file_name_is_absolute($b);
    return $b;
}


sub new ($class, %opt) {
    my $keep = $ENV{ND_TEST_KEEP} ? 1 : 0;
    my $dir = File::Temp::tempdir('nd-test-XXXXXX', TMPDIR => 1,
                                  CLEANUP => !$keep);
    $dir = Cwd::abs_path($dir);
    for my $sub (qw(logs data)) {
        mkdir "$dir/$sub" or die "mkdir $dir/$sub: $!";
    }
    Test::More::diag("test dir kept: $dir") if $keep;

    my $bin = $opt{bin} // File::Spec->catfile(builddir(), 'nacosd');
    $bin = File::Spec->rel2abs($bin, root());
    die "nacosd binary not found at $bin (run `make build` first, "
        . "or set ND_BUILDDIR)\n" unless -x $bin;

    my $self = bless {
        dir   => $dir,
        bin   => $bin,
        conf  => $opt{conf} // 'nacosd.conf',
        pid   => undef,
        ports => {},
    }, $class;

    my $addr = Scalar::Util::refaddr($self);
    $LIVE{$addr} = $self;
    Scalar::Util::weaken($LIVE{$addr});
    return $self;
}


sub testdir ($self) { $self->{dir} }
sub bin     ($self) { $self->{bin} }
sub pid     ($self) { $self->{pid} }


# ---- nacosd -V -------------------------------------------------------------

sub version_info ($self) {
    return $self->{vinfo} if $self->{vinfo};
    my ($rc, $out) = $self->run_binary('-V');
    die "nacosd -V exited with $rc:\n$out" if $rc != 0;
    my %v = (text => $out);
    ($v{version})   = $out =~ /^nacosd version:\s*(\S+)/m;
    ($v{configure}) = $out =~ /^configure arguments:[ \t]*(.*)$/m;
    my ($mods)      = $out =~ /^modules:[ \t]*(.*)$/m;
    $v{modules} = [ split ' ', $mods // '' ];
    return $self->{vinfo} = \%v;
}


sub modules ($self) { @{ $self->version_info->{modules} } }


sub has_module ($self, $m) { scalar grep { $_ eq $m } $self->modules }


sub has ($self, @modules) {
    my @missing = grep { !$self->has_module($_) } @modules;
    Test::More::plan(skip_all => "nacosd built without: @missing") if @missing;
    return $self;
}


sub is_debug ($self) {
    return ($self->version_info->{configure} // '') =~ /(?:^|\s)'?--with-debug\b/
        ? 1 : 0;
}


# ---- ports and conf ----------------------------------------------------------

sub _port_free ($p) {
    return 0 if $p < 1024 || $p > 65535 || $USED_PORT{$p};
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                  Proto => 'tcp', ReuseAddr => 1, Listen => 1)
        or return 0;
    close $s;
    return 1;
}


sub _alloc_ports (@offsets) {
    # below the Linux ephemeral range, so client sockets do not collide
    for (1 .. 500) {
        my $p = 10000 + int(rand(30000 - 10000 - 1001));
        next if grep { !_port_free($p + $_) } @offsets;
        $USED_PORT{$p + $_} = 1 for @offsets;
        return $p;
    }
    die "no free port triple found\n";
}


# one free loopback TCP port (below the ephemeral range), not handed out
# again by this process
sub free_port () { _alloc_ports(0) }


sub port ($self, $n = 8848) {
    $self->{base} //= _alloc_ports(0, 1000, 1001);
    return $self->{base}        if $n == 8848;
    return $self->{base} + 1000 if $n == 9848;
    return $self->{base} + 1001 if $n == 9849;
    return $self->{ports}{$n} //= _alloc_ports(0);
}


sub expand ($self, $text) {
    $text =~ s/%%TESTDIR%%/$self->{dir}/g;
    $text =~ s{%%PREFIX%%}{$self->{dir}/}g;
    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    return $text;
}


sub write_file ($self, $name, $content) {
    my $path = File::Spec->rel2abs($name, $self->{dir});
    my $d = File::Basename::dirname($path);
    _mkpath($d);
    open my $fh, '>', $path or die "open $path: $!";
    print $fh $content;
    close $fh or die "close $path: $!";
    return $path;
}


sub _mkpath ($d) {
    return if -d $d;
    _mkpath(File::Basename::dirname($d));
    mkdir $d or -d $d or die "mkdir $d: $!";
}


sub write_conf ($self, $name, $template) {
    return $self->write_file($name, $self->expand($template));
}


sub conf ($self, %o) {
    my $level = $o{log_level} // 'info';
    my $cp = $o{context_path} // '/nacos';
    my $access = exists $o{access_log} ? $o{access_log} : 'logs/access.log';
    my $t = "daemon off;\npid logs/nacosd.pid;\n"
          . "error_log logs/error.log $level;\n"
          . ($o{main} // '') . "\n"
          . "events {\n" . ($o{events} // '') . "\n}\n"
          . "http {\n    listen 127.0.0.1:%%PORT_8848%%;\n"
          . "    context_path $cp;\n"
          . (defined $access ? "    access_log $access;\n" : '')
          . ($o{http} // '') . "\n}\n"
          . ($o{extra} // '');
    return $t;
}


sub conf_path ($self) { File::Spec->rel2abs($self->{conf}, $self->{dir}) }


sub context_path ($self) {
    open my $fh, '<', $self->conf_path or return '/nacos';
    local $/;
    my $c = <$fh>;
    return $c =~ /^\s*context_path\s+["']?([^\s;"']+)/m ? $1 : '/nacos';
}


# ---- running the binary ------------------------------------------------------

sub run_cmd ($self, $cmd, %opt) {
    my $timeout = $opt{timeout} // 60;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        no warnings q(exec);
        close $r;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>&', $w;
        open STDERR, '>&', $w;
        chdir($opt{cwd} // $self->{dir});
        exec { $cmd->[0] } @$cmd;
        print STDERR "exec $cmd->[0]: $!\n";
        POSIX::_exit(127);
    }
    close $w;
    my $out = '';
    my $sel = IO::Select->new($r);
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $left = $deadline - Time::HiRes::time();
        if ($left <= 0) {
            CORE::kill 'KILL', $pid;
            $out .= "\n[test harness: killed after ${timeout}s]\n";
            last;
        }
        next unless $sel->can_read($left);
        my $n = sysread($r, my $buf, 65536);
        last unless $n;
        $out .= $buf;
    }
    close $r;
    waitpid($pid, 0);
    return (_exit_code($?), $out);
}


sub run_binary ($self, @args) {
    my ($rc, $out) = $self->run_cmd([ $self->{bin}, @args ], timeout => 30);
    my @bad = grep { /$BAD_LINE/ } split /\n/, $out;
    if (@bad) {
        Test::More::ok(0, "no [alert]/sanitizer report from nacosd @args");
        Test::More::diag($out);
    }
    return ($rc, $out);
}


sub _exit_code ($st) {
    return $st >> 8 if ($st & 0x7f) == 0;
    return 128 + ($st & 0x7f);
}


sub run ($self, @args) {
    die "nacosd already running (pid $self->{pid})\n" if $self->{pid};
    $self->write_conf($self->{conf}, $self->conf) unless -f $self->conf_path;

    @args = $self->auth_args(@args);
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        no warnings q(exec);
        chdir $self->{dir};
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/stderr.log";
        open STDERR, '>>', "$self->{dir}/stderr.log";
        exec { $self->{bin} } $self->{bin}, '-p', "$self->{dir}/",
            '-c', $self->conf_path, @args;
        print STDERR "exec $self->{bin}: $!\n";
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    $self->{status} = undef;
    $self->{checked} = 0;
    $self->{start_failed} = 0;

    my $path = $self->context_path . '/v1/console/health/liveness';
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        if (!$self->running) {
            $self->{start_failed} = 1;     # reported by the die itself
            die "nacosd exited with status $self->{status} before serving\n"
                . $self->_tails;
        }
        my $r = $self->http_get($path, timeout => 1);
        # the answer must come from our process, not a stranger on the port
        return $self if $r->{status} == 200 && $self->running;
        Time::HiRes::sleep(0.05);
    }
    CORE::kill 'KILL', $pid;
    waitpid($pid, 0);
    $self->{pid} = undef;
    die "nacosd did not answer GET $path within 10s\n" . $self->_tails;
}


# auth is on by default in nacosd; tests that do not set it in their conf
# run with "auth off;" (added to -g), the auth tests turn it on
sub auth_args ($self, @args) {
    open my $fh, '<', $self->conf_path or return @args;
    my $c = do { local $/; <$fh> };
    return @args if $c =~ /^\s*auth\b/m;
    for my $k (0 .. $#args - 1) {
        if ($args[$k] eq '-g') {
            return @args if $args[$k + 1] =~ /\bauth\b/;
            $args[$k + 1] .= ' auth off;';
            return @args;
        }
    }
    return (@args, '-g', 'auth off;');
}


sub wait_ready ($self, $timeout = 10) {
    my $path = $self->context_path . '/v1/console/health/readiness';
    my $deadline = Time::HiRes::time() + $timeout;
    my $r;
    while (Time::HiRes::time() < $deadline) {
        $r = $self->http_get($path, timeout => 1);
        return 1 if $r->{status} == 200;
        Time::HiRes::sleep(0.05);
    }
    return 0;
}


sub signal ($self, $sig) {
    die "nacosd not running\n" unless $self->{pid};
    return CORE::kill $sig, $self->{pid};
}


sub running ($self) {
    return 0 unless $self->{pid};
    return 1 if waitpid($self->{pid}, POSIX::WNOHANG()) == 0;
    $self->{status} = _exit_code($?);
    $self->{pid} = undef;
    return 0;
}


# Waits up to $timeout seconds for the process to exit by itself; returns its
# exit code, or undef if it is still running.
sub wait_exit ($self, $timeout) {
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        return $self->{status} unless $self->running;
        return undef if Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep(0.02);
    }
}


# Sends $sig (KILL by default) and waits up to 10 s for the process to die:
# an unclean end on purpose, so its exit status is no problem; runs one
# test that the logs hold no [alert] or sanitizer report. Returns the exit
# code (128 + signal).
sub kill ($self, $sig = 'KILL') {
    die "nacosd not running\n" unless $self->running;
    CORE::kill($sig, $self->{pid});
    if (!defined $self->wait_exit(10)) {
        CORE::kill('KILL', $self->{pid});
        waitpid($self->{pid}, 0);
        $self->{status} = _exit_code($?);
        $self->{pid} = undef;
    }
    my @problems = $self->log_problems;
    Test::More::ok(!@problems, "nacosd killed with $sig: no [alert] or "
                               . 'sanitizer report in logs')
        or Test::More::diag(join "\n", @problems);
    $self->{checked} = 1;
    return $self->{status};
}


sub _terminate ($self) {
    my $killed = 0;
    if ($self->running) {
        CORE::kill 'TERM', $self->{pid};
        if (!defined $self->wait_exit(15)) {
            CORE::kill 'KILL', $self->{pid};
            waitpid($self->{pid}, 0);
            $self->{status} = _exit_code($?);
            $self->{pid} = undef;
            $killed = 1;
        }
    }
    my @problems;
    push @problems, "nacosd did not exit within 15s of TERM (killed)"
        if $killed;
    push @problems, "nacosd exit status $self->{status}"
        if !$killed && !$self->{start_failed} && ($self->{status} // 0) != 0;
    push @problems, $self->log_problems;
    return @problems;
}


sub stop ($self) {
    my @problems = $self->_terminate;
    Test::More::ok(!@problems, 'nacosd stopped: exit 0, no [alert] or '
                               . 'sanitizer report in logs')
        or Test::More::diag(join "\n", @problems);
    $self->{checked} = 1;
    return $self->{status};
}


sub done_testing ($self, @args) {
    $self->stop if $self->{pid} || !$self->{checked} && $self->_ever_ran;
    Test::More::done_testing(@args);
}


sub _ever_ran ($self) { -e "$self->{dir}/stderr.log" }


sub _end_check ($self) {
    return unless $self->{pid} || (!$self->{checked} && $self->_ever_ran);
    my @problems = $self->_terminate;
    $self->{checked} = 1;
    if (@problems) {
        Test::More::ok(0, 'nacosd stopped cleanly at end of test');
        Test::More::diag(join "\n", @problems);
    }
}


sub DESTROY ($self) {
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT';
    delete $LIVE{Scalar::Util::refaddr($self)};
    $self->_end_check;
}


END {
    my $st = $?;
    for my $t (grep { defined } values %LIVE) {
        $t->_end_check;
    }
    $? = $st;
}


# ---- logs --------------------------------------------------------------------

sub _slurp ($path) {
    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh> // '';
}


sub error_log ($self, $name = 'logs/error.log') {
    return _slurp(File::Spec->rel2abs($name, $self->{dir}));
}


sub stderr_log ($self) { _slurp("$self->{dir}/stderr.log") }


sub _log_files ($self) {
    my @f = grep { -f $_ && !m{/access[^/]*$} }
            glob("$self->{dir}/logs/*"), "$self->{dir}/stderr.log";
    return @f;
}


sub log_problems ($self) {
    my @p;
    for my $f ($self->_log_files) {
        for my $line (split /\n/, _slurp($f)) {
            push @p, "$f: $line" if $line =~ /$BAD_LINE/;
        }
    }
    return @p;
}


sub _tails ($self) {
    my $s = '';
    for my $f ("$self->{dir}/stderr.log", "$self->{dir}/logs/error.log") {
        my @l = split /\n/, _slurp($f);
        @l = @l[-30 .. -1] if @l > 30;
        $s .= "--- $f\n" . join("\n", @l) . "\n";
    }
    return $s;
}


# Polls $cb (returning true when satisfied) every 20ms up to $timeout s.
sub wait_for ($self, $timeout, $cb) {
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        return 1 if $cb->();
        return 0 if Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep(0.02);
    }
}


# ---- HTTP --------------------------------------------------------------------

sub connect ($self, %opt) {
    return Test::Nd::Conn->new(port => $opt{port} // $self->port,
                               timeout => $opt{timeout} // 5);
}


sub http ($self, $raw, %opt) {
    my $c = $self->connect(%opt) or return '';
    my @pieces = ref $raw ? @$raw : ($raw);
    for my $i (0 .. $#pieces) {
        Time::HiRes::sleep($opt{delay}) if $i && $opt{delay};
        $c->send($pieces[$i]);
    }
    return $c->read_all($opt{timeout} // 5);
}


sub request_text ($self, $method, $path, %opt) {
    my %h = %{ $opt{headers} // {} };
    my %has = map { lc $_ => 1 } keys %h;
    my $hdr = '';
    $hdr .= "Host: 127.0.0.1:" . $self->port . "\r\n" unless $has{host};
    $hdr .= "Connection: close\r\n"
        unless $opt{keepalive} || $has{connection};
    for my $k (sort keys %h) {
        $hdr .= "$k: $_\r\n" for ref $h{$k} ? @{ $h{$k} } : ($h{$k});
    }
    if (defined $opt{body}
        && !$has{'content-length'} && !$has{'transfer-encoding'}) {
        $hdr .= "Content-Length: " . length($opt{body}) . "\r\n";
    }
    return "$method $path HTTP/1.1\r\n$hdr\r\n" . ($opt{body} // '');
}


sub http_req ($self, $method, $path, %opt) {
    my $raw = $self->http($self->request_text($method, $path, %opt), %opt);
    my @r = parse_responses($raw, 1, $method);
    @r = grep { $_->{status} >= 200 } @r;
    return $r[0] // { status => 0, headers => {}, body => '', raw => $raw };
}


sub http_get ($self, $path, %opt) {
    return $self->http_req('GET', $path, %opt);
}


sub http_post ($self, $path, $body, %headers) {
    $headers{'Content-Type'} //= 'application/x-www-form-urlencoded';
    return $self->http_req('POST', $path, body => $body,
                           headers => \%headers);
}


sub http_json ($self, $method, $path, %opt) {
    my $r = $self->http_req($method, $path, %opt);
    my $j = eval { JSON::PP->new->utf8->allow_nonref->decode($r->{body}) };
    return wantarray ? ($j, $r) : $j;
}


sub decode_json ($text) {
    return eval { JSON::PP->new->utf8->allow_nonref->decode($text) };
}


# Sends every raw request on one connection (all in one write if pipeline;
# conn => $c reuses a Test::Nd::Conn) and returns the parsed final
# responses, in order; stops at the first missing one.
sub http_keepalive ($self, $requests, %opt) {
    my $c = $opt{conn} // $self->connect(%opt) or return ();
    my @resp;
    $c->send(join '', @$requests) if $opt{pipeline};
    for my $req (@$requests) {
        $c->send($req) unless $opt{pipeline};
        my ($method) = $req =~ /^(\S+)/;
        my $r;
        do {
            $r = $c->read_response(timeout => $opt{timeout} // 5,
                                   method => $method // 'GET');
        } while ($r && $r->{status} < 200);
        last unless $r;
        push @resp, $r;
    }
    return @resp;
}


# Parses one response at the start of $$buf. Returns undef if more data is
# needed (or, with $eof, if the data is truncated); consumes what it parsed.
sub parse_one ($buf, $eof = 0, $method = 'GET') {
    my $end = index($$buf, "\r\n\r\n");
    return undef if $end < 0;
    my $head = substr($$buf, 0, $end);
    my ($status_line, @lines) = split /\r\n/, $head;
    my ($proto, $status, $reason) =
        $status_line =~ m{^(HTTP/\d\.\d)\s+(\d{3})(?:\s+(.*))?$}
        or return { status => -1, headers => {}, body => '',
                    raw => $$buf, error => "bad status line" };
    my (%h, @hl);
    for my $l (@lines) {
        my ($k, $v) = $l =~ /^([^:]+):\s*(.*?)\s*$/ or next;
        push @hl, [ $k, $v ];
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    my $r = { proto => $proto, status => $status + 0,
              reason => $reason // '', headers => \%h, header_list => \@hl };
    my $pos = $end + 4;
    my $body = '';
    if ($status < 200 || $status == 204 || $status == 304 || $method eq 'HEAD') {
        # no body
    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        $r->{chunked} = 1;
        while (1) {
            my $le = index($$buf, "\r\n", $pos);
            return undef if $le < 0;
            my ($hex) = substr($$buf, $pos, $le - $pos) =~ /^([0-9a-fA-F]+)/
                or return undef;
            my $n = hex $hex;
            $pos = $le + 2;
            if ($n == 0) {
                my $te = index($$buf, "\r\n", $pos);
                # trailers, then an empty line
                while ($te >= 0 && $te != $pos) {
                    $pos = $te + 2;
                    $te = index($$buf, "\r\n", $pos);
                }
                return undef if $te < 0;
                $pos = $te + 2;
                last;
            }
            return undef if length($$buf) < $pos + $n + 2;
            $body .= substr($$buf, $pos, $n);
            $pos += $n + 2;
        }
    } elsif (defined $h{'content-length'}) {
        my $n = $h{'content-length'} + 0;
        return undef if length($$buf) < $pos + $n;
        $body = substr($$buf, $pos, $n);
        $pos += $n;
    } else {
        return undef unless $eof;
        $body = substr($$buf, $pos);
        $pos = length $$buf;
    }
    $r->{body} = $body;
    $r->{raw} = substr($$buf, 0, $pos);
    substr($$buf, 0, $pos) = '';
    return $r;
}


sub parse_responses ($raw, $eof = 1, $method = 'GET') {
    my @r;
    while (length $raw) {
        my $r = parse_one(\$raw, $eof, $method) or last;
        push @r, $r;
    }
    return @r;
}


package Test::Nd::Conn;

# One client connection with a read buffer.

use v5.36;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();

sub new ($class, %opt) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $opt{port}, Proto => 'tcp',
                                  Timeout => $opt{timeout} // 5)
        or return undef;
    $s->autoflush(1);
    return bless { s => $s, buf => '', eof => 0 }, $class;
}


sub socket ($self) { $self->{s} }
sub buffer ($self) { $self->{buf} }
sub eof    ($self) { $self->{eof} }


sub send ($self, $data) {
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($self->{s}, $data, length($data) - $off, $off);
        return 0 unless defined $n;
        $off += $n;
    }
    return 1;
}


# Reads what arrives within $timeout; returns the number of bytes read,
# 0 on EOF, undef on timeout.
sub _fill ($self, $timeout) {
    return 0 if $self->{eof};
    my $sel = IO::Select->new($self->{s});
    return undef unless $sel->can_read($timeout > 0 ? $timeout : 0);
    my $n = sysread($self->{s}, my $chunk, 65536);
    if (!$n) {          # EOF or error (ECONNRESET counts as closed)
        $self->{eof} = 1;
        $self->{reset} = 1 unless defined $n;
        return 0;
    }
    $self->{buf} .= $chunk;
    return $n;
}


sub read_response ($self, %opt) {
    my $deadline = Time::HiRes::time() + ($opt{timeout} // 5);
    my $method = $opt{method} // 'GET';
    while (1) {
        my $r = Test::Nd::parse_one(\$self->{buf}, $self->{eof}, $method);
        return $r if $r;
        return undef if $self->{eof};
        my $left = $deadline - Time::HiRes::time();
        return undef if $left <= 0;
        $self->_fill($left);
    }
}


sub read_all ($self, $timeout = 5) {
    my $deadline = Time::HiRes::time() + $timeout;
    while (!$self->{eof}) {
        my $left = $deadline - Time::HiRes::time();
        last if $left <= 0;
        $self->_fill($left);
    }
    my $b = $self->{buf};
    $self->{buf} = '';
    return $b;
}


# True if the peer closes the connection within $timeout seconds (data that
# arrives meanwhile is kept in the buffer).
sub wait_closed ($self, $timeout = 5) {
    my $deadline = Time::HiRes::time() + $timeout;
    while (!$self->{eof}) {
        my $left = $deadline - Time::HiRes::time();
        return 0 if $left <= 0;
        $self->_fill($left);
    }
    return 1;
}


sub close ($self) { CORE::close($self->{s}) }

1;

__END__

=head1 NAME

Test::Nd - start the real nacosd in a private prefix and talk HTTP to it

=head1 SYNOPSIS

    use Test::More;
    use Test::Nd;

    my $t = Test::Nd->new;
    $t->write_conf('nacosd.conf', $t->conf(http => 'keepalive_timeout 1s;'));
    $t->run;
    my $r = $t->http_get('/nacos/v1/console/health/liveness');
    is($r->{status}, 200);
    is($r->{body}, 'OK');
    $t->done_testing;        # stops nacosd, checks the logs, done_testing

=head1 DESCRIPTION

=head2 Setup

=over

=item Test::Nd->new(%opt)

Makes a temp dir (removed at exit unless C<ND_TEST_KEEP=1>) with F<logs/>
and F<data/>. The binary is F<nacosd> in C<$ENV{ND_BUILDDIR}> (default
F<objs>, relative to the repo root); C<< bin => $path >> overrides it,
C<< conf => $name >> the conf file name (default F<nacosd.conf>). Dies if
the binary is missing.

=item root, builddir, testdir, bin, pid

Repo root, build dir, the temp prefix, the binary, the running pid.

=item has(@modules), has_module($m), modules, is_debug, version_info

Parse C<nacosd -V>. C<has> plans C<skip_all> if a module is missing.
C<is_debug> is true when the configure arguments contain C<--with-debug>.

=item port($n)

Free TCP ports: C<port(8848)> (or C<port()>) is the HTTP port p chosen so that
p, p+1000 and p+1001 are free; C<port(9848)> is p+1000, C<port(9849)> p+1001;
any other C<$n> gets its own free port.

=item free_port

A plain function: one free loopback port below the ephemeral range, never
handed out twice by this process.

=item conf(%o)

A standalone conf template: C<log_level> (info), C<context_path> (/nacos),
C<access_log> (logs/access.log, undef to omit), and text added to the main
level (C<main>), C<events { }> (C<events>), C<http { }> (C<http>), after
everything (C<extra>).

=item conf_path, context_path

The absolute path of the conf C<run> uses; the C<context_path> it sets
(default F</nacos>).

=item write_conf($name, $template), expand($text), write_file($name, $text)

Expand C<%%TESTDIR%%>, C<%%PREFIX%%> (dir with a trailing slash) and
C<%%PORT_nnnn%%> (see C<port>) and write the file under the temp dir.
Returns the absolute path.

=back

=head2 Running

=over

=item run(@args)

Starts C<nacosd -p E<lt>dirE<gt>/ -c E<lt>dirE<gt>/nacosd.conf @args>
(writing the default conf if none exists), stdout and stderr to
F<stderr.log>, and waits up to 10 s for C<GET E<lt>context_pathE<gt>/v1/console/health/liveness>
to answer 200. Dies with the log tails otherwise.

=item wait_ready($timeout)

Polls readiness until 200; returns true on success.

=item signal($sig), running, wait_exit($timeout)

Send a signal; is the process alive; wait for it to exit by itself (returns
its exit code, or undef on timeout).

=item kill($sig)

Send C<$sig> (default KILL), wait for the process to die, and check the
logs (one test); its exit status is expected, so C<stop> and the end
check do not count it as a problem. Returns the exit code.

=item stop

TERM, wait up to 15 s, then KILL. Runs one test: the process exited 0 on TERM
and neither F<stderr.log> nor F<logs/*> (access logs excepted) contains
C<[alert]> or a sanitizer report. Returns the exit code (128+signal if
killed by a signal).

=item done_testing

C<stop> if a server ran, then C<Test::More::done_testing>. A server still
running at the end of the script is stopped and checked anyway; then only a
failure adds a test.

=item run_binary(@args), run_cmd(\@cmd, cwd => $dir, timeout => $s)

Run synchronously (cwd = the temp dir by default); return C<($exit_code,
$stdout_and_stderr)>. C<run_binary> fails a test if the output contains
C<[alert]> or a sanitizer report.

=item error_log($name), stderr_log, log_problems, wait_for($timeout, $cb)

Log texts; the list of offending log lines; poll C<$cb> until true.

=back

=head2 HTTP

Responses are hashrefs C<{status, reason, proto, headers (lower-case keys),
header_list, body, raw}>; a missing response is C<{status =E<gt> 0}>.

=over

=item http($raw, %opt)

Connect to the HTTP port (or C<port>), send C<$raw> (an array ref sends the
pieces C<delay> seconds apart), read until close or C<timeout> (5 s). Returns
the raw response text.

=item http_req($method, $path, body => $b, headers => {...}), http_get($path), http_post($path, $body, %headers), http_json($method, $path, %opt)

One request with C<Connection: close>; the final (non-1xx) response parsed.
C<http_post> defaults to a form content type. C<http_json> returns the
decoded body (and the response in list context).

=item request_text($method, $path, %opt)

The raw request text C<http_req> would send; C<keepalive =E<gt> 1> omits
C<Connection: close>.

=item http_keepalive(\@raw_requests, pipeline => 1, conn => $c)

Sends the requests on one connection (a new one, or C<conn>), each after the
previous response, or all in one write with C<pipeline>; returns the parsed
final responses in order, stopping at the first one missing.

=item connect(%opt)

A C<Test::Nd::Conn>: C<send($data)>, C<read_response(timeout =E<gt> $s,
method =E<gt> $m)> (framed by Content-Length or chunked; 1xx responses are
returned on their own), C<read_all($timeout)>, C<wait_closed($timeout)>,
C<buffer>, C<eof>, C<close>.

=item parse_one(\$buf, $eof, $method), parse_responses($raw), decode_json($text)

Plain functions used by the above.

=back

=cut
