# Persistent naming instances (ephemeral=false) through the store, on both
# backends: written over v1 and v2 (register, PATCH, manual health,
# metadata batch, a cluster move, deregister), answered only once stored,
# and all there after kill -9 and a restart; ephemeral ones are not.  On
# PostgreSQL also: a store failure refuses the write (503) and leaves
# memory alone, and a node started while PostgreSQL is down stays not
# ready (persistent writes refused) until it has loaded them.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();
use JSON::PP ();
use Test::More;
use Test::Nd;
use Test::Nd::Pg;
use Test::Nd::StoreSuite qw(store_conf form);

my $NS = '/nacos/v1/ns';
my $NS2 = '/nacos/v2/ns';


sub call ($t, $method, $path, %a) {
    my ($j, $r) = $t->http_json($method, $path,
        body => form(%a),
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
    return wantarray ? ($r, $j) : $r;
}


# hosts of a service, by "ip:port"
sub hosts ($t, %a) {
    my $j = $t->http_json('GET', "$NS/instance/list?" . form(%a));
    return { map { ("$_->{ip}:$_->{port}" => $_) } @{ $j->{hosts} // [] } };
}


# every request at once, each on its own connection; the statuses
sub concurrent ($t, $method, $path, @bodies) {
    my (@socks, @resp);
    for my $b (@bodies) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $t->port, Proto => 'tcp')
            or die "connect: $!";
        my $req = $t->request_text($method, $path, body => $b,
            headers => { 'Content-Type'
                         => 'application/x-www-form-urlencoded' });
        syswrite($s, $req) == length $req or die "write: $!";
        push @socks, $s;
        push @resp, '';
    }
    my %idx = map { ("$socks[$_]" => $_) } 0 .. $#socks;
    my $sel = IO::Select->new(@socks);
    my $deadline = Time::HiRes::time() + 20;
    while ($sel->count && Time::HiRes::time() < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $n = sysread($s, my $buf, 65536);
            if ($n) {
                $resp[$idx{"$s"}] .= $buf;
                next;
            }
            $sel->remove($s);
            close $s;
        }
    }
    return map { /^HTTP\/1\.1 (\d+)/ ? $1 : 0 } @resp;
}


# the detail of one instance (its real health: lists may apply the
# protect threshold)
sub detail ($t, %a) {
    return scalar $t->http_json('GET', "$NS/instance?" . form(%a));
}


sub restart ($t, $label, %opt) {
    kill 'KILL', $t->pid;
    waitpid($t->pid, 0);
    $t->{pid} = undef;
    my @bad = $t->log_problems;
    ok(!@bad, "$label no [alert] before the kill") or diag("@bad");
    $opt{between}->() if $opt{between};
    $t->run;
    return if $opt{no_wait};
    ok($t->wait_ready(20), "$label ready after kill -9 and restart")
        or diag($t->error_log);
}


