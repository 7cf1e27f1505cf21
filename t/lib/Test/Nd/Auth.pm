package Test::Nd::Auth;

# Helpers of the auth tests: a node conf with auth on, login, requests
# with a token, and tokens made by hand (HS256 with a known secret, or
# wrong on purpose) to check what the server refuses.

use v5.36;
use Digest::SHA ();
use MIME::Base64 ();
use JSON::PP ();
use Test::Nd;

our $SECRET = 'test-token-secret-0123456789abcdef';   # 34 bytes

# auth on, fast hashes (the tests log in often; iterations => N for slow
# ones), the token secret known; extra => more directives of the block
sub conf ($t, %o) {
    my $ttl = $o{ttl} // '300s';
    $t->write_file('token.secret', "$SECRET\n");
    my $admin = '';
    if (defined $o{admin_password}) {
        $t->write_file('admin.password', "$o{admin_password}\n");
        $admin = "    admin_password_file " . $t->testdir . "/admin.password;\n";
    }
    return "auth {\n"
         . "    password_iterations " . ($o{iterations} // 1000) . ";\n"
         . ($o{extra} // '')
         . "    token_ttl $ttl;\n"
         . "    cache_refresh " . ($o{refresh} // '5s') . ";\n"
         . ($o{secret_file} // 1
              ? "    token_secret_file " . $t->testdir . "/token.secret;\n"
              : '')
         . $admin
         . "}\n";
}


# the gRPC steps of an SDK's connection before its requests
sub grpc_hello () {
    return (
        { op => 'unary', type => 'ServerCheckRequest', body => {} },
        { op => 'bidi_open' },
        { op => 'bidi_send', type => 'ConnectionSetupRequest',
          body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                    labels => {} } },
        { op => 'sleep', ms => 100 },
    );
}


sub b64u ($s) {
    my $e = MIME::Base64::encode_base64url($s);
    return $e;
}


# an HS256 token for $sub expiring at $exp, signed with $key
sub token ($sub, $exp, $key = $SECRET, $alg = 'HS256') {
    my $h = b64u(qq({"alg":"$alg","typ":"JWT"}));
    my $p = b64u(JSON::PP->new->canonical->encode({ sub => $sub,
                                                    exp => $exp + 0 }));
    my $sig = b64u(Digest::SHA::hmac_sha256("$h.$p", $key));
    return "$h.$p.$sig";
}


sub form (%f) {
    return join '&', map {
        my $v = $f{$_};
        $v =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
        "$_=$v";
    } sort keys %f;
}


# POST login: (status, decoded body or text)
sub login ($t, $user, $pass, $path = '/nacos/v1/auth/users/login') {
    my $r = $t->http_post($path, form(username => $user, password => $pass));
    my $b = $r->{status} == 200 ? Test::Nd::decode_json($r->{body})
                                : $r->{body};
    return ($r->{status}, $b);
}


sub token_of ($t, $user, $pass) {
    my ($st, $b) = login($t, $user, $pass);
    return $st == 200 ? $b->{accessToken} : undef;
}


# a request with the token as a query parameter (the SDKs' way)
sub req ($t, $method, $path, $token, %form) {
    my $sep = $path =~ /\?/ ? '&' : '?';
    $path .= $sep . 'accessToken=' . $token if defined $token;
    if ($method eq 'GET' || $method eq 'DELETE') {
        $path .= '&' . form(%form) if %form;
        return $t->http_req($method, $path);
    }
    return $t->http_req($method, $path, body => form(%form), headers => {
        'Content-Type' => 'application/x-www-form-urlencoded' });
}

1;
