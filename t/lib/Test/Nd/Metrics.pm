package Test::Nd::Metrics;

# Scrapes of GET /nacos/actuator/prometheus checked by real Prometheus
# parsers: promtool check metrics (Prometheus's own parser and linter,
# Debian prometheus) and the prometheus_client text parser (Debian
# python3-prometheus-client, t/metrics/parse.py), flattened for asserts:
#
#     Test::Nd::Metrics->need;                 # skip, or fail under CI
#     my $m = Test::Nd::Metrics::scrape($t, 'idle');
#     $m->{'nacos_monitor{module="naming",name="ipCount"}'}    # a number
#     Test::Nd::Metrics::sane($old, $m, 'after X');  # counters, buckets

use v5.36;
use File::Temp qw(tempfile);
use JSON::PP ();
use Test::More ();
use Test::Nd;

my $PATH = '/nacos/actuator/prometheus';
my $PYTHON = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
my %TYPES;             # family => type, from every scrape so far

sub path () { $PATH }


sub need ($class) {
    return if system('promtool --version >/dev/null 2>&1') == 0
        && system($PYTHON, '-c', 'import prometheus_client.parser') == 0;
    Test::More::fail('promtool and python3-prometheus-client are needed '
                     . '(auto/deps test installs them)')
        if ($ENV{CI} // '') eq 'true';
    Test::More::plan(skip_all => 'no promtool or python3-prometheus-client');
}


sub _tool ($input, @cmd) {
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh $input;
    close $fh;
    my $out = `@cmd < '$file' 2>&1`;
    return ($? >> 8, $out);
}


sub type ($family) { $TYPES{$family} }


# one scrape of $t: checked, parsed, flattened to "name{k="v",...}" (the
# labels sorted) => value
sub scrape ($t, $what) {
    my $r = $t->http_get($PATH);
    Test::More::is($r->{status}, 200, "$what: 200");
    Test::More::like($r->{headers}{'content-type'} // '',
                     qr{^text/plain; version=0\.0\.4}, "$what: text format 0.0.4");

    # promtool: 1 = does not parse, 3 = lint problems; the one lint
    # finding allowed is Nacos's own camelCase label (requestClass)
    my ($rc, $out) = _tool($r->{body}, 'promtool', 'check', 'metrics');
    my $nacos = 'grpc_server_requests_seconds label names should be '
              . "written in 'snake_case' not 'camelCase'";
    my @lint = grep { $_ ne $nacos } split /\n/, $out;
    Test::More::ok(($rc == 0 || $rc == 3) && !@lint,
                   "$what: promtool check metrics passes")
        or Test::More::diag("rc $rc: $out");

    ($rc, $out) = _tool($r->{body}, $PYTHON,
                        Test::Nd::root() . '/t/metrics/parse.py');
    Test::More::is($rc, 0, "$what: the prometheus_client parser reads it all")
        or Test::More::diag($out);

    my $fams = eval { JSON::PP::decode_json($out) } // {};
    my %v;
    for my $name (keys %$fams) {
        $TYPES{$name} = $fams->{$name}{type};
        for my $s (@{ $fams->{$name}{samples} }) {
            my ($n, $l, $val) = @$s;
            my $k = join ',', map { "$_=\"$l->{$_}\"" } sort keys %$l;
            $v{$k eq '' ? $n : "$n\{$k}"} = $val;
        }
    }
    return \%v;
}


# a value without the parsers, for polling (not an assertion)
sub peek ($t, $series) {
    for (split /\n/, $t->http_get($PATH)->{body}) {
        return $1 if /^\Q$series\E (\S+)$/;
    }
    return undef;
}


# counters never go down; every histogram's +Inf bucket is its count
sub sane ($old, $new, $what) {
    my @down;
    for my $k (sort keys %$new) {
        my ($n) = $k =~ /^([^{]+)/;
        next unless $n =~ /_total$|_count$|_sum$|_bucket$/;
        push @down, $k if defined $old->{$k} && $new->{$k} < $old->{$k};
    }
    Test::More::is("@down", '', "$what: no counter went down");

    my @bad;
    for my $k (grep { /_count(\{|$)/ } keys %$new) {
        my ($name, $labels) = $k =~ /^([^{]+)_count(?:\{(.*)\})?$/;
        next unless ($TYPES{$name} // '') eq 'histogram';
        my @l = (split(/,(?=[a-z_A-Z]+=")/, $labels // ''), 'le="+Inf"');
        my $inf = $new->{"${name}_bucket{" . join(',', sort @l) . '}'};
        push @bad, $k unless defined $inf && $inf == $new->{$k};
    }
    Test::More::is("@bad", '',
                   "$what: every histogram's +Inf bucket is its count");
}

1;
