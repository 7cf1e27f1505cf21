package Test::Nd::Distro;

# What the t/distro_*.t tests share: the module check (skip_all without
# distro), a 3-node Test::Nd::Cluster with short report intervals, gRPC
# naming clients on t/grpc/client.js, and every node's view of a service
# through the 1.x list query, with a diag of all views when a check fails.
#
#     my $d = Test::Nd::Distro->new(distro => 'verify_interval 1s;');
#     $d->start or exit 1;
#     my $c = $d->client(1, $d->reg('svc', '10.0.0.1', 80), { op => 'hold' });
#     $d->converged('svc', ['10.0.0.1:80'], 10, 'seen everywhere');
#     $d->done_testing;

use v5.36;

use File::Temp ();
use JSON::PP ();
use Time::HiRes ();
use Test::More ();
use Test::Nd;
use Test::Nd::Cluster;
use Test::Nd::Grpc;

my $NS = '/nacos/v1/ns';


# skip_all unless the binary has every module these tests need; before
# anything is started (no PostgreSQL for a skipped test)
sub require_modules ($class) {
    my $t = Test::Nd->new;
    my @missing = grep { !$t->has_module($_) }
                  qw(store cluster grpc naming distro);
    Test::More::plan(skip_all => "nacosd built without the @missing "
                     . "module(s): the distro tests need them") if @missing;
    Test::Nd::Grpc->ensure_client;
    return $t;
}


# nodes (3), proxy (as Test::Nd::Cluster), grpc (directives in grpc {}),
# distro (directives in distro {}), naming (in naming {}), cluster (more
# cluster directives), log_level
sub new ($class, %o) {
    $class->require_modules;
    my $extra = '';
    $extra .= "grpc {\n    $o{grpc}\n}\n" if defined $o{grpc};
    $extra .= "distro {\n    $o{distro}\n}\n" if defined $o{distro};
    $extra .= "naming {\n    $o{naming}\n}\n" if defined $o{naming};
    my $cl = Test::Nd::Cluster->new(
        nodes => $o{nodes} // 3,
        ($o{proxy} ? (proxy => $o{proxy}) : ()),
        conf  => { cluster => "report_interval 500ms;\n"
                            . "    unhealthy_report_interval 1s;\n"
                            . "    call_timeout 1s;"
                            . (defined $o{cluster} ? "\n    $o{cluster}" : ''),
                   log_level => $o{log_level} // 'info',
                   extra => $extra });
    my $dir = File::Temp::tempdir('nd-distro-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    return bless { cl => $cl, gates => $dir, gate_n => 0, clients => [] },
                 $class;
}


sub cl   ($self)     { $self->{cl} }
sub node ($self, $i) { $self->{cl}->node($i) }
sub n    ($self)     { $self->{cl}->n }


# starts every node and waits for all of them to see all UP; on failure
# the test is ended (false returned after done_testing)
sub start ($self, $timeout = 30) {
    my $cl = $self->{cl};
    if (!Test::More::ok($cl->start_all($timeout),
                        $cl->n . ' nodes started and ready')) {
        $self->done_testing;
        return 0;
    }
    if (!Test::More::ok($cl->wait_all_up(20), 'every node sees every member UP')) {
        $cl->diag_views;
        $self->done_testing;
        return 0;
    }
    return 1;
}


sub done_testing ($self) {
    $_->kill for grep { $_->{pid} } @{ $self->{clients} };
    $self->{cl}->done_testing;
}


# ---- gRPC clients --------------------------------------------------------------

sub handshake ($self, %labels) {
    return ({ op => 'unary', type => 'ServerCheckRequest', body => {} },
            { op => 'bidi_open' },
            { op => 'bidi_send', type => 'ConnectionSetupRequest',
              body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                        labels => { source => 'sdk', module => 'naming',
                                    %labels } } },
            { op => 'sleep', ms => 100 });
}


sub inst ($self, $ip, $port, %o) {
    return { ip => $ip, port => $port + 0, weight => 1.0,
             healthy => JSON::PP::true, enabled => JSON::PP::true,
             ephemeral => JSON::PP::true, clusterName => 'DEFAULT',
             metadata => {}, %o };
}


