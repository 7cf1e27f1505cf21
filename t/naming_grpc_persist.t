#!/usr/bin/perl
# Ability negotiation and PersistentInstanceRequest on a real gRPC stack,
# on both store backends:
#  - ServerCheck offers negotiation; a setup with an abilityTable (Java and
#    Python 2.3+) gets SetupAckRequest announcing
#    supportPersistentInstanceByGrpc; setups without one (2.0-2.2 Java's
#    "abilities", Go's "clientAbilities") get none;
#  - a persistent register over gRPC is answered InstanceResponse once
#    stored, is not the connection's (it stays when the connection goes),
#    survives kill -9, and a deregister removes it for good;
#  - errors: an ephemeral service, an unknown type, a bad instance.
use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Time::HiRes qw(sleep);
use JSON::PP ();
use Test::More;
use Test::Nd;
use Test::Nd::Grpc;
use Test::Nd::Pg;
use Test::Nd::StoreSuite qw(store_conf form);

my $NS = '/nacos/v1/ns';
Test::Nd::Grpc->ensure_client;


sub setup (%body) {
    return ({ op => 'unary', type => 'ServerCheckRequest', body => {} },
            { op => 'bidi_open' },
            { op => 'bidi_send', type => 'ConnectionSetupRequest',
              body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                        labels => { source => 'sdk', module => 'naming' },
                        %body } });
}


sub inst ($ip, $port, %o) {
    return { ip => $ip, port => $port, weight => 2.0,
             healthy => JSON::PP::true, enabled => JSON::PP::true,
             ephemeral => JSON::PP::false, clusterName => 'DEFAULT',
             metadata => { k => 'v' }, %o };
}


sub persist ($svc, $type, $inst, %o) {
    return { op => 'unary', type => 'PersistentInstanceRequest',
             body => { namespace => 'public', serviceName => $svc,
                       groupName => 'DEFAULT_GROUP', module => 'naming',
                       type => $type, instance => $inst, %o } };
}


