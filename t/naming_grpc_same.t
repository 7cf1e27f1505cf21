#!/usr/bin/perl
# A gRPC connection registering what it already has (an SDK's redo, the
# bench's re-registers): the instance is kept instead of rebuilt
# (nd_naming_register_batch), yet as in Nacos the register still counts
# as a change -- the subscriber is pushed again, with the same host --
# while a register that differs in any one field (weight, healthy,
# enabled, metadata, cluster, instanceId, port) is applied and pushed.
# The connection publishes to more services than its index threshold
# (nd_naming_pubs_t, made at 16), so lookups, batches and deregisters go
# through the index; every service is then checked over HTTP.
use v5.36;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Test::Nd;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw/grpc naming/);
Test::Nd::Grpc->ensure_client;

$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . "naming {\n    push_min_interval 10ms;\n}\n"));
$t->run;
my $gport = $t->port(9848);
my $ns = '/nacos/v1/ns';
my $dir = $t->testdir;

sub inst (%over) {
    return { ip => '10.4.0.1', port => 80, weight => 1, healthy => \1,
             enabled => \1, ephemeral => \1, clusterName => 'c1',
             metadata => { k => 'v' }, %over };
}

sub reg ($svc, $inst) {
    return { op => 'unary', type => 'InstanceRequest',
             body => { namespace => 'public', groupName => 'DEFAULT_GROUP',
                       serviceName => $svc, type => 'registerInstance',
                       instance => $inst } };
}

sub dereg ($svc) {
    return { op => 'unary', type => 'InstanceRequest',
             body => { namespace => 'public', groupName => 'DEFAULT_GROUP',
                       serviceName => $svc, type => 'deregisterInstance',
                       instance => { ip => '10.4.0.1', port => 80 } } };
}

sub batch ($svc, @ips) {
    return { op => 'unary', type => 'BatchInstanceRequest',
             body => { namespace => 'public', groupName => 'DEFAULT_GROUP',
                       serviceName => $svc,
                       type => 'batchRegisterInstance',
                       instances => [ map { inst(ip => $_) } @ips ] } };
}

sub gate ($n) { return { op => 'gate', file => "$dir/gate$n" } }

# the subscriber
my $sub = Test::Nd::Grpc->start($gport, [
    Test::Nd::Grpc->hello,
    { op => 'unary', type => 'SubscribeServiceRequest',
      body => { namespace => 'public', serviceName => 'rr',
                groupName => 'DEFAULT_GROUP', clusters => '',
                subscribe => \1, module => 'naming' } },
    { op => 'hold' } ]);
