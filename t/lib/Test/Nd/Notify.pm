package Test::Nd::Notify;

# Two standalone nacosd nodes on one PostgreSQL (backend pg, an explicit
# cache_refresh), a gRPC config listener (ConfigBatchListenRequest, on
# @grpc/grpc-js) and optionally a held 1.x long poll on node 2, publishes
# on node 1 over HTTP: the time from a publish's answer to node 2's
# notification.  Node 2 gets no traffic while a notification is awaited:
# the long poll is sent, and checked to be held, before the publish.
# Used by t/config_notify_idle.t and bench/55-notify.bench.
#
#     my $n = Test::Nd::Notify->new(pg => $pg, refresh_ms => 1000);
#     (cluster => 1: the nodes form a cluster, so node 2 is notified by
#     node 1 rather than by its own refresh)
#     my $r = $n->publish_and_wait(at => $when, long_poll => 1);
#     # $r->{grpc}, $r->{lp}: seconds from the publish's answer (undef if
#     # none arrived within 3 refreshes + 2 s)
#     $n->stop;

use v5.36;

use Digest::MD5 ();
use JSON::PP ();
use Time::HiRes ();
use Test::Nd;
use Test::Nd::Grpc;

our $DATA_ID = 'notify.json';
our $GROUP   = 'NOTIFY';


sub _conf ($t, $pg, %o) {
    my $schema = Test::Nd::root() . '/conf/schema';
    return $t->conf(
        access_log => undef,
        log_level  => $o{log_level} // 'info',
        extra => "store {\n    schema_dir $schema;\n    backend pg;\n"
               . "    pg_conninfo \"" . $pg->conninfo . "\";\n"
               . "    pg_pool 2;\n"
               . "    cache_refresh $o{refresh_ms}ms;\n}\n"
               . ($o{grpc} ? "grpc {\n    listen 127.0.0.1:%%PORT_9848%%;\n}\n"
                           : '')
               . ($o{members} ? "cluster {\n"
                                . join('', map { "    member 127.0.0.1:$_;\n" }
                                           @{ $o{members} })
                                . "}\n"
                              : ''));
}


