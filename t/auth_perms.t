# The permission model as Nacos decides it: users, roles and permissions
# through the API (paged and searched as the console asks), ROLE_ADMIN
# global, console resources admin only, resources
# "namespace:group:type/name" with wildcards, actions r / w / rw; a
# reader cannot write; the same over gRPC as over HTTP.

use v5.36;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Test::Nd;
use Test::Nd::Auth;
use Test::Nd::Grpc;

my $t = Test::Nd->new;
$t->has(qw(auth naming config grpc));
Test::Nd::Grpc->ensure_client;
$t->write_conf('nacosd.conf', $t->conf(
    extra => "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
           . Test::Nd::Auth::conf($t, admin_password => 'Perm-Admin-1')));
$t->run;
$t->wait_ready;

my $admin;
ok($t->wait_for(20, sub {
       $admin = Test::Nd::Auth::token_of($t, 'nacos', 'Perm-Admin-1') }),
   'admin from admin_password_file logs in');

sub api ($method, $path, $tok, %f) {
    my $r = Test::Nd::Auth::req($t, $method, "/nacos/v1/auth/$path", $tok, %f);
    return $r;
}

# users, roles, permissions
for my $u (qw(reader devw nsw nobody)) {
    is(api('POST', 'users', $admin, username => $u, password => "$u-Pass1")
         ->{status}, 200, "user $u created");
}
is(api('POST', 'users', $admin, username => 'reader', password => 'x')
     ->{status}, 400, 'a second user of one name is refused');
my %grant = (reader => [ 'R_READ', ':*:*', 'r' ],
             devw   => [ 'R_DEV', ':DEV:*', 'rw' ],
             nsw    => [ 'R_NS1', 'ns1:*:*', 'rw' ]);
for my $u (sort keys %grant) {
    my ($role, $res, $act) = @{ $grant{$u} };
    is(api('POST', 'roles', $admin, role => $role, username => $u)->{status},
       200, "role $role for $u");
    is(api('POST', 'permissions', $admin, role => $role, resource => $res,
           action => $act)->{status}, 200, "$role: $act on $res");
}
is(api('POST', 'roles', $admin, role => 'ROLE_ADMIN', username => 'reader')
     ->{status}, 400, 'ROLE_ADMIN cannot be given through the API');
is(api('POST', 'permissions', $admin, role => 'R_NONE', resource => ':*:*',
       action => 'r')->{status}, 400, 'a permission needs an existing role');
is(api('POST', 'permissions', $admin, role => 'R_READ', resource => ':*:*',
       action => 'x')->{status}, 400, 'action must be r, w or rw');

# paging and search as the console uses them
my $p = Test::Nd::decode_json(api('GET', 'users?pageNo=1&pageSize=2', $admin)
                              ->{body});
is($p->{totalCount}, 5, 'users: totalCount');
is(scalar @{ $p->{pageItems} }, 2, 'users: a page of 2');
is($p->{pagesAvailable}, 3, 'users: pagesAvailable');
$p = Test::Nd::decode_json(api('GET', 'users?pageNo=1&pageSize=10'
                                      . '&search=blur&username=w', $admin)->{body});
is_deeply([ sort map { $_->{username} } @{ $p->{pageItems} } ],
          [qw(devw nsw)], 'users: blur search');
