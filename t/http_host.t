# An HTTP/1.1 request must name its Host (RFC 9112 3.2): without it the
# answer is 400 and the connection closes; HTTP/1.0 needs none.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;

my $t = Test::Nd->new;
$t->run;

my $live = '/nacos/v1/console/health/liveness';

sub status ($raw) {
    my $out = $t->http($raw, timeout => 3);
    my ($st) = $out =~ m{^HTTP/1\.\d (\d{3})};
    return $st // 0;
}

is(status("GET $live HTTP/1.1\r\n\r\n"), 400, 'HTTP/1.1 without Host: 400');
is(status("GET $live HTTP/1.1\r\nAccept: */*\r\n\r\n"), 400,
   'HTTP/1.1 with other headers but no Host: 400');
is(status("GET $live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 200,
   'HTTP/1.1 with Host: 200');
is(status("GET $live HTTP/1.1\r\nhost: x\r\nConnection: close\r\n\r\n"), 200,
   'the header name in any case');
is(status("GET $live HTTP/1.0\r\n\r\n"), 200, 'HTTP/1.0 without Host: 200');
like($t->error_log, qr/without "Host" header/, 'the refusal is logged');

$t->done_testing;
