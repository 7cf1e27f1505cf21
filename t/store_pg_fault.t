# PostgreSQL goes away during a stream of publishes: callers get a clear
# 503, reads keep being served from the cache, and once PostgreSQL is back
# writes succeed again without a restart.  Nothing half-written remains.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX ();
use Time::HiRes ();
use Test::More;
use Test::Nd;
use Test::Nd::Pg;
use Test::Nd::StoreSuite qw(store_server publish get_config search);

my ($t, $pg) = store_server('pg');

for my $i (1 .. 10) {
    publish($t, dataId => "before-$i", group => 'FLT', content => "b$i");
}
is(search($t, group => 'FLT')->{totalCount}, 10, 'ten configs before');

# a child stops PostgreSQL while we publish, and starts it again later
my $child = fork // die "fork: $!";
if ($child == 0) {
    Time::HiRes::sleep(0.3);
    $pg->stop('fast');
    Time::HiRes::sleep(1.5);
    $pg->start;
    POSIX::_exit(0);
}

my (@ok, @unavailable, @unknown, @other, %msg);
my ($reads, $reads_ok, $err_seen, $ok_after) = (0, 0, 0, 0);
my $deadline = Time::HiRes::time() + 30;
my $i = 0;
while (Time::HiRes::time() < $deadline) {
    $i++;
    my ($st, $j, $r) = publish($t, dataId => "flt-$i", group => 'FLT',
                               content => "stream $i");
    if ($st == 200) {
        push @ok, "flt-$i";
        $ok_after++ if $err_seen;
        last if $ok_after >= 10;
    } elsif ($st == 503) {
        $err_seen++;
        $msg{$r->{body}}++;
        if ($r->{body} =~ /unknown/) {
            push @unknown, "flt-$i";
        } else {
            push @unavailable, "flt-$i";
        }
        # reads go on from the cache meanwhile
        $reads++;
        $reads_ok++ if (get_config($t, dataId => 'before-3', group => 'FLT')
                            ->{content} // '') eq 'b3';
        Time::HiRes::sleep(0.02);
    } else {
        push @other, "$st $r->{body}";
    }
}
waitpid($child, 0);
note("publishes: " . scalar(@ok) . " ok, " . scalar(@unavailable)
     . " unavailable, " . scalar(@unknown) . " unknown; messages: "
     . join(' | ', map { "$_ x$msg{$_}" } sort keys %msg));

ok($err_seen, 'publishes failed while PostgreSQL was down');
ok(!@other, 'every failure was a 503') or diag("@other");
ok(!grep({ !/database (?:unavailable|connection lost)/ } keys %msg),
   'the 503s say the database is unavailable');
ok($reads > 0 && $reads == $reads_ok,
   "reads served from the cache while down ($reads_ok/$reads)");
is($ok_after, 10, 'writes succeed again after PostgreSQL returns, '
                  . 'without a restart');

# what was acknowledged is there; what was refused (unavailable) is not
my $missing = grep {
    (get_config($t, dataId => $_, group => 'FLT')->{content} // '')
        !~ /^stream /
} @ok;
is($missing, 0, 'every acknowledged publish is stored');
my $present = grep {
    my ($st) = get_config($t, dataId => $_, group => 'FLT');
    $st != 404;
} @unavailable;
is($present, 0, 'no publish refused as unavailable was stored');
is($pg->psql("SELECT count(*) FROM config_info WHERE data_id LIKE 'flt-%'"),
   scalar(@ok) + grep({
       my ($st) = get_config($t, dataId => $_, group => 'FLT'); $st == 200
   } @unknown), 'the database holds exactly the acknowledged ones '
                . '(plus unknown outcomes that committed)');
is($pg->psql('SELECT count(*) FROM config_info c WHERE NOT EXISTS '
             . '(SELECT 1 FROM his_config_info h '
             . 'WHERE h.change_seq = c.change_seq)'), '0',
   'nothing half-written: every row has its history row');
like($t->error_log, qr/pg: connection \d+ (?:lost|failed)/,
     'the outage is in the error log');

$t->done_testing;