sub reg ($self, $svc, $ip, $port, $type = 'registerInstance') {
    return { op => 'unary', type => 'InstanceRequest',
             body => { namespace => 'public', serviceName => $svc,
                       groupName => 'DEFAULT_GROUP', module => 'naming',
                       type => $type,
                       instance => $self->inst($ip, $port) } };
}


sub dereg ($self, $svc, $ip, $port) {
    return $self->reg($svc, $ip, $port, 'deregisterInstance');
}


# one BatchInstanceRequest of ['ip', port] pairs
sub batch ($self, $svc, @pairs) {
    return { op => 'unary', type => 'BatchInstanceRequest',
             body => { namespace => 'public', serviceName => $svc,
                       groupName => 'DEFAULT_GROUP', module => 'naming',
                       type => 'batchRegisterInstance',
                       instances => [ map { $self->inst(@$_) } @pairs ] } };
}


sub subscribe ($self, $svc) {
    return { op => 'unary', type => 'SubscribeServiceRequest',
             body => { namespace => 'public', serviceName => $svc,
                       groupName => 'DEFAULT_GROUP', clusters => '',
                       subscribe => JSON::PP::true, module => 'naming' } };
}


# a gate step and the code that opens it: the client waits there until
# $open->() is called
sub gate ($self) {
    my $file = "$self->{gates}/gate-" . ++$self->{gate_n};
    my $open = sub {
        open my $fh, '>', $file or die "gate $file: $!";
        close $fh;
    };
    return ({ op => 'gate', file => $file }, $open);
}


# a background client on node $i's SDK port: the handshake, then @steps
# (step numbers of @steps start at 4)
sub client ($self, $i, @steps) {
    my $c = Test::Nd::Grpc->start($self->node($i)->port(9848),
                                  [ $self->handshake, @steps ]);
    push @{ $self->{clients} }, $c;
    return $c;
}


