package Test::Nd::Tls;

# A self-signed certificate for 127.0.0.1, made at test time with the
# openssl command (RSA 2048, one day, subjectAltName IP:127.0.0.1 and
# DNS:localhost, the name grpc-js checks): it is
# its own CA, so clients verify the server with the same file.
#
#     my ($cert, $key) = Test::Nd::Tls->make($t->testdir, 'node');

use v5.36;
use Test::More ();

sub make ($class, $dir, $name = 'server') {
    my ($cert, $key) = ("$dir/$name.crt", "$dir/$name.key");
    my $rc = system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
                 . "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost "
                 . "-keyout '$key' -out '$cert' >/dev/null 2>&1");
    if ($rc != 0 || !-s $cert || !-s $key) {
        if (($ENV{CI} // '') eq 'true') {
            Test::More::fail('openssl made a test certificate');
            Test::More::done_testing();
            exit 1;
        }
        Test::More::plan(skip_all => 'the openssl command is needed');
    }
    return ($cert, $key);
}

1;
