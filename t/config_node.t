#!/usr/bin/perl
# A real 1.x config client (the nacos npm package, NacosConfigClient):
# publishSingle, getConfig, subscribe and receive a change by long
# polling, remove.
use v5.36;
use Test::More;
use lib 't/lib';
use Test::Nd;
use Test::Nd::Node;

my $t = Test::Nd->new;
$t->has(qw(store config));
Test::Nd::Node::require_packages('nacos@2' => 'nacos');

my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    extra => "store {\n    schema_dir $schema;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');

my ($rc, $out) = Test::Nd::Node::run($t, 'js/config_client.js',
                                     $t->port(8848), 'node-app.properties');
my %step;
for my $line (split /\n/, $out) {
    my $j = Test::Nd::decode_json($line) or next;
    $step{ $j->{step} } = $j->{data};
}
is($rc, 0, 'client exited 0') or diag($out);
ok($step{published}, 'publishSingle returned true');
is($step{get}, 'v=1', 'getConfig returned the content');
is($step{changed}, 'v=2', 'subscribe saw the change made by another writer');
ok($step{removed}, 'remove returned true');
ok(!defined $step{after_remove} || $step{after_remove} eq '',
   'getConfig after remove: nothing');
ok($step{done}, 'client finished');

$t->done_testing;
