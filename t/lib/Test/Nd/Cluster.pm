package Test::Nd::Cluster;

# N real nacosd nodes in one cluster: one private PostgreSQL (Test::Nd::Pg)
# shared by all, each node a Test::Nd with its own prefix and its own free
# loopback ports (HTTP P, SDK gRPC P+1000, cluster RPC P+1001), and
# optionally a Test::Nd::Proxy on directed links so a test can cut them.
#
#     my $cl = Test::Nd::Cluster->new(nodes => 3, proxy => 1,
#                  conf => { cluster => 'report_interval 500ms;' });
#     ok($cl->start_all, 'started and ready');
#     ok($cl->wait_all_up(20), 'all UP') or $cl->diag_views;
#     $cl->cut(1, 2); ... $cl->heal(1, 2);
#     $cl->done_testing;
#
# new() skips the test (plan skip_all) when the binary lacks the cluster
# or store module, or when no PostgreSQL can be started (under CI=true
# that fails instead, as Test::Nd::Pg does).

use v5.36;

use JSON::PP ();
use Scalar::Util ();
use Time::HiRes ();
use Test::More ();
use Test::Nd;
use Test::Nd::Pg;
use Test::Nd::Proxy;

my %LIVE;      # refaddr => weak ref, for the END teardown


# the modules a cluster test needs, or skip_all naming the missing ones
sub require_modules ($class, $t = Test::Nd->new) {
    my @missing = grep { !$t->has_module($_) } qw(store cluster);
    Test::More::plan(skip_all => "nacosd built without the @missing "
                     . "module(s): the cluster tests need them") if @missing;
    return $t;
}


