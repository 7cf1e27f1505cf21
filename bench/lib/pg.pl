#!/usr/bin/env perl
# bench/lib/pg.pl -- a private PostgreSQL for a bench section, started the
# way the tests start theirs (t/lib/Test/Nd/Pg.pm: own data and socket
# dir, a free 127.0.0.1 port, trust auth, database "nacos").
#
# Prints one line and keeps running until TERM/INT/HUP, then stops the
# server and removes its directory:
#   conninfo hostaddr=127.0.0.1 port=N dbname=nacos user=postgres ...
#   skip REASON          (no server binaries, no postgres user; exit 0)
#   error REASON         (the server did not start; exit 1)

use v5.36;
use FindBin;
use lib "$FindBin::Bin/../../t/lib";
use Test::Nd::Pg;

$| = 1;

my $bin = Test::Nd::Pg::bindir();
unless ($bin && -x "$bin/initdb") {
    print "skip no PostgreSQL server binaries (pg_config --bindir; "
        . "apt-get install postgresql)\n";
    exit 0;
}
if ($> == 0 && !defined getpwnam('postgres')) {
    print "skip running as root and there is no postgres user\n";
    exit 0;
}

# PostgreSQL's own defaults where the tests' server trims them (several
# run at once there): shared_buffers 128MB, as docs/deploy.md says an
# operator's server has at least; durability untouched (fsync,
# synchronous_commit and full_page_writes on)
my $pg = eval { Test::Nd::Pg->new(conf => "shared_buffers = 128MB\n") };
unless ($pg) {
    (my $e = $@) =~ s/\s+/ /g;
    print "error $e\n";
    exit 1;
}

my $done = 0;
$SIG{$_} = sub { $done = 1 } for qw(TERM INT HUP);
print 'conninfo ', $pg->conninfo, "\n";
sleep 1 until $done;
$pg->stop('immediate');
exit 0;