ok($sub->wait_line(sub ($l) { ($l->{op} // '') eq 'hold' }, 20),
   'subscribed');

# each phase: a register of rr, then what the subscriber must get
my %last = (weight => 2, healthy => \0, metadata => { k => 'w', j => '1' },
            clusterName => 'c2', instanceId => 'iid-7', port => 81);
my @phases = (
    [ inst(),                      'first register' ],
    [ inst(),                      'the same again' ],
    [ inst(),                      'and again' ],
    [ inst(weight => 2),           'weight' ],
    [ inst(weight => 2, healthy => \0), 'healthy' ],
    [ inst(weight => 2, healthy => \0, metadata => { k => 'w' }),
      'metadata value' ],
    [ inst(weight => 2, healthy => \0, metadata => { k => 'w', j => '1' }),
      'metadata key' ],
    [ inst(weight => 2, healthy => \0, metadata => { k => 'w', j => '1' }),
      'the same again' ],
    [ inst(weight => 2, healthy => \0, metadata => { k => 'w', j => '1' },
           clusterName => 'c2'), 'cluster' ],
    [ inst(weight => 2, healthy => \0, metadata => { k => 'w', j => '1' },
           clusterName => 'c2', instanceId => 'iid-7'), 'instanceId' ],
    [ inst(%last),                 'port' ],
    [ inst(%last),                 'the same again' ],
    # a disabled instance is in no ServiceInfo: the push has no host
    [ inst(%last, enabled => \0),  'enabled' ],
    [ inst(port => 81),            'back to the defaults' ],
);

my @steps = (Test::Nd::Grpc->hello,
             # past the index threshold before rr
             map({ reg("svc-$_", inst()) } 1 .. 20));
for my $i (0 .. $#phases) {
    push @steps, reg('rr', $phases[$i][0]), gate($i);
}
push @steps,
    # batches through the index: 3, the same 3, 2 of them, reordered
    batch('bb', qw/10.5.0.1 10.5.0.2 10.5.0.3/),
    batch('bb', qw/10.5.0.1 10.5.0.2 10.5.0.3/),
    batch('bb2', qw/10.5.0.9/),
    batch('bb', qw/10.5.0.2 10.5.0.3/),
    batch('bb', qw/10.5.0.3 10.5.0.2/),
    # a single register equal to the first of a batch replaces the batch
    batch('bm', qw/10.5.1.1 10.5.1.2/),
    reg('bm', inst(ip => '10.5.1.1')),
    batch('bm2', qw/10.5.1.1 10.5.1.2/),
    batch('bm2', qw/10.5.1.1/),
    reg('bm2', inst(ip => '10.5.1.1')),
    # deregisters and registers around the index (backward shifts)
    map({ dereg("svc-$_") } grep { $_ % 3 == 0 } 1 .. 20),
    map({ reg("svc-$_", inst(weight => 3)) } grep { $_ % 4 == 0 } 1 .. 20),
    map({ reg("svc-$_", inst(weight => 3)) } 21 .. 40),
    map({ dereg("svc-$_") } grep { $_ % 5 == 0 } 21 .. 40),
    map({ reg("svc-$_", inst()) } grep { $_ % 7 == 0 } 1 .. 40),
    { op => 'hold' };

my $pub = Test::Nd::Grpc->start($gport, \@steps);

# pushes the subscriber got of rr, in order
sub pushes () {
    return [ map { $_->{body}{serviceInfo} }
             grep { ($_->{event} // '') eq 'push'
                    && $_->{type} eq 'NotifySubscriberRequest' }
             @{ $sub->lines } ];
}

sub host_text ($h) {
    return join ' ', $h->{ip}, $h->{port}, $h->{weight},
        $h->{healthy} ? 'up' : 'down', $h->{enabled} ? 'on' : 'off',
        $h->{clusterName}, $h->{instanceId},
        join(',', map { "$_=$h->{metadata}{$_}" }
                  sort keys %{ $h->{metadata} // {} });
}

sub want_text ($i) {
    my %in = %{ $phases[$i][0] };
    my $cl = $in{clusterName};
    return '' if !${ $in{enabled} };
    return host_text({ %in,
        healthy => ${ $in{healthy} }, enabled => ${ $in{enabled} },
        instanceId => $in{instanceId}
                      // "$in{ip}#$in{port}#$cl#DEFAULT_GROUP\@\@rr" });
}

my $seen = scalar @{ pushes() };     # the push after the subscribe
for my $i (0 .. $#phases) {
    my ($got, $end) = (undef, time + 10);
    while (time < $end) {
        my $p = pushes();
        if (@$p > $seen) {
            $got = $p->[-1];
            last if join(' | ', map { host_text($_) } @{ $got->{hosts} })
                    eq want_text($i);
        }
        sleep 0.02;
    }
    my $hosts = $got ? join(' | ', map { host_text($_) } @{ $got->{hosts} })
                     : 'no push';
    is($hosts, want_text($i), "rr pushed after phase $i: $phases[$i][1]");
    $seen = scalar @{ pushes() };
    open my $fh, '>', "$dir/gate$i" or die;
    close $fh;
}

ok($pub->wait_line(sub ($l) { ($l->{op} // '') eq 'hold' }, 30),
   'every request sent');
my $ans = Test::Nd::Grpc->steps($pub->lines);
my @bad = grep { ($_->{body}{resultCode} // 0) != 200 }
          grep { ($_->{op} // '') eq 'unary' } values %$ans;
is(scalar @bad, 0, 'every register and deregister answered 200')
    or diag explain $bad[0];

sub list ($svc) {
    my $r = $t->http_json('GET', "$ns/instance/list?serviceName=$svc");
    return join ' | ', sort map { "$_->{ip}:$_->{port} w$_->{weight}" }
                       @{ $r->{hosts} };
}

is(list('bb'), '10.5.0.2:80 w1 | 10.5.0.3:80 w1', 'bb: the last batch');
is(list('bb2'), '10.5.0.9:80 w1', 'bb2: its batch');
is(list('bm'), '10.5.1.1:80 w1', 'bm: a register after a batch of two');
is(list('bm2'), '10.5.1.1:80 w1', 'bm2: batches of two, one, a register');
is(list('rr'), '10.4.0.1:81 w1', 'rr: the last register');

for my $n (1 .. 40) {
    my $want = $n % 7 == 0 ? 'w1'
             : $n <= 20 && $n % 4 == 0 ? 'w3'
             : $n <= 20 && $n % 3 == 0 ? ''
             : $n <= 20 ? 'w1'
             : $n % 5 == 0 ? '' : 'w3';
    $want = "10.4.0.1:80 $want" if $want ne '';
    is(list("svc-$n"), $want, "svc-$n");
}

# the connection goes: every instance of it with it
$pub->kill;
my $end = time + 10;
sleep 0.1 while time < $end && list('svc-1') ne '';
is(join('', map { list("svc-$_") } 1 .. 40) . list('bb') . list('rr'), '',
   'the closed connection left no instance');

$sub->kill;
$t->stop;
done_testing();