sub hosts ($t, %a) {
    my $j = $t->http_json('GET', "$NS/instance/list?" . form(%a));
    return { map { ("$_->{ip}:$_->{port}" => $_) } @{ $j->{hosts} // [] } };
}


sub backend_tests ($backend) {
    my $t = Test::Nd->new;
    $t->has(qw/grpc naming store/);
    my $pg = $backend eq 'pg' ? Test::Nd::Pg->start_or_skip : undef;
    my $L = "$backend:";

    $t->write_conf('nacosd.conf', store_conf($t, $backend, $pg, '',
        "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"));
    $t->run;
    ok($t->wait_ready(20), "$L ready") or diag($t->error_log);
    my $gport = $t->port(9848);

    # negotiation: a 2.3+ setup carries an abilityTable (usually {})
    my $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run($gport, [
        setup(abilityTable => {}),
        { op => 'wait', type => 'SetupAckRequest', timeout => 5000 },
        persist('pgsvc', 'registerInstance', inst('10.7.0.1', 8080)),
        persist('pgsvc', 'registerInstance', inst('10.7.0.2', 8081,
                clusterName => 'c2', metadata => {})),
        persist('pgsvc', 'registerInstance', inst('10.7.0.3', 8082)),
        persist('pgsvc', 'deregisterInstance', inst('10.7.0.3', 8082)),
    ]));
    is($s->{0}{body}{supportAbilityNegotiation}, JSON::PP::true,
       "$L ServerCheck offers ability negotiation");
    is($s->{3}{type}, 'SetupAckRequest', "$L SetupAckRequest after setup")
        or diag(explain($s->{3}));
    is_deeply($s->{3}{body}{abilityTable},
              { supportPersistentInstanceByGrpc => JSON::PP::true },
              "$L it announces persistent instances over gRPC");
    is($s->{3}{body}{module}, 'internal', "$L module internal");
    like($s->{3}{body}{requestId} // '', qr/^\d+$/, "$L with a requestId");

    for my $i (4 .. 7) {
        is($s->{$i}{type}, 'InstanceResponse', "$L step $i InstanceResponse")
            or diag(explain($s->{$i}));
        ok($s->{$i}{body}{success}, "$L step $i success");
    }
    is($s->{4}{body}{type}, 'registerInstance', "$L type echoed");
    is($s->{7}{body}{type}, 'deregisterInstance', "$L deregister echoed");

    # the connection is gone: persistent instances are not its own
    my $h = hosts($t, serviceName => 'pgsvc');
    is_deeply([ sort keys %$h ], [ '10.7.0.1:8080', '10.7.0.2:8081' ],
              "$L both stay after the connection closed, the third is gone");
    is($h->{'10.7.0.1:8080'}{ephemeral}, JSON::PP::false, "$L not ephemeral");
    is($h->{'10.7.0.1:8080'}{weight}, 2, "$L weight");
    is($h->{'10.7.0.1:8080'}{metadata}{k}, 'v', "$L metadata");
    is($h->{'10.7.0.2:8081'}{clusterName}, 'c2', "$L cluster");

    # 2.0-2.2 Java ("abilities") and Go ("clientAbilities"): no SetupAck
    for my $old ([ abilities => { remoteAbility => {} } ],
                 [ clientAbilities => {} ]) {
        $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run($gport, [
            setup(@$old),
            { op => 'wait', type => 'SetupAckRequest', timeout => 700 },
            { op => 'unary', type => 'HealthCheckRequest', body => {} },
        ]));
        ok($s->{3}{timeout}, "$L setup with $old->[0]: no SetupAckRequest");
        is($s->{4}{type}, 'HealthCheckResponse', "$L and it is registered");
    }

    # errors
    my $eph = { op => 'unary', type => 'InstanceRequest',
                body => { namespace => 'public', serviceName => 'esvc',
                          groupName => 'DEFAULT_GROUP',
                          type => 'registerInstance',
                          instance => inst('10.7.1.1', 1,
                                           ephemeral => JSON::PP::true) } };
    $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run($gport, [
        setup(abilityTable => {}),
        { op => 'sleep', ms => 100 },
        $eph,
        persist('esvc', 'registerInstance', inst('10.7.1.2', 2)),
        persist('pgsvc', 'updateInstance', inst('10.7.1.3', 3)),
        persist('pgsvc', 'registerInstance', { port => 3 }),
        persist('pgsvc', 'registerInstance', inst('10.7.1.4', 70000)),
        persist('', 'registerInstance', inst('10.7.1.5', 5)),
    ]));
    is($s->{4}{type}, 'InstanceResponse', "$L an ephemeral registration");
    is($s->{5}{type}, 'ErrorResponse', "$L persistent into it: error");
    is($s->{5}{body}{errorCode}, 400, "$L errorCode 400");
    like($s->{5}{body}{message},
         qr/is ephemeral service, can't register persistent/,
         "$L the Nacos message");
    is($s->{6}{body}{errorCode}, 400, "$L unknown type: 400");
    like($s->{6}{body}{message}, qr/Unsupported request type updateInstance/,
         "$L names the type");
    is($s->{7}{body}{errorCode}, 400, "$L no ip: 400");
    like($s->{7}{body}{message}, qr/'ip' is required/, "$L says so");
    is($s->{8}{body}{errorCode}, 400, "$L port out of range: 400");
    is($s->{9}{body}{resultCode}, 500, "$L no serviceName: refused");
    is($s->{9}{body}{errorCode}, 400, "$L errorCode 400");
    ok(!hosts($t, serviceName => 'pgsvc')->{'10.7.1.4:70000'},
       "$L nothing stored by the refused ones");

    # kill -9: what was answered is there after a restart
    kill 'KILL', $t->pid;
    waitpid($t->pid, 0);
    $t->{pid} = undef;
    $t->run;
    ok($t->wait_ready(20), "$L ready after kill -9") or diag($t->error_log);
    $h = hosts($t, serviceName => 'pgsvc');
    is_deeply([ sort keys %$h ], [ '10.7.0.1:8080', '10.7.0.2:8081' ],
              "$L the registered ones survived, the deregistered did not");
    is($h->{'10.7.0.1:8080'}{weight}, 2, "$L weight survived");

    # deregister over gRPC on a new connection, then gone after a restart
    $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run($gport, [
        setup(abilityTable => {}),
        { op => 'sleep', ms => 100 },
        persist('pgsvc', 'deregisterInstance', inst('10.7.0.1', 8080)),
        persist('pgsvc', 'deregisterInstance', inst('10.9.9.9', 1)),
    ]));
    is($s->{4}{type}, 'InstanceResponse', "$L deregister answered");
    is($s->{5}{type}, 'InstanceResponse', "$L deregister of nothing is ok");
    $t->stop;
    $t->run;
    ok($t->wait_ready(20), "$L ready after a restart");
    is_deeply([ sort keys %{ hosts($t, serviceName => 'pgsvc') } ],
              [ '10.7.0.2:8081' ], "$L the deregister was stored");

    $t->stop;
    my @bad = $t->log_problems;
    ok(!@bad, "$L no [alert] or sanitizer report") or diag("@bad");
}


subtest 'sqlite' => sub { backend_tests('sqlite') };
subtest 'pg' => sub { backend_tests('pg') };

done_testing();
