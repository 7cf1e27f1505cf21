# Chunked request bodies are strict (issue 12, item 10): a chunk whose
# data is not followed by CRLF, a bare LF or CR as a terminator, or a
# chunk size with junk is a 400 and the connection closes, so nothing
# after it can be read as a request of its own (request smuggling).
# Well-formed chunked bodies, in one read or in pieces, still work.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Time::HiRes qw(sleep);

my $t = Test::Nd->new;
$t->run;

my $live = '/nacos/v1/console/health/liveness';
my $head = "POST /nacos/nope HTTP/1.1\r\nHost: x\r\n"
         . "Content-Type: application/x-www-form-urlencoded\r\n"
         . "Transfer-Encoding: chunked\r\n\r\n";
my $next = "GET $live HTTP/1.1\r\nHost: x\r\n\r\n";

# one request; the statuses of every response the connection gives, and
# whether it was closed
sub statuses (@pieces) {
    my $c = $t->connect;
    for my $p (@pieces) {
        $c->send($p);
        sleep 0.05 if @pieces > 1;
    }
    my @s;
    while (my $r = $c->read_response(timeout => 2)) {
        push @s, $r->{status};
        last if ($r->{headers}{connection} // '') =~ /close/i;
    }
    return join ',', @s;
}

my $ok = "3\r\na=b\r\n0\r\n\r\n";
is(statuses($head . $ok . $next), '404,200',
   'well-formed chunked body: answered, the next request too');
is(statuses($head, "3\r\na=b", "\r\n0\r\n\r\n", $next), '404,200',
   'the same in pieces');

for my $bad (
    [ 'data not followed by CRLF',  "3\r\na=bXX0\r\n\r\n" ],
    [ 'data followed by LF alone',  "3\r\na=b\n0\r\n\r\n" ],
    [ 'data followed by CR alone',  "3\r\na=b\r0\r\n\r\n" ],
    [ 'longer data than the size',  "3\r\na=bc\r\n0\r\n\r\n" ],
    [ 'size line ended by LF alone', "3\na=b\r\n0\r\n\r\n" ],
) {
    my ($what, $body) = @$bad;
    is(statuses($head . $body . $next), '400', "$what: 400, then closed");
}
is(statuses($head, "3\r\na=b", "XX0\r\n\r\n$next"), '400',
   'a bad terminator in a later read: 400, then closed');

$t->stop;
done_testing;