sub backend_tests ($backend) {
    my $t = Test::Nd->new;
    $t->has('naming', 'store');
    my $pg = $backend eq 'pg' ? Test::Nd::Pg->start_or_skip : undef;
    my $L = "$backend:";
    my $config = $t->has_module('config');

    $t->write_conf('nacosd.conf', store_conf($t, $backend, $pg));
    $t->run;
    ok($t->wait_ready(20), "$L ready") or diag($t->error_log);

    # v1 register: weight, metadata, cluster, health
    my $r = call($t, 'POST', "$NS/instance", serviceName => 'psvc',
                 ip => '10.1.0.1', port => 80, weight => 2.5,
                 clusterName => 'c1', healthy => 'false',
                 metadata => '{"k":"v","preserved.register.source":"SDK"}',
                 ephemeral => 'false');
    is("$r->{status} $r->{body}", '200 ok', "$L v1 persistent register");

    # v2 register in its own group
    my $j;
    ($r, $j) = call($t, 'POST', "$NS2/instance", serviceName => 'psvc2',
                    groupName => 'G2', ip => '10.1.0.2', port => 81,
                    weight => 3, metadata => 'a=1,b=2', ephemeral => 'false');
    is($r->{status}, 200, "$L v2 persistent register");
    is_deeply([ $j->{code}, $j->{data} ], [ 0, 'ok' ], "$L v2 envelope");

    # registered then deregistered: stays gone
    call($t, 'POST', "$NS/instance", serviceName => 'psvc', ip => '10.1.0.3',
         port => 80, ephemeral => 'false');
    ok(hosts($t, serviceName => 'psvc')->{'10.1.0.3:80'}, "$L third there");
    $r = call($t, 'DELETE', "$NS/instance?" . form(serviceName => 'psvc',
              ip => '10.1.0.3', port => 80, ephemeral => 'false'));
    is("$r->{status} $r->{body}", '200 ok', "$L v1 persistent deregister");
    ok(!hosts($t, serviceName => 'psvc')->{'10.1.0.3:80'},
       "$L deregistered one gone");

    # a deregister of nothing is ok (Nacos)
    $r = call($t, 'DELETE', "$NS2/instance?" . form(serviceName => 'psvc',
              ip => '10.9.9.9', port => 1, ephemeral => 'false'));
    is($r->{status}, 200, "$L deregister of nothing: ok");

    # PATCH (v2): only what it has
    ($r, $j) = call($t, 'PATCH', "$NS2/instance", serviceName => 'psvc2',
                    groupName => 'G2', ip => '10.1.0.2', port => 81,
                    weight => 7, metadata => '{"c":"3"}');
    is($r->{status}, 200, "$L v2 PATCH") or diag($r->{body});

    # PUT (v1): weight, enabled, metadata merged
    $r = call($t, 'PUT', "$NS/instance", serviceName => 'psvc',
              ip => '10.1.0.1', port => 80, clusterName => 'c1',
              weight => 2.5, enabled => 'true', metadata => 'k2=v2');
    is("$r->{status} $r->{body}", '200 ok', "$L v1 PUT");

    # manual health needs a NONE health checker on the cluster
    call($t, 'POST', "$NS/instance", serviceName => 'hsvc', ip => '10.1.0.5',
         port => 90, ephemeral => 'false');
    $r = call($t, 'PUT', "$NS/cluster", serviceName => 'hsvc',
              clusterName => 'DEFAULT', healthChecker => '{"type":"NONE"}');
    is($r->{status}, 200, "$L cluster health checker NONE");
    $r = call($t, 'PUT', "$NS/health/instance", serviceName => 'hsvc',
              ip => '10.1.0.5', port => 90, healthy => 'false');
    is("$r->{status} $r->{body}", '200 ok', "$L manual health");
    is(detail($t, serviceName => 'hsvc', ip => '10.1.0.5', port => 90)
           ->{healthy}, JSON::PP::false, "$L manual health applied");

    # metadata batch over a persistent and an ephemeral instance
    call($t, 'POST', "$NS/instance", serviceName => 'bsvc', ip => '10.1.0.6',
         port => 1, ephemeral => 'false');
    call($t, 'POST', "$NS/instance", serviceName => 'bsvc2', ip => '10.1.0.7',
         port => 1);
    ($r, $j) = call($t, 'PUT', "$NS/instance/metadata/batch",
                    serviceName => 'bsvc', metadata => '{"batch":"yes"}');
    is_deeply($j->{updated}, [ '10.1.0.6:1:unknown:DEFAULT:persist' ],
              "$L metadata batch lists the stored instance");

    # concurrent PATCHes of one instance run one after the other: none
    # is based on a state another one replaces (no lost update)
    my @st = concurrent($t, 'PATCH', "$NS/instance",
        map { form(serviceName => 'bsvc', ip => '10.1.0.6', port => 1,
                   metadata => "{\"p$_\":\"$_\"}") } 1 .. 30);
    is(scalar(grep { $_ == 200 } @st), 30, "$L 30 concurrent PATCHes: 200");
    my $meta = detail($t, serviceName => 'bsvc', ip => '10.1.0.6', port => 1)
               ->{metadata};
    is(scalar(grep { /^p\d+$/ } keys %$meta), 30,
       "$L every concurrent PATCH is in the metadata");

    # a move to another cluster leaves one instance (and one row)
    call($t, 'POST', "$NS/instance", serviceName => 'msvc', ip => '10.1.0.8',
         port => 1, clusterName => 'old', ephemeral => 'false');
    $r = call($t, 'POST', "$NS/instance", serviceName => 'msvc',
              ip => '10.1.0.8', port => 1, clusterName => 'new',
              ephemeral => 'false');
    is($r->{body}, 'ok', "$L moved to another cluster");

    # ephemeral instance (with a beat it would live; it must not survive)
    call($t, 'POST', "$NS/instance", serviceName => 'esvc', ip => '10.1.0.9',
         port => 1);
    ok(hosts($t, serviceName => 'esvc')->{'10.1.0.9:1'}, "$L ephemeral there");

    # ephemeral into a persistent service: refused as before
    $r = call($t, 'POST', "$NS/instance", serviceName => 'psvc',
              ip => '10.1.0.10', port => 1);
    is($r->{status}, 400, "$L ephemeral into a persistent service: 400");

    # namespaces are implicit for naming (Nacos 2.x): one never created
    # takes persistent instances too, and the load finds them again
    ($r, $j) = call($t, 'POST', "$NS2/instance", namespaceId => 'nsy',
                    serviceName => 'nsvc', ip => '10.1.0.12', port => 1,
                    ephemeral => 'false');
    is($r->{status}, 200, "$L namespace never created: 200");
    ok(hosts($t, namespaceId => 'nsy', serviceName => 'nsvc')
          ->{'10.1.0.12:1'}, "$L and registered");
    SKIP: {
        skip "$L no config module to create namespaces", 2 unless $config;
        $r = call($t, 'POST', '/nacos/v1/console/namespaces',
                  customNamespaceId => 'nsx', namespaceName => 'nsx');
        is($r->{body}, 'true', "$L namespace created");
        $r = call($t, 'POST', "$NS/instance", namespaceId => 'nsx',
                  serviceName => 'nsvc', ip => '10.1.0.11', port => 1,
                  ephemeral => 'false');
        is($r->{body}, 'ok', "$L register in a created namespace");
    }

    restart($t, $L);

    my $h = hosts($t, serviceName => 'psvc', healthyOnly => 'false');
    is_deeply([ sort keys %$h ], [ '10.1.0.1:80' ],
              "$L psvc: the registered one, not the deregistered one");
    my $i = $h->{'10.1.0.1:80'};
    is($i->{weight}, 2.5, "$L weight");
    is($i->{clusterName}, 'c1', "$L cluster");
    is(detail($t, serviceName => 'psvc', ip => '10.1.0.1', port => 80,
              clusterName => 'c1')->{healthy}, JSON::PP::false,
       "$L health (registered unhealthy)");
    ok($i->{enabled}, "$L enabled");
    ok(!$i->{ephemeral}, "$L persistent");
    is_deeply($i->{metadata}, { k => 'v', k2 => 'v2',
                                'preserved.register.source' => 'SDK' },
              "$L metadata (merged by PUT)");

    $j = $t->http_json('GET', "$NS2/instance?" . form(serviceName => 'psvc2',
                       groupName => 'G2', ip => '10.1.0.2', port => 81));
    is($j->{data}{weight}, 7, "$L v2 PATCH weight survived");
    is_deeply($j->{data}{metadata}, { a => 1, b => 2, c => 3 },
              "$L v2 metadata with the PATCH");

    is(detail($t, serviceName => 'hsvc', ip => '10.1.0.5', port => 90)
           ->{healthy}, JSON::PP::false, "$L manual health survived");
    $meta = detail($t, serviceName => 'bsvc', ip => '10.1.0.6', port => 1)
            ->{metadata};
    is($meta->{batch}, 'yes', "$L batch metadata survived");
    is(scalar(grep { /^p\d+$/ } keys %$meta), 30,
       "$L and every concurrent PATCH");
    $h = hosts($t, serviceName => 'msvc');
    is(join(',', map { $_->{clusterName} } values %$h), 'new',
       "$L moved instance: once, in the new cluster");
    if ($pg) {
        is($pg->psql("SELECT string_agg(cluster_name, ',') FROM "
                     . "naming_instance WHERE service_name = 'msvc'"),
           'new', "$L moved instance: one row");
    }
    ok(!hosts($t, serviceName => 'esvc')->{'10.1.0.9:1'},
       "$L the ephemeral instance did not survive");
    ok(hosts($t, namespaceId => 'nsy', serviceName => 'nsvc')
          ->{'10.1.0.12:1'}, "$L the never created namespace's instance "
                             . "survived");
    SKIP: {
        skip "$L no config module", 1 unless $config;
        ok(hosts($t, namespaceId => 'nsx', serviceName => 'nsvc')
               ->{'10.1.0.11:1'}, "$L the instance of the created namespace");
    }

    # after the restart writes go on
    $r = call($t, 'DELETE', "$NS/instance?" . form(serviceName => 'msvc',
              ip => '10.1.0.8', port => 1, ephemeral => 'false'));
    is($r->{body}, 'ok', "$L deregister after the restart");

    if ($pg) {
        pg_failures($t, $pg, $L);
    }

    $t->stop;
    my @bad = $t->log_problems;
    ok(!@bad, "$L no [alert] or sanitizer report") or diag("@bad");
}


