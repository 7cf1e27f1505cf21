# A real 1.x client: the nacos npm package's NacosNamingClient registers,
# queries, subscribes (UDP push, acked), sees a change and deregisters.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Node;

my $t = Test::Nd->new;
$t->has('naming');
Test::Nd::Node::require_packages('nacos@2' => 'nacos');

$t->write_conf('nacosd.conf', $t->conf(extra => "naming { push_delay 100ms; }\n"));
$t->run;

my ($rc, $out) = Test::Nd::Node::run($t, 'js/naming_client.js', $t->port,
                                     'nodesvc');
my %step;
for my $line (split /\n/, $out) {
    my $j = Test::Nd::decode_json($line) or next;
    $step{$j->{step}} = $j->{data};
}
is($rc, 0, 'node client script exits 0') or diag($out);
ok(!exists $step{error}, 'no client error') or diag($step{error});
ok($step{registered}, 'registerInstance');
is_deeply($step{instances}, [ { ip => '10.20.0.1', port => 8080,
                                metadata => { from => 'node' } } ],
          'getAllInstances sees the instance and its metadata');
is_deeply($step{changed}, [ '10.20.0.1', '10.20.0.2' ],
          'subscribe: listener sees the new instance');
is_deeply($step{after_deregister}, [ '10.20.0.2' ], 'deregisterInstance');
ok($step{done}, 'client closed');

# the change reached the client by UDP push and the client acked it
my $ps = $t->http_json('GET', '/nacos/v1/ns/operator/push/state');
ok($ps->{succeed} >= 1, 'a UDP push was acknowledged by the client')
    or diag(explain $ps);

# the client beats: its instance was alive until deregistered
my $m = $t->http_json('GET', '/nacos/v1/ns/instance/list?serviceName=nodesvc');
is_deeply([ map { $_->{ip} } @{ $m->{hosts} } ], [ '10.20.0.2' ],
          'server state matches the client view');

$t->done_testing;
