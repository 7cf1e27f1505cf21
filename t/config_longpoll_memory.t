#!/usr/bin/perl
# Long-poll memory has a bound and is given back (issue 12, item 4):
# max_long_polls and max_long_poll_keys refuse a poll over them with 503
# (a poll with a changed key is still answered at once); 100 connections
# holding polls of up to 1,000 keys are answered (by a change of the key
# they share) and the server's RSS (VmRSS of /proc/PID/status, a measured value compared
# with its own start) comes back near where it started.
use v5.36;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Test::Nd;

plan skip_all => 'needs /proc' unless -r "/proc/$$/status";

my $t = Test::Nd->new;
$t->has(qw(store config));
my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    access_log => undef,
    extra => "store {\n    schema_dir $schema;\n}\n"
           . "config {\n    long_poll_floor 1s;\n    max_long_polls 100;\n"
           . "    max_long_poll_keys 100000;\n}\n"));
# ASan keeps freed blocks in quarantine and its own pools: let them go
local $ENV{ASAN_OPTIONS} = join ':', grep { length }
    $ENV{ASAN_OPTIONS} // '', 'quarantine_size_mb=0',
    'allocator_release_to_os_interval_ms=100';
$t->run;
ok($t->wait_ready(20), 'ready');

sub rss () {
    open my $fh, '<', '/proc/' . $t->pid . '/status' or return 0;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return 0;
}
sub esc ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }
sub poll ($keys, %h) {
    my $body = 'Listening-Configs='
             . esc(join '', map { "$_\x02G\x02\x01" } @$keys);
    my $hdr = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    my $c = $t->connect;
    $c->send("POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: x\r\n"
             . "Content-Type: application/x-www-form-urlencoded\r\n$hdr"
             . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
    return $c;
}
my %hold = ('Long-Pulling-Timeout' => 60000);    # held until 'shared' changes

# a warm-up round so the start includes what any poll leaves for reuse
my @w = map { my $n = $_; poll([ map { "w$n-$_" } 1 .. 1000 ],
                               'Long-Pulling-Timeout' => 1500) } 1 .. 5;
$_->read_response(timeout => 30) for @w;
sleep 1.5;
my $start = rss();
ok($start > 0, "RSS at start: $start kB");

# who listens to a key: a poll is held once its last key has a listener
sub listened ($key) {
    my $j = $t->http_json('GET', "/nacos/v1/cs/configs/listener?dataId=$key"
                                 . '&group=G');
    return $j && %{ $j->{lisentersGroupkeyStatus} // {} };
}

# 99 polls of 1,000 keys: 99,000 of max_long_poll_keys 100,000
my @c;
for my $n (1 .. 99) {
    push @c, poll([ 'shared', map { "k$n-$_" } 1 .. 999 ], %hold);
}
for my $n (1 .. 99) {
    # a bound for a loaded machine, not a timing figure
    next if $t->wait_for(60, sub { listened("k$n-999") });
    fail("poll $n held");
    last;
}

my $r = poll([ map { "over-$_" } 1 .. 1001 ], %hold)->read_response(timeout => 30);
is($r && $r->{status}, 503, 'a poll past max_long_poll_keys: 503');
like($r && $r->{body}, qr/too many long polls/, 'with the reason');

push @c, poll([ 'last', 'shared' ], %hold);   # poll 100, 99,002 keys
$t->wait_for(60, sub { listened('last') });
my $held = rss();
$r = poll([ 'one-more' ], %hold)->read_response(timeout => 30);
is($r && $r->{status}, 503, 'poll 101 over max_long_polls: 503');

$r = $t->http_post('/nacos/v1/cs/configs', 'dataId=shared&group=G&content=x');
is($r->{status}, 200, 'the key every poll listens to changes');
my @st = map { my $x = $_->read_response(timeout => 60); $x ? $x->{status} : 0 } @c;
is(scalar(grep { $_ == 200 } @st), 100, 'all 100 polls answered');
$r = poll([ 'again' ], 'Long-Pulling-Timeout' => 1500)
    ->read_response(timeout => 30);
is($r && $r->{status}, 200, 'then a poll is held and answered again');

# the trim runs on a timer after the polls end: wait for it (a bound for
# a loaded machine, not a timing figure)
my $end;
$t->wait_for(30, sub { $end = rss(); $end < $start + ($held - $start) / 2 });
diag("RSS kB: start $start, 100 polls held $held, after $end");
cmp_ok($held - $start, '>', 10_000, 'holding the polls took memory');
cmp_ok($end, "<", $start + ($held - $start) / 2,
       'RSS back near its start once the polls ended');

$t->stop;
done_testing;
