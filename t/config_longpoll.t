#!/usr/bin/perl
# 1.x long polling: Listening-Configs parsing (double decoding), the
# immediate answers, the hold, early answers on change, limits, aborts,
# the listener queries, and 1,000 concurrent polls over 1,000 keys with
# 100 changes: every poll on a changed key gets that key, once.
use v5.36;
use Test::More;
use Digest::MD5 qw(md5_hex);
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Test::Nd;

my $t = Test::Nd->new;
$t->has(qw(store config));
my $schema = Test::Nd::root() . '/conf/schema';
$t->write_conf('nacosd.conf', $t->conf(
    access_log => undef,
    extra => "store {\n    schema_dir $schema;\n}\n"
           . "config {\n    long_poll_floor 1s;\n    max_listen_keys 1200;\n}\n"));
$t->run;
ok($t->wait_ready(20), 'ready');
my $port = $t->port(8848);

sub esc ($s) { $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }
sub publish ($d, $g, $c, $tenant = '') {
    my $r = $t->http_req('POST', '/nacos/v1/cs/configs',
        body => "dataId=$d&group=$g&content=" . esc($c)
              . ($tenant ? "&tenant=$tenant" : ''),
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
    return $r->{body} eq 'true';
}
sub listening (@keys) {     # [dataId, group, md5, tenant?] ...
    return join '', map { join("\x02", @$_) . "\x01" } @keys;
}
sub poll_request ($value, %h) {
    my $body = 'Listening-Configs=' . esc($value);
    my $hdr = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    return "POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: x\r\n"
         . "Content-Type: application/x-www-form-urlencoded\r\n$hdr"
         . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
}
sub poll ($value, %h) {
    my $c = $t->connect;
    $c->send(poll_request($value, %h));
    return $c;
}

ok(publish('app.yaml', 'DEFAULT_GROUP', 'a: 1'), 'published app.yaml');
ok(publish('db.properties', 'G', 'x=1', 'dev'), 'published in dev');
my $m1 = md5_hex('a: 1');

# changed keys are answered at once, URL-encoded, one line
my $r = poll(listening([ 'app.yaml', 'DEFAULT_GROUP', 'stale' ],
                       [ 'db.properties', 'G', '', 'dev' ],
                       [ 'none', 'G', '' ]),
             'Long-Pulling-Timeout' => 30000)->read_response;
is($r->{status}, 200, 'changed: 200');
is($r->{body}, "app.yaml%02DEFAULT_GROUP%01db.properties%02G%02dev%01\n",
   'changed keys, tenant only when set, a missing key with md5 "" is '
   . 'up to date');
is($r->{headers}{pragma}, 'no-cache', 'Pragma: no-cache');

# nothing changed + No-Hangup: an empty answer at once
$r = poll(listening([ 'app.yaml', 'DEFAULT_GROUP', $m1 ]),
          'Long-Pulling-Timeout' => 30000,
          'Long-Pulling-Timeout-No-Hangup' => 'true')->read_response;
is($r->{status}, 200, 'No-Hangup: 200');
is($r->{body}, '', 'No-Hangup: empty');

# held for max(floor, timeout - 500): 1500 -> 1 s, then empty
my $t0 = time;
$r = poll(listening([ 'app.yaml', 'DEFAULT_GROUP', $m1 ]),
          'Long-Pulling-Timeout' => 1500)->read_response;
my $held = time - $t0;
is($r->{body}, '', 'held poll times out empty');
cmp_ok($held, '>=', 0.95, 'held for the floor (1 s), not less');

# answered early when a listened key changes
my $c = poll(listening([ 'app.yaml', 'DEFAULT_GROUP', $m1 ],
                       [ 'other', 'G', '' ]),
             'Long-Pulling-Timeout' => 30000);
sleep 0.3;
my $q = $t->http_json('GET', '/nacos/v1/cs/configs/listener?dataId=app.yaml'
                      . '&group=DEFAULT_GROUP');
is($q->{lisentersGroupkeyStatus}{'127.0.0.1'}, $m1,
   'listener query: this client holds the current md5');
$q = $t->http_json('GET', '/nacos/v1/cs/listener?ip=127.0.0.1');
is($q->{lisentersGroupkeyStatus}{'app.yaml+DEFAULT_GROUP'}, $m1,
   'listener query by ip');
ok(publish('app.yaml', 'DEFAULT_GROUP', 'a: 2'), 'changed while held');
$r = $c->read_response;
is($r->{body}, "app.yaml%02DEFAULT_GROUP%01\n", 'answered with that key');
$q = $t->http_json('GET', '/nacos/v1/cs/configs/listener?dataId=app.yaml'
                   . '&group=DEFAULT_GROUP');
is_deeply($q->{lisentersGroupkeyStatus}, {}, 'and no longer listening');

# a client that goes away stops listening
$c = poll(listening([ 'gone', 'G', '' ]), 'Long-Pulling-Timeout' => 30000);
sleep 0.2;
$q = $t->http_json('GET', '/nacos/v1/cs/listener?ip=127.0.0.1');
ok(exists $q->{lisentersGroupkeyStatus}{'gone+G'}, 'held poll listed');
$c->close;
sleep 0.2;
$q = $t->http_json('GET', '/nacos/v1/cs/listener?ip=127.0.0.1');
ok(!exists $q->{lisentersGroupkeyStatus}{'gone+G'}, 'closed poll removed');

# bad requests
$r = poll('', 'Long-Pulling-Timeout' => 30000)->read_response;
is($r->{status}, 400, 'blank Listening-Configs: 400');
like($r->{body}, qr/invalid probeModify/, 'blank: Nacos message');
$r = poll("just-one-field\x01", 'Long-Pulling-Timeout' => 30000)
     ->read_response;
is($r->{status}, 400, 'a line with one field: 400');
$r = poll(listening(map { [ "k$_", 'G', '' ] } 1 .. 1201),
          'Long-Pulling-Timeout' => 30000)->read_response;
is($r->{status}, 400, 'more keys than max_listen_keys: 400');

# 1,000 concurrent polls over 1,000 keys; 100 changes
my $N = 1000;
my (@socks, %by_fh);
for my $i (0 .. $N - 1) {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
        or BAIL_OUT("connect $i: $!");
    $s->blocking(0);
    # poll i listens to key i and key (i+1) % N
    my $v = listening([ "k$i", 'LP', '' ],
                      [ 'k' . (($i + 1) % $N), 'LP', '' ]);
    syswrite($s, poll_request($v, 'Long-Pulling-Timeout' => 60000));
    push @socks, $s;
    $by_fh{fileno $s} = { i => $i, buf => '' };
}
# wait until all are registered: every key has listeners
my $deadline = time + 20;
while (time < $deadline) {
    my $l = $t->http_json('GET', '/nacos/v1/cs/listener?ip=127.0.0.1');
    last if keys %{ $l->{lisentersGroupkeyStatus} } >= $N;
    sleep 0.1;
}
my @changed = map { $_ * 10 } 0 .. 99;          # k0, k10, ... k990
ok(publish("k$_", 'LP', "v$_"), "publish k$_") for @changed;
my %expect;                                       # poll -> its changed key
for my $k (@changed) {
    $expect{$k} //= "k$k";                      # poll k listens to k
    my $p = ($k - 1 + $N) % $N;                  # poll k-1 listens to k too
    $expect{$p} //= "k$k";
}

my $sel = IO::Select->new(@socks);
my %answered;
$deadline = time + 20;
while (keys %answered < keys %expect && time < $deadline) {
    for my $s ($sel->can_read(0.5)) {
        my $st = $by_fh{fileno $s};
        my $n = sysread($s, $st->{buf}, 65536, length $st->{buf});
        if ($st->{buf} =~ /\r\n\r\n(.*)\n\z/s) {
            $answered{ $st->{i} } = $1;
            $sel->remove($s);
        }
    }
}
is(scalar keys %answered, scalar keys %expect,
   'every poll listening to a changed key was answered');
my @wrong = grep { ($answered{$_} // '') ne "$expect{$_}%02LP%01" }
            keys %expect;
is(scalar @wrong, 0, 'each with the key it listened to')
    or diag("e.g. poll $wrong[0]: got '" . ($answered{$wrong[0]} // '')
            . "' want $expect{$wrong[0]}");
my @extra = grep { !exists $expect{$_} } keys %answered;
is(scalar @extra, 0, 'no poll on an unchanged key was answered');
# an answered poll's connection gets nothing more (answered once)
my @twice = grep {
    my $st = $by_fh{fileno $socks[$_]};
    sysread($socks[$_], my $more, 100) // 0; length($more // '') > 0
} keys %answered;
is(scalar @twice, 0, 'none answered twice');
close $_ for @socks;

$t->done_testing;