sub pg_failures ($t, $pg, $L) {
    $pg->stop('fast');

    my ($r, $j) = call($t, 'POST', "$NS/instance", serviceName => 'fsvc',
                       ip => '10.2.0.1', port => 1, ephemeral => 'false');
    is($r->{status}, 503, "$L store down: v1 register refused with 503")
        or diag($r->{body});
    like($r->{body}, qr/not stored/, "$L and says why");
    ($r, $j) = call($t, 'POST', "$NS2/instance", serviceName => 'fsvc',
                    ip => '10.2.0.2', port => 1, ephemeral => 'false');
    is($r->{status}, 503, "$L store down: v2 register refused");
    is($j->{code}, 30000, "$L v2 error envelope");
    ok(!%{ hosts($t, serviceName => 'fsvc') },
       "$L refused instances are not listed");

    $r = call($t, 'DELETE', "$NS/instance?" . form(serviceName => 'psvc',
              ip => '10.1.0.1', port => 80, ephemeral => 'false'));
    is($r->{status}, 503, "$L store down: deregister refused");
    ok(hosts($t, serviceName => 'psvc', healthyOnly => 'false')
           ->{'10.1.0.1:80'}, "$L and the instance stays");
    $r = call($t, 'PATCH', "$NS/instance", serviceName => 'psvc',
              ip => '10.1.0.1', port => 80, clusterName => 'c1', weight => 9);
    is($r->{status}, 503, "$L store down: PATCH refused");
    is(hosts($t, serviceName => 'psvc', healthyOnly => 'false')
           ->{'10.1.0.1:80'}{weight}, 2.5, "$L and the weight stays");

    # ephemeral writes do not need the store
    $r = call($t, 'POST', "$NS/instance", serviceName => 'esvc2',
              ip => '10.2.0.3', port => 1);
    is($r->{body}, 'ok', "$L ephemeral register while the store is down");

    $pg->start;
    my $ok = $t->wait_for(10, sub {
        call($t, 'POST', "$NS/instance", serviceName => 'fsvc',
             ip => '10.2.0.4', port => 1, ephemeral => 'false')->{status}
            == 200;
    });
    ok($ok, "$L writes work again once PostgreSQL is back");

    # a node started while PostgreSQL is down: not ready, writes refused,
    # then loads everything once it is back
    restart($t, "$L down at start", no_wait => 1,
            between => sub { $pg->stop('fast') });
    Time::HiRes::sleep(1);
    $r = $t->http_get('/nacos/v1/console/health/readiness');
    is($r->{status}, 503, "$L not ready while PostgreSQL is down");
    $r = call($t, 'POST', "$NS/instance", serviceName => 'psvc',
              ip => '10.2.0.5', port => 1, ephemeral => 'false');
    is($r->{status}, 503, "$L persistent write refused before the load");
    $pg->start;
    ok($t->wait_ready(20), "$L ready once PostgreSQL is back")
        or diag($t->error_log);
    my $h = hosts($t, serviceName => 'fsvc');
    is_deeply([ sort keys %$h ], [ '10.2.0.4:1' ],
              "$L loaded: the acknowledged one, none of the refused");
    ok(hosts($t, serviceName => 'psvc', healthyOnly => 'false')
           ->{'10.1.0.1:80'}, "$L loaded: the older ones too");
}


backend_tests($_) for qw(sqlite pg);

done_testing;