sub new ($class, %opt) {
    my $n = $opt{nodes} // 3;
    die "Test::Nd::Cluster: nodes must be at least 1\n" unless $n >= 1;
    my @nodes = ($class->require_modules);
    push @nodes, Test::Nd->new while @nodes < $n;
    my $pg = $opt{pg} // Test::Nd::Pg->start_or_skip;

    my $self = bless { n => $n, nodes => \@nodes, pg => $pg, proxy => {},
                       opt => \%opt, members => {}, owner => $$ }, $class;
    $_->port for @nodes;              # P, P+1000 and P+1001 are free

    for my $link ($self->_links($opt{proxy})) {
        my ($i, $j) = @$link;
        $self->{proxy}{"$i>$j"} = Test::Nd::Proxy->new(
            to_port => $self->node($j)->port(9849), name => "$i>$j",
            mode => $opt{cut_mode} // 'blackhole');
    }
    $self->write_conf($_) for 1 .. $n;
    my $addr = Scalar::Util::refaddr($self);
    $LIVE{$addr} = $self;
    Scalar::Util::weaken($LIVE{$addr});
    return $self;
}


# proxy => 1: every directed link; [[i, j], ...]: those links
sub _links ($self, $spec) {
    return () unless $spec;
    my $n = $self->{n};
    return map { my $i = $_; map { [ $i, $_ ] } grep { $_ != $i } 1 .. $n }
           1 .. $n unless ref $spec;
    for (@$spec) {
        my ($i, $j) = @$_;
        die "Test::Nd::Cluster: bad link [$i, $j]\n"
            unless $i >= 1 && $i <= $n && $j >= 1 && $j <= $n && $i != $j;
    }
    return @$spec;
}


sub n     ($self)     { $self->{n} }
sub nodes ($self)     { @{ $self->{nodes} } }
sub pg    ($self)     { $self->{pg} }
sub node  ($self, $i) {
    return $self->{nodes}[$i - 1] // die "Test::Nd::Cluster: no node $i\n";
}
sub proxy ($self, $i, $j) { $self->{proxy}{"$i>$j"} }


# a member's address as the members list shows it: its HTTP address
sub addr ($self, $j) { '127.0.0.1:' . $self->node($j)->port }


# the members node $i's conf lists (node numbers)
sub members_of ($self, $i) {
    return @{ $self->{members}{$i} // [ 1 .. $self->{n} ] };
}


# ---- conf --------------------------------------------------------------------

# per-node options: conf => { ... } for all, or conf => sub ($cl, $i) { {...} }
# keys: log_level, main, events, http, extra (Test::Nd::conf), store (more
# store directives), cluster (more cluster directives), members ([j, ...])
sub _conf_opts ($self, $i) {
    my $c = $self->{opt}{conf} // {};
    $c = $c->($self, $i) if ref $c eq 'CODE';
    return { %$c };
}


sub store_block ($self, $extra = '') {
    my $schema = Test::Nd::root() . '/conf/schema';
    return "store {\n"
         . "    schema_dir $schema;\n"
         . "    backend pg;\n"
         . "    pg_conninfo \"" . $self->{pg}->conninfo . "\";\n"
         . "    pg_pool 3;\n"
         . "    pg_reconnect_max 300ms;\n"
         . "    query_timeout 3s;\n"
         . ($extra =~ /\bcache_refresh\b/ ? '' : "    cache_refresh 200ms;\n")
         . ($extra ne '' ? "    $extra\n" : '')
         . "}\n";
}


# the server identity the members share (cluster-port requests of a test
# client carry it as a member's do)
sub identity_headers ($self) {
    return { 'Nacos-Server-Identity' => $self->{identity} };
}


sub cluster_block ($self, $i, $members, $extra = '') {
    # the members' shared secret (server identity), one per cluster
    $self->{identity} //= join '', map { sprintf '%02x', int rand 256 } 1 .. 32;
    my $t = $self->node($i);
    $t->write_file('cluster.secret', "$self->{identity}\n");
    my $b = "cluster {\n"
          . "    server_identity_file " . $t->testdir . "/cluster.secret;\n";
    for my $j (@$members) {
        my $p = $j != $i && $self->{proxy}{"$i>$j"};
        $b .= "    member " . $self->addr($j)
            . ($p ? ' rpc=127.0.0.1:' . $p->port : '') . ";\n";
    }
    $b .= "    $extra\n" if $extra ne '';
    return $b . "}\n";
}


# the conf text of node $i; %o overrides the conf options of new()
sub conf_text ($self, $i, %o) {
    my %c = (%{ $self->_conf_opts($i) }, %o);
    my $members = $c{members} // [ $self->members_of($i) ];
    my $t = $self->node($i);
    return $t->conf(
        (map { exists $c{$_} ? ($_ => $c{$_}) : () }
             qw(log_level main events http access_log context_path)),
        extra => $self->store_block($c{store} // '')
               . $self->cluster_block($i, $members, $c{cluster} // '')
               . ($c{extra} // ''));
}


# writes node $i's conf (members => [...] changes its member list for
# good); returns the path
sub write_conf ($self, $i, %o) {
    $self->{members}{$i} = [ @{ $o{members} } ] if $o{members};
    my $t = $self->node($i);
    return $t->write_conf('nacosd.conf', $self->conf_text($i, %o));
}


# rewrites node $i's conf and sends it SIGHUP
sub reload ($self, $i, %o) {
    $self->write_conf($i, %o);
    $self->node($i)->signal('HUP');
    return $self;
}


# ---- running -----------------------------------------------------------------

# starts every node that is not running (each must answer liveness within
# 10 s, or this dies with its log tails), then waits for each to be ready;
# true when all are
sub start_all ($self, $timeout = 30) {
    for my $t ($self->nodes) {
        $t->run unless $t->running;
    }
    my $ok = 1;
    for my $i (1 .. $self->{n}) {
        next if $self->node($i)->wait_ready($timeout);
        Test::More::diag("node $i not ready within ${timeout}s:\n"
                         . $self->node($i)->_tails);
        $ok = 0;
    }
    return $ok;
}


sub stop ($self, $i) { $self->node($i)->stop }

sub kill9 ($self, $i) { $self->node($i)->kill('KILL') }


# stops node $i if it runs, starts it with the same conf and ports, waits
# for readiness; true when ready
sub restart ($self, $i, $timeout = 30) {
    my $t = $self->node($i);
    $t->stop if $t->running;
    $t->run;
    return $t->wait_ready($timeout);
}


sub _pair ($self, $i, $j) {
    my @p = map { $self->{proxy}{$_} // die "Test::Nd::Cluster: link $_ "
                                            . "has no proxy\n" }
            ("$i>$j", "$j>$i");
    return @p;
}


# both directions of the link between nodes $i and $j; $mode 'blackhole'
# (default) or 'refuse'
sub cut ($self, $i, $j, $mode = undef) {
    $_->cut($mode // ()) for $self->_pair($i, $j);
    return $self;
}


sub heal ($self, $i, $j) {
    $_->heal for $self->_pair($i, $j);
    return $self;
}


# ---- views -------------------------------------------------------------------

# node $i's GET /nacos/v1/core/cluster/nodes data (array ref), or undef
sub members ($self, $i, $keyword = undef) {
    my $t = $self->node($i);
    return undef unless $t->running;
    my $path = $t->context_path . '/v1/core/cluster/nodes';
    $path .= "?keyword=$keyword" if defined $keyword;
    # auth on (the auth tests): the admin's token in {token}
    $path .= ($path =~ /\?/ ? '&' : '?') . "accessToken=$self->{token}"
        if defined $self->{token};
    my ($j, $r) = $t->http_json('GET', $path, timeout => 3);
    return undef unless $r->{status} == 200 && ref $j eq 'HASH'
                        && ref $j->{data} eq 'ARRAY';
    return $j->{data};
}


# the state of node $j as node $i sees it, or undef
sub state ($self, $i, $j) {
    my $m = $self->members($i) // return undef;
    my $addr = $self->addr($j);
    my ($e) = grep { ($_->{address} // '') eq $addr } @$m;
    return $e ? $e->{state} : undef;
}


# { node => { member address => state } } for the running nodes
sub views ($self) {
    my %v;
    for my $i (1 .. $self->{n}) {
        my $m = $self->members($i) or next;
        $v{$i} = { map { ($_->{address} // '?') => $_->{state} } @$m };
    }
    return \%v;
}


sub diag_views ($self) {
    Test::More::diag(JSON::PP->new->canonical->encode($self->views));
}


# node $i lists exactly the members of its conf, every one UP
sub all_up_on ($self, $i) {
    my $m = $self->members($i) // return 0;
    my %want = map { $self->addr($_) => 1 } $self->members_of($i);
    return 0 unless @$m == keys %want;
    for my $e (@$m) {
        return 0 unless $want{ $e->{address} // '' }
                        && ($e->{state} // '') eq 'UP';
    }
    return 1;
}


# every node's members list shows every member UP, within $timeout s
sub wait_all_up ($self, $timeout = 20) {
    return $self->wait_for($timeout, sub {
        for my $i (1 .. $self->{n}) {
            return 0 unless $self->all_up_on($i);
        }
        return 1;
    });
}


# polls $cb every 100 ms (each poll asks the nodes over HTTP) until it is
# true, within $timeout s; true when it was
sub wait_for ($self, $timeout, $cb) {
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        return 1 if $cb->();
        return 0 if Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep(0.1);
    }
}


# ---- teardown ----------------------------------------------------------------

# stops every node (one test each: exit 0 on TERM, clean logs), then the
# proxies, then PostgreSQL
# $quiet (at exit, e.g. after a die): a test only for a problem
sub teardown ($self, $quiet = 0) {
    return if $self->{down}++;
    delete $LIVE{ Scalar::Util::refaddr($self) };
    for my $t ($self->nodes) {
        if ($quiet) {
            $t->_end_check;
        } elsif ($t->running || !$t->{checked} && -e $t->testdir
                                                 . '/stderr.log') {
            $t->stop;
        }
    }
    $_->stop for values %{ $self->{proxy} };
    $self->{pg}->stop if $self->{pg} && !$self->{opt}{pg};
}


sub done_testing ($self, @args) {
    $self->teardown;
    Test::More::done_testing(@args);
}


sub DESTROY ($self) {
    return if ${^GLOBAL_PHASE} eq 'DESTRUCT' || $self->{owner} != $$;
    $self->teardown;
}


# before the END blocks of Test::Nd::Proxy, ::Pg and Test::Nd (compiled
# earlier, so run later): the nodes stop while their database still runs
END {
    my $st = $?;
    $_->teardown(1) for grep { defined && $_->{owner} == $$ } values %LIVE;
    $? = $st;
}

1;

__END__

=head1 NAME

Test::Nd::Cluster - N real nacosd nodes in one cluster, links cuttable

=head1 CONSTRUCTOR

=over

=item new(nodes => 3, proxy => 1 | [[i, j], ...], conf => {...} | sub, pg => $pg, cut_mode => 'blackhole')

Skips the test unless the binary has the C<store> and C<cluster> modules;
starts (or takes) a PostgreSQL; makes N Test::Nd nodes (own prefix, ports
P, P+1000, P+1001); starts a proxy for every directed link (C<proxy =E<gt> 1>)
or for the listed ones; writes every node's conf. Does not start nodes.

C<conf> is a hash ref for all nodes or C<sub ($cl, $i)> returning one:
C<log_level main events http access_log context_path extra> as in
C<Test::Nd::conf>, C<store> (more directives in C<store {}>), C<cluster>
(more directives in C<cluster {}>, e.g. C<report_interval 500ms;>),
C<members> (node numbers listed, default all).

=back

=head1 THE CONF OF A NODE

Node 1 of three, the link 1->2 proxied, C<cluster =E<gt> 'report_interval
500ms;'> (ports are examples; the PostgreSQL is the test's own):

    daemon off;
    pid logs/nacosd.pid;
    error_log logs/error.log info;

    events {

    }
    http {
        listen 127.0.0.1:14811;
        context_path /nacos;
        access_log logs/access.log;

    }
    store {
        schema_dir <repo>/conf/schema;
        backend pg;
        pg_conninfo "hostaddr=127.0.0.1 port=45399 dbname=nacos user=postgres connect_timeout=5";
        pg_pool 3;
        pg_reconnect_max 300ms;
        query_timeout 3s;
        cache_refresh 200ms;
    }
    cluster {
        member 127.0.0.1:14811;
        member 127.0.0.1:20627 rpc=127.0.0.1:14989;
        member 127.0.0.1:12229;
        report_interval 500ms;
    }

C<self> and C<listen> are left to their defaults (the member equal to the
HTTP listen address; HTTP port + 1001); the SDK gRPC port is the default
HTTP port + 1000. The proxy 127.0.0.1:14989 forwards to node 2's cluster
RPC port, 20627 + 1001.

=head1 METHODS

=over

=item n, nodes, node($i), pg, proxy($i, $j), addr($j), members_of($i)

Nodes are numbered from 1. C<addr> is "127.0.0.1:P", as member lists show
it. C<proxy> is the Test::Nd::Proxy of the link i->j (node i dials j).

=item conf_text($i, %o), write_conf($i, %o), reload($i, %o), store_block, cluster_block

The conf of node i; C<%o> overrides the C<conf> options (C<members =E<gt>
[...]> in write_conf/reload changes the list for good). C<reload> writes
and sends SIGHUP.

=item start_all($timeout), stop($i), kill9($i), restart($i, $timeout)

C<start_all> runs the nodes not running and waits for readiness (true when
all are ready). C<stop> is Test::Nd::stop (one test); C<kill9> is
Test::Nd::kill (one test on the logs); C<restart> stops if needed, runs,
waits ready.

=item cut($i, $j, $mode), heal($i, $j)

Both directions of a proxied link; C<$mode> 'blackhole' or 'refuse'.

=item members($i, $keyword), state($i, $j), views, diag_views, all_up_on($i), wait_all_up($timeout), wait_for($timeout, $cb)

C<members>: node i's C</v1/core/cluster/nodes> data. C<state>: node j's
state in it. C<wait_all_up>: every node lists exactly its conf's members,
all UP.

=item teardown, done_testing

Stops the nodes (one test each), the proxies, PostgreSQL.

=back

=cut