# the output line of step $n of a background client (undef after $timeout)
sub step ($self, $c, $n, $timeout = 20) {
    return $c->wait_line(sub ($l) { ($l->{step} // -1) == $n }, $timeout);
}


# a step answered with resultCode 200
sub step_ok ($self, $c, $n, $what) {
    my $l = $self->step($c, $n);
    my $ok = $l && ($l->{body}{resultCode} // 0) == 200;
    Test::More::ok($ok, $what)
        or Test::More::diag(Test::More::explain($l // $c->lines));
    return $ok;
}


# NotifySubscriberRequest bodies a client received, in order
sub pushes ($self, $c) {
    return [ map { $_->{body} }
             grep { ($_->{event} // '') eq 'push'
                    && ($_->{type} // '') eq 'NotifySubscriberRequest' }
             @{ $c->lines } ];
}


sub push_hosts ($self, $p) {
    return join ',', sort map { "$_->{ip}:$_->{port}" }
        @{ $p->{serviceInfo}{hosts} // [] };
}


# the first push after the first $skip whose hosts are exactly @want
sub wait_push ($self, $c, $want, $skip, $timeout) {
    my $w = join ',', sort @$want;
    my $found;
    $self->{cl}->wait_for($timeout, sub {
        my $p = $self->pushes($c);
        for my $k ($skip .. $#$p) {
            next unless $self->push_hosts($p->[$k]) eq $w;
            $found = $p->[$k];
            return 1;
        }
        return 0;
    });
    return $found;
}


# ---- views ---------------------------------------------------------------------

# node $i's hosts of $svc by the 1.x list query: array ref of the host
# objects, or undef when the node does not answer
sub hosts ($self, $i, $svc) {
    my $t = $self->node($i);
    return undef unless $t->running;
    my ($j, $r) = $t->http_json('GET', "$NS/instance/list?serviceName=$svc",
                                timeout => 5);
    return undef unless $r->{status} == 200 && ref $j eq 'HASH'
                        && ref $j->{hosts} eq 'ARRAY';
    return $j->{hosts};
}


# sorted "ip:port" of node $i's hosts (duplicates kept), or undef
sub addrs ($self, $i, $svc) {
    my $h = $self->hosts($i, $svc) // return undef;
    return [ sort map { "$_->{ip}:$_->{port}" } @$h ];
}


# { node => [ sorted ip:port ] } of the running nodes (or @nodes)
sub view ($self, $svc, @nodes) {
    @nodes = grep { $self->node($_)->running } 1 .. $self->n unless @nodes;
    return { map { ($_ => $self->addrs($_, $svc)) } @nodes };
}


# every node of @nodes lists exactly @$want (no duplicates)
sub same ($self, $svc, $want, @nodes) {
    my $w = join ',', sort @$want;
    for my $i (@nodes) {
        my $a = $self->addrs($i, $svc) // return 0;
        return 0 unless join(',', @$a) eq $w;
    }
    return 1;
}


# ok() that nodes (default all running) converge on exactly @$want
# within $timeout s; on failure the views, members and distro log lines
sub converged ($self, $svc, $want, $timeout, $what, @nodes) {
    @nodes = grep { $self->node($_)->running } 1 .. $self->n unless @nodes;
    my $ok = $self->{cl}->wait_for($timeout,
                                   sub { $self->same($svc, $want, @nodes) });
    Test::More::ok($ok, $what) or $self->diag_state($svc, $want, @nodes);
    return $ok;
}


# what each node holds of $svc compared with @$want, member views, and
# the last distro lines of each node's error log
sub diag_state ($self, $svc, $want = undef, @nodes) {
    @nodes = grep { $self->node($_)->running } 1 .. $self->n unless @nodes;
    my %w = map { $_ => 1 } @{ $want // [] };
    for my $i (@nodes) {
        my $a = $self->addrs($i, $svc);
        if (!$a) {
            Test::More::diag("node $i: no answer to the list of $svc");
            next;
        }
        my %seen;
        $seen{$_}++ for @$a;
        my @dup = grep { $seen{$_} > 1 } sort keys %seen;
        my @miss = grep { !$seen{$_} } sort keys %w;
        my @extra = grep { !$w{$_} } sort keys %seen;
        Test::More::diag("node $i lists " . scalar(@$a) . " of $svc"
            . ($want ? ' (want ' . scalar(keys %w) . ')' : '')
            . (@miss ? "; missing @miss[0 .. ($#miss > 9 ? 9 : $#miss)]"
                       . (@miss > 10 ? ' ...' : '') : '')
            . (@extra ? "; extra @extra[0 .. ($#extra > 9 ? 9 : $#extra)]"
                        . (@extra > 10 ? ' ...' : '') : '')
            . (@dup ? "; duplicated @dup" : ''));
    }
    $self->{cl}->diag_views;
    $self->diag_logs;
}


sub diag_logs ($self, $lines = 15) {
    for my $i (1 .. $self->n) {
        my @l = grep { /distro|snapshot|verify/i }
                split /\n/, $self->node($i)->error_log;
        @l = @l[-$lines .. -1] if @l > $lines;
        Test::More::diag("--- node $i error.log (distro lines):\n"
                         . join("\n", @l));
    }
}

1;

__END__

=head1 NAME

Test::Nd::Distro - a 3-node cluster, gRPC naming clients and per-node
views for the Distro tests

=head1 METHODS

=over

=item require_modules

C<skip_all> unless nacosd has store, cluster, grpc, naming and distro;
installs the gRPC client (Test::Nd::Grpc).

=item new(nodes, proxy, grpc, distro, cluster, log_level)

A Test::Nd::Cluster (not started) whose nodes get C<grpc { GRPC }> and
C<distro { DISTRO }> blocks and short report intervals.

=item start, done_testing, cl, node($i), n

=item handshake, inst, reg, dereg, batch(svc, [ip, port], ...), subscribe, gate

Steps for t/grpc/client.js; C<gate> returns a step and the sub that opens
it.

=item client($i, @steps), step($c, $n), step_ok($c, $n, $what), pushes($c), wait_push($c, \@want, $skip, $timeout)

A background client on node i's SDK port (the handshake is steps 0-3).

=item hosts($i, $svc), addrs($i, $svc), view($svc, @nodes), same($svc, \@want, @nodes), converged($svc, \@want, $timeout, $what, @nodes), diag_state, diag_logs

Node views by C<GET /nacos/v1/ns/instance/list>; C<converged> is a test
that diags every view, the member states and the distro log lines on
failure.

=back

=cut