# the nodes, the first content (on both), the gRPC listener on node 2;
# dies with the reason when a step fails
sub new ($class, %o) {
    my $pg = $o{pg} or die "pg => is required\n";
    my $refresh = $o{refresh_ms} // 1000;
    my $self = bless { pg => $pg, refresh => $refresh / 1000, n => 0,
                       seen => 0 }, $class;

    # cluster => 1: the two nodes are one cluster, node 1 tells node 2
    # of its commits (ConfigChangeClusterSyncRequest)
    my @t = (Test::Nd->new, Test::Nd->new);
    my $members = $o{cluster} ? [ map { $_->port } @t ] : undef;

    for my $i (1, 2) {
        my $t = $t[$i - 1];
        $t->write_conf('nacosd.conf',
                       _conf($t, $pg, refresh_ms => $refresh, grpc => $i == 2,
                             log_level => $o{log_level},
                             members => $members));
        $t->run;
        $t->wait_ready(20)
            or die "node $i not ready:\n" . $t->error_log . "\n";
        $self->{"n$i"} = $t;
        # the first content, before node 2 starts: it loads it
        $self->_publish('v0') or die "first publish on node 1 failed\n"
            if $i == 1;
    }

    my $r = $self->{n2}->http_get("/nacos/v1/cs/configs?dataId=$DATA_ID"
                                  . "&group=$GROUP");
    die "node 2 does not hold the first content: $r->{status} "
        . "'$r->{body}'\n" unless $r->{status} == 200 && $r->{body} eq 'v0';

    my $body = sub ($type, %b) { { op => 'unary', type => $type, body => \%b } };
    $self->{grpc} = Test::Nd::Grpc->start($self->{n2}->port(9848), [
        $body->('ServerCheckRequest'),
        { op => 'bidi_open' },
        { op => 'bidi_send', type => 'ConnectionSetupRequest',
          body => { clientVersion => 'Nacos-Java-Client:v2.5.1',
                    labels => { module => 'config' } } },
        { op => 'sleep', ms => 100 },
        $body->('ConfigBatchListenRequest', listen => JSON::PP::true,
                configListenContexts => [
                    { dataId => $DATA_ID, group => $GROUP, tenant => '',
                      md5 => Digest::MD5::md5_hex('v0') } ]),
        { op => 'hold' } ]);
    my $l = $self->{grpc}->wait_line(sub ($x) { ($x->{step} // -1) == 4 }, 20);
    die "gRPC ConfigBatchListenRequest not answered\n"
        unless $l && ($l->{type} // '') eq 'ConfigChangeBatchListenResponse'
               && $l->{body}{success};
    die "gRPC listener: unexpected changed configs\n"
        if @{ $l->{body}{changedConfigs} // [] };

    my $q = $self->{n2}->http_json('GET', '/nacos/v1/cs/configs/listener?'
                                   . "dataId=$DATA_ID&group=$GROUP");
    die "gRPC listener not registered on node 2\n"
        unless %{ $q->{lisentersGroupkeyStatus} // {} };
    return $self;
}


sub node ($self, $i) { $self->{"n$i"} }
sub refresh ($self) { $self->{refresh} }


sub _publish_request ($self, $content) {
    my $body = "dataId=$DATA_ID&group=$GROUP&content=$content";
    return "POST /nacos/v1/cs/configs HTTP/1.1\r\nHost: n1\r\n"
         . "Content-Type: application/x-www-form-urlencoded\r\n"
         . 'Content-Length: ' . length($body) . "\r\n"
         . "Connection: close\r\n\r\n$body";
}


# a publish on node 1; returns the time its answer arrived (0 on failure)
sub _publish ($self, $content) {
    my $c = $self->{n1}->connect(timeout => 10) or return 0;
    $c->send($self->_publish_request($content));
    my $r = $c->read_response(timeout => 10, method => 'POST');
    my $at = Time::HiRes::time();
    $c->close;
    return ($r && $r->{status} == 200 && $r->{body} eq 'true') ? $at : 0;
}


sub _pushes ($self) {
    return [ grep { ($_->{event} // '') eq 'push'
                    && ($_->{type} // '') eq 'ConfigChangeNotifyRequest' }
             @{ $self->{grpc}->lines } ];
}


# One publish on node 1 at time `at` (now if past); with long_poll => 1
# a 1.x long poll is held on node 2 first.  Returns { grpc => s, lp => s }
# measured from the publish's answer, undef for a notification that did
# not arrive within 3 refreshes + 2 s, and error => text on a failed step.
sub publish_and_wait ($self, %o) {
    my $n = ++$self->{n};
    my $prev = Digest::MD5::md5_hex('v' . ($n - 1));
    my %res;

    my $lp;
    if ($o{long_poll}) {
        my $value = "$DATA_ID\x02$GROUP\x02$prev\x01";
        $value =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
        my $body = "Listening-Configs=$value";
        $lp = $self->{n2}->connect(timeout => 5)
            or return { error => 'long poll: cannot connect to node 2' };
        $lp->send("POST /nacos/v1/cs/configs/listener HTTP/1.1\r\nHost: n2\r\n"
                  . "Content-Type: application/x-www-form-urlencoded\r\n"
                  . "Long-Pulling-Timeout: 30000\r\n"
                  . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
        # held, not answered at once (that would be an md5 mismatch)
        my $r = $lp->read_response(timeout => 0.3, method => 'POST');
        return { error => "long poll answered at once: "
                          . ($r->{status} // '?') . " '" . ($r->{body} // '')
                          . "'" } if $r;
    }

    my $wait = ($o{at} // 0) - Time::HiRes::time();
    Time::HiRes::sleep($wait) if $wait > 0;

    # a push that came after its publish's wait is not this one's
    $self->{seen} = @{ $self->_pushes };
    my $t0 = $self->_publish("v$n")
        or return { error => "publish v$n on node 1 failed" };
    my $deadline = $t0 + 3 * $self->{refresh} + 2;

    if ($lp) {
        my $r = $lp->read_response(timeout => $deadline - Time::HiRes::time(),
                                   method => 'POST');
        my $at = Time::HiRes::time();
        if ($r) {
            $res{lp} = $at - $t0;
            $res{error} = "long poll answered '$r->{body}'"
                if $r->{body} ne "$DATA_ID%02$GROUP%01\n";
        }
        $lp->close;
    }

    my $push;
    while (1) {
        my $p = $self->_pushes;
        if (@$p > $self->{seen}) {
            $push = $p->[ $self->{seen} ];
            last;
        }
        last if Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep(0.02);
    }
    if ($push) {
        $res{grpc} = $push->{at} / 1000 - $t0;
        $res{error} //= "push names '$push->{body}{dataId}'"
            if ($push->{body}{dataId} // '') ne $DATA_ID;
    }
    return \%res;
}


# stops everything; returns the problems found in the nodes' logs (and
# exit codes) instead of reporting them as tests
sub stop ($self, %o) {
    $self->{grpc}->kill if $self->{grpc};
    my @p;
    for my $i (1, 2) {
        my $t = $self->{"n$i"} or next;
        if ($o{quiet}) {
            push @p, map { "node $i: $_" } $t->_terminate;
            $t->{checked} = 1;
        } else {
            $t->stop;
        }
    }
    return @p;
}

1;