ok(!grep({ ($_->{password} // '') ne '' } @{ $p->{pageItems} }),
   'users: no password hash leaves the server');
$p = Test::Nd::decode_json(api('GET', 'roles?pageNo=1&pageSize=10'
                                      . '&username=devw', $admin)->{body});
is_deeply($p->{pageItems}, [ { role => 'R_DEV', username => 'devw' } ],
          'roles: by username');
$p = Test::Nd::decode_json(api('GET', 'permissions?pageNo=1&pageSize=10'
                                      . '&role=R_NS1', $admin)->{body});
is_deeply($p->{pageItems},
          [ { role => 'R_NS1', resource => 'ns1:*:*', action => 'rw' } ],
          'permissions: by role');
is_deeply([ sort @{ Test::Nd::decode_json(api('GET', 'roles/search?role=R_',
                                              $admin)->{body}) } ],
          [qw(R_DEV R_NS1 R_READ)], 'roles/search');
is_deeply([ sort @{ Test::Nd::decode_json(api('GET', 'users/search?username=w',
                                              $admin)->{body}) } ],
          [qw(devw nsw)], 'users/search: names holding the text');

my %tok = map { $_ => Test::Nd::Auth::token_of($t, $_, "$_-Pass1") }
          qw(reader devw nsw nobody);
ok($tok{$_}, "$_ logs in") for sort keys %tok;

sub cfg ($method, $who, %f) {
    Test::Nd::Auth::req($t, $method, '/nacos/v1/cs/configs', $tok{$who}
                        // $admin, %f)->{status};
}
is(cfg('POST', 'admin', dataId => 'a', group => 'DEFAULT_GROUP',
       content => '1'), 200, 'admin publishes');
is(cfg('GET', 'reader', dataId => 'a', group => 'DEFAULT_GROUP'), 200,
   'reader reads');
is(cfg('POST', 'reader', dataId => 'a', group => 'DEFAULT_GROUP',
       content => '2'), 403, 'reader cannot write');
is(cfg('DELETE', 'reader', dataId => 'a', group => 'DEFAULT_GROUP'), 403,
   'reader cannot delete');
is(cfg('POST', 'devw', dataId => 'a', group => 'DEV', content => '2'), 200,
   'DEV writer publishes in DEV');
is(cfg('POST', 'devw', dataId => 'a', group => 'DEFAULT_GROUP',
       content => '2'), 403, 'DEV writer cannot publish in DEFAULT_GROUP');
is(cfg('GET', 'devw', dataId => 'a', group => 'DEFAULT_GROUP'), 403,
   'DEV writer cannot read DEFAULT_GROUP');
is(cfg('POST', 'nsw', dataId => 'a', group => 'G', tenant => 'ns1',
       content => '3'), 200, 'ns1 writer publishes in ns1');
is(cfg('POST', 'nsw', dataId => 'a', group => 'G', content => '3'), 403,
   'ns1 writer cannot publish in public');
is(cfg('GET', 'nobody', dataId => 'a', group => 'DEFAULT_GROUP'), 403,
   'a user without a permission cannot read');
my $r = Test::Nd::Auth::req($t, 'GET', '/nacos/v1/cs/configs', $tok{nobody},
                            dataId => 'a', group => 'DEFAULT_GROUP');
like($r->{body}, qr/authorization failed/, 'no permission: Nacos message');

# naming by HTTP
sub inst ($method, $who, %f) {
    Test::Nd::Auth::req($t, $method, '/nacos/v1/ns/instance', $tok{$who},
                        ip => '10.0.0.1', port => 80, %f)->{status};
}
is(inst('POST', 'devw', serviceName => 's1', groupName => 'DEV'), 200,
   'DEV writer registers in DEV');
is(inst('POST', 'devw', serviceName => 'DEV@@s2'), 200,
   'group from "group@@service"');
is(inst('POST', 'devw', serviceName => 's3'), 403,
   'DEV writer cannot register in DEFAULT_GROUP');
is(Test::Nd::Auth::req($t, 'GET', '/nacos/v1/ns/instance/list', $tok{reader},
                       serviceName => 's1', groupName => 'DEV')->{status},
   200, 'reader lists instances');
is(inst('POST', 'reader', serviceName => 's1', groupName => 'DEV'), 403,
   'reader cannot register');

# console resources: admin only, whatever the permissions
is(api('GET', 'users', $tok{reader})->{status}, 403,
   'a reader cannot list users');
is(Test::Nd::Auth::req($t, 'GET', '/nacos/v1/console/namespaces',
                       $tok{devw})->{status}, 403,
   'namespaces are console resources');
is(Test::Nd::Auth::req($t, 'GET', '/nacos/v1/console/namespaces', $admin)
     ->{status}, 200, 'the admin reaches the console');

# gRPC: the same decisions
my @hello = Test::Nd::Auth::grpc_hello();
sub g ($who, $type, %b) {
    { op => 'unary', type => $type, body => \%b,
      headers => { accessToken => $tok{$who} } }
}
my %inst = (ip => '10.0.0.2', port => 81, weight => 1,
            healthy => JSON::PP::true, enabled => JSON::PP::true,
            ephemeral => JSON::PP::true, clusterName => 'DEFAULT');
my @steps = (
    g('reader', 'ConfigQueryRequest', dataId => 'a', group => 'DEFAULT_GROUP',
      tenant => ''),
    g('reader', 'ConfigPublishRequest', dataId => 'a',
      group => 'DEFAULT_GROUP', tenant => '', content => 'g'),
    g('devw', 'ConfigPublishRequest', dataId => 'g', group => 'DEV',
      tenant => '', content => 'g'),
    g('devw', 'InstanceRequest', namespace => 'public', serviceName => 'gs',
      groupName => 'DEV', type => 'registerInstance', instance => \%inst),
    g('devw', 'InstanceRequest', namespace => 'public', serviceName => 'gs',
      groupName => 'DEFAULT_GROUP', type => 'registerInstance',
      instance => \%inst),
    g('nobody', 'ServiceQueryRequest', namespace => 'public',
      serviceName => 'gs', groupName => 'DEV', cluster => '',
      healthyOnly => JSON::PP::false),
    g('reader', 'ServiceQueryRequest', namespace => 'public',
      serviceName => 'gs', groupName => 'DEV', cluster => '',
      healthyOnly => JSON::PP::false),
);
my $s = Test::Nd::Grpc->steps(Test::Nd::Grpc->run($t->port(9848),
                                                  [ @hello, @steps ]));
my @want = ([ 'reader ConfigQuery', 0 ], [ 'reader ConfigPublish', 403 ],
            [ 'DEV writer ConfigPublish in DEV', 0 ],
            [ 'DEV writer registers in DEV', 0 ],
            [ 'DEV writer registers in DEFAULT_GROUP', 403 ],
            [ 'no-permission ServiceQuery', 403 ],
            [ 'reader ServiceQuery', 0 ]);
for my $i (0 .. $#want) {
    my $b = $s->{4 + $i}{body} // {};
    if ($want[$i][1]) {
        is($b->{errorCode}, 403, "gRPC $want[$i][0]: errorCode 403");
    } else {
        is($b->{resultCode}, 200, "gRPC $want[$i][0]: served");
    }
}

# passwords: one's own, not another's; an admin's anyone's; delete
is(api('PUT', 'users', $tok{reader}, username => 'reader',
       newPassword => 'reader-Pass2')->{status}, 200,
   'a user changes its own password');
is(api('PUT', 'users', $tok{reader}, username => 'devw',
       newPassword => 'x-Pass2')->{status}, 403,
   "a user cannot change another's");
my ($st) = Test::Nd::Auth::login($t, 'reader', 'reader-Pass1');
is($st, 403, 'the old password no longer logs in');
($st) = Test::Nd::Auth::login($t, 'reader', 'reader-Pass2');
is($st, 200, 'the new one does');
is(api('DELETE', 'users', $admin, username => 'nacos')->{status}, 400,
   'the admin cannot be deleted');
is(api('DELETE', 'users', $admin, username => 'nobody')->{status}, 200,
   'delete a user');
is(cfg('GET', 'nobody', dataId => 'a', group => 'DEFAULT_GROUP'), 403,
   "a deleted user's token is refused");
is(api('DELETE', 'permissions', $admin, role => 'R_DEV', resource => ':DEV:*',
       action => 'rw')->{status}, 200, 'delete a permission');
is(cfg('POST', 'devw', dataId => 'a', group => 'DEV', content => '4'), 403,
   'without it the writer is refused');

$t->done_testing;
