# bench/lib/bench.sh -- helpers shared by bench/run and the bench/*.bench
# sections.  Sourced, never executed.
#
# A section is an executable bench/NN-name.bench.  It sources this file,
# calls nd_bench_init, starts what it needs with the helpers below, prints
# its figures as it goes and hands its one-line results to nd_summary.
# bench/run prints every section's summary lines at the end.
#
# Environment (all optional):
#   ND_BUILDDIR      build directory, relative to the repo root   (objs)
#   BENCH_DURATION   wrk run length per target                     (10s)
#   BENCH_WARMUP     wrk warm-up before each measured run, 0 = off  (1s)
#   BENCH_CONNS      wrk connections                               (50)
#   BENCH_PIN        1: server on CPU 0, load generator on CPU 1   (1)
#   BENCH_STARTS     nacosd starts for the start-up median          (10)
#   NGINX            the nginx binary to compare with     (/usr/sbin/nginx)


ND_ROOT=${ND_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ND_BUILDDIR=${ND_BUILDDIR:-objs}
case $ND_BUILDDIR in
    /*) ND_BIN=$ND_BUILDDIR/nacosd ;;
    *)  ND_BIN=$ND_ROOT/$ND_BUILDDIR/nacosd ;;
esac
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_WARMUP=${BENCH_WARMUP:-1s}
BENCH_CONNS=${BENCH_CONNS:-50}
BENCH_PIN=${BENCH_PIN:-1}
BENCH_STARTS=${BENCH_STARTS:-10}
ND_PROBE=$ND_ROOT/bench/lib/probe.pl
ND_CONTEXT_PATH=/nacos
ND_LIVENESS=$ND_CONTEXT_PATH/v1/console/health/liveness

if [ -z "${NGINX:-}" ]; then
    NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
fi

export ND_ROOT ND_BUILDDIR ND_BIN BENCH_DURATION BENCH_WARMUP BENCH_CONNS \
       BENCH_PIN BENCH_STARTS NGINX

nd_bench_pids=()
nd_bench_tmp=


nd_bench_log()
{
    printf '%s\n' "$*"
}


nd_bench_die()
{
    printf 'bench: %s\n' "$*" >&2
    exit 1
}


# nd_bench_need TOOL PACKAGE: fail with the Debian package to install.
nd_bench_need()
{
    local tool=$1 pkg=$2

    case $tool in
        /*) [ -x "$tool" ] && return 0 ;;
        *)  command -v "$tool" >/dev/null 2>&1 && return 0 ;;
    esac
    printf 'bench: "%s" not found; install the Debian package: %s\n' \
           "$tool" "$pkg" >&2
    printf '       (apt-get install %s, or run "auto/deps bench" as root)\n' \
           "$pkg" >&2
    exit 1
}


nd_bench_check_tools()
{
    nd_bench_need perl perl
    if ! perl -MTime::HiRes -MIO::Socket::INET -e 1 2>/dev/null; then
        printf 'bench: perl lacks Time::HiRes; install: perl\n' >&2
        exit 1
    fi
    nd_bench_need wrk wrk
    nd_bench_need "$NGINX" nginx-light
    nd_bench_need timeout coreutils
}


# nd_bench_init: private temp directory, cleanup of everything started
# through nd_bench_spawn on any exit.
nd_bench_init()
{
    nd_bench_check_tools
    [ -x "$ND_BIN" ] || nd_bench_die "$ND_BIN not built; run make first"

    nd_bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/nd-bench.XXXXXX") \
        || nd_bench_die "mktemp failed"
    trap nd_bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
}


nd_bench_cleanup()
{
    local pid

    for pid in "${nd_bench_pids[@]}"; do
        nd_bench_stop "$pid"
    done
    nd_bench_pids=()
    if [ -n "$nd_bench_tmp" ] && [ -d "$nd_bench_tmp" ]; then
        if [ -n "${BENCH_KEEP:-}" ]; then
            printf 'bench: kept %s\n' "$nd_bench_tmp" >&2
        else
            rm -rf "$nd_bench_tmp"
        fi
    fi
}


# nd_bench_stop PID: TERM, wait up to 5 s, then KILL the process and its
# direct children (an nginx master's worker).
nd_bench_stop()
{
    local pid=$1 i kids

    kill -0 "$pid" 2>/dev/null || return 0
    kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null)
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" $kids 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}


# nd_bench_cpu N: "taskset -c N" when pinning is on and the CPU exists.
nd_bench_cpu()
{
    if [ "$BENCH_PIN" = 1 ] && command -v taskset >/dev/null 2>&1 \
       && [ "$(nproc)" -gt "$1" ]
    then
        printf 'taskset -c %s' "$1"
    fi
}


# nd_bench_port: a free 127.0.0.1 port p with p+1000 and p+1001 free too
# (the gRPC and cluster ports of later sections).
nd_bench_port()
{
    perl "$ND_PROBE" port
}


# nd_bench_wait PORT PATH [TIMEOUT_MS]: wait for a 200 answer.
nd_bench_wait()
{
    perl "$ND_PROBE" wait "$1" "$2" "${3:-5000}"
}


# nd_bench_spawn NAME CMD...: start CMD in the background (stdout and
# stderr to $nd_bench_tmp/NAME.out), remember it for cleanup; sets
# nd_bench_pid.
nd_bench_spawn()
{
    local name=$1
    shift

    "$@" >"$nd_bench_tmp/$name.out" 2>&1 &
    nd_bench_pid=$!
    nd_bench_pids+=("$nd_bench_pid")
}


# nd_bench_nacosd_conf DIR PORT [EXTRA]: a standalone conf for DIR, the
# HTTP listener on PORT; EXTRA is appended (blocks of later sections).
nd_bench_nacosd_conf()
{
    local dir=$1 port=$2 extra=${3:-}

    mkdir -p "$dir/logs"
    cat >"$dir/nacosd.conf" <<CONF
# written by bench/lib/bench.sh
daemon off;
pid logs/nacosd.pid;
error_log logs/error.log warn;
# the figures are of the serving paths; the load generators log in nowhere
auth off;

events {
    shutdown_timeout 2s;
}

http {
    listen 127.0.0.1:$port;
    context_path $ND_CONTEXT_PATH;
    access_log off;
}
$extra
CONF
}


# nd_bench_nacosd NAME [EXTRA]: start nacosd from $nd_bench_tmp/NAME on a
# free port and wait until liveness answers.  Sets nd_bench_pid and
# nd_bench_port.
nd_bench_nacosd()
{
    local dir=$nd_bench_tmp/$1 extra=${2:-}

    nd_bench_port=$(nd_bench_port) || nd_bench_die "no free port"
    nd_bench_nacosd_conf "$dir" "$nd_bench_port" "$extra"
    nd_bench_spawn "$1" $(nd_bench_cpu 0) \
        "$ND_BIN" -p "$dir/" -c "$dir/nacosd.conf"
    if ! nd_bench_wait "$nd_bench_port" "$ND_LIVENESS" 5000; then
        nd_bench_log "nacosd did not answer on 127.0.0.1:$nd_bench_port:"
        sed 's/^/    /' "$nd_bench_tmp/$1.out" "$dir/logs/error.log" \
            2>/dev/null | tail -20
        nd_bench_die "nacosd failed to start"
    fi
}


# nd_bench_nginx NAME: start nginx (master + one worker, daemon off) from
# $nd_bench_tmp/NAME, answering the liveness path like nacosd does.
# Sets nd_bench_pid and nd_bench_port.
nd_bench_nginx()
{
    local dir=$nd_bench_tmp/$1 temps= t

    nd_bench_port=$(nd_bench_port) || nd_bench_die "no free port"
    mkdir -p "$dir/logs" "$dir/tmp"

    # keep every temp path inside DIR; only for modules this nginx has
    for t in proxy fastcgi uwsgi scgi; do
        if ! "$NGINX" -V 2>&1 | grep -q -- "--without-http_${t}_module"; then
            temps="$temps    ${t}_temp_path $dir/tmp/$t;"$'\n'
        fi
    done

    # keepalive_requests: nacosd has no per-connection request limit, so
    # do not let nginx's default (1000) add reconnects to its figures.
    cat >"$dir/nginx.conf" <<CONF
# written by bench/lib/bench.sh
daemon off;
master_process on;
worker_processes 1;
pid $dir/logs/nginx.pid;
error_log $dir/logs/error.log warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    default_type text/plain;
    keepalive_requests 1000000;
    client_body_temp_path $dir/tmp/body;
$temps
    server {
        listen 127.0.0.1:$nd_bench_port;

        location = $ND_LIVENESS {
            return 200 "OK";
        }
    }
}
CONF

    # nginx reads NGINX as a list of inherited sockets: not ours to pass
    nd_bench_spawn "$1" $(nd_bench_cpu 0) env -u NGINX \
        "$NGINX" -p "$dir/" -e "$dir/logs/error.log" -c "$dir/nginx.conf"
    if ! nd_bench_wait "$nd_bench_port" "$ND_LIVENESS" 5000; then
        nd_bench_log "nginx did not answer on 127.0.0.1:$nd_bench_port:"
        sed 's/^/    /' "$nd_bench_tmp/$1.out" "$dir/logs/error.log" \
            2>/dev/null | tail -20
        nd_bench_die "nginx failed to start"
    fi
}


# nd_bench_secs DURATION: wrk duration ("10s", "1m", "500ms", "2") in
# whole seconds, rounded up.
nd_bench_secs()
{
    perl -e '
        my ($n, $u) = $ARGV[0] =~ /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/
            or die "bad duration \"$ARGV[0]\"\n";
        my %m = (ms => 0.001, s => 1, m => 60, h => 3600);
        my $s = $n * $m{$u // "s"};
        print int($s) == $s ? int($s) : int($s) + 1, "\n";' "$1"
}


# nd_bench_wrk LABEL URL: warm-up, then a measured wrk run; prints wrk's
# report indented, sets wrk_rps, wrk_p99_ms, wrk_bad (non-2xx + socket
# errors).
nd_bench_wrk()
{
    local label=$1 url=$2 secs out

    secs=$(nd_bench_secs "$BENCH_DURATION") || exit 1
    if [ "$BENCH_WARMUP" != 0 ]; then
        timeout -k 5 60 $(nd_bench_cpu 1) \
            wrk -t1 -c"$BENCH_CONNS" -d"$BENCH_WARMUP" "$url" \
            >/dev/null 2>&1 &
        nd_bench_pids+=($!)
        wait $!
    fi

    out=$nd_bench_tmp/wrk-$label.txt
    nd_bench_log "  wrk -t1 -c$BENCH_CONNS -d$BENCH_DURATION --latency $url ($label)"
    # in the background, so that a signal to this script is acted on at
    # once and nd_bench_cleanup stops wrk too
    timeout -k 5 $((secs + 60)) $(nd_bench_cpu 1) \
        wrk -t1 -c"$BENCH_CONNS" -d"$BENCH_DURATION" --latency "$url" \
        >"$out" 2>&1 &
    nd_bench_pids+=($!)
    wait $!
    sed 's/^/    /' "$out"

    wrk_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    wrk_p99_ms=$(awk '
        $1 == "99%" {
            v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u);
            f = -1;
            if (u == "us") f = 0.001;
            else if (u == "ms") f = 1;
            else if (u == "s") f = 1000;
            else if (u == "m") f = 60000;
            else if (u == "h") f = 3600000;
            if (f > 0) printf "%.2f\n", v * f;
        }' "$out")
    wrk_bad=$(awk '
        /Non-2xx or 3xx responses:/ { n += $NF }
        /Socket errors:/ {
            for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i
        }
        END { print n + 0 }' "$out")
    wrk_rps=${wrk_rps:-0}
    wrk_p99_ms=${wrk_p99_ms:-?}
}


# nd_bench_rss PID: VmRSS in KB.
nd_bench_rss()
{
    awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status 2>/dev/null
}


# nd_bench_anon PID: the process's private anonymous memory in KB
# (RssAnon: heap, stacks, its own mappings; not the pages of the binary
# and the shared libraries, which VmRSS counts too)
nd_bench_anon()
{
    awk '/^RssAnon:/ { print $2 }' /proc/"$1"/status 2>/dev/null
}


# nd_bench_build_note: warn when the binary is a debug or sanitizer build.
nd_bench_build_note()
{
    local v

    v=$("$ND_BIN" -V 2>&1)
    case $v in
        *--with-asan*|*--with-debug*)
            printf 'note      %s is a --with-debug/--with-asan build; figures are not representative\n' \
                   "${ND_BIN#"$ND_ROOT"/}"
            ;;
    esac
}


# nd_summary LINE...: one result line for the final block of bench/run
# (printed directly when a section runs on its own).
nd_summary()
{
    if [ -n "${ND_BENCH_SUMMARY:-}" ]; then
        printf '%s\n' "$@" >>"$ND_BENCH_SUMMARY"
    else
        printf '%s\n' "$@"
    fi
}


# ---- clusters (bench/70-cluster.bench, bench/75-distro.bench) ---------------

# nd_bench_pg: a private PostgreSQL (bench/lib/pg.pl, as the tests start
# theirs), stopped by nd_bench_cleanup.  Sets nd_bench_pg_conninfo; returns
# 1 with the reason in nd_bench_pg_why when it cannot be had.
nd_bench_pg()
{
    local line i

    nd_bench_spawn pg perl "$ND_ROOT/bench/lib/pg.pl"
    nd_bench_pg_pid=$nd_bench_pid
    for i in $(seq 1200); do
        line=$(head -1 "$nd_bench_tmp/pg.out" 2>/dev/null)
        case $line in
            conninfo\ *) nd_bench_pg_conninfo=${line#conninfo }; return 0 ;;
            skip\ *|error\ *) nd_bench_pg_why=${line#* }; return 1 ;;
        esac
        if ! kill -0 "$nd_bench_pg_pid" 2>/dev/null; then
            nd_bench_pg_why="bench/lib/pg.pl exited: $(tail -3 "$nd_bench_tmp/pg.out" | tr '\n' ' ')"
            return 1
        fi
        sleep 0.1
    done
    nd_bench_pg_why="PostgreSQL did not start within 120 s"
    return 1
}


# nd_bench_ports N: N distinct free ports (each with +1000 and +1001 free),
# one a line
nd_bench_ports()
{
    local n=$1 p seen=" "

    while [ "$n" -gt 0 ]; do
        p=$(nd_bench_port) || return 1
        case $seen in *" $p "*|*" $((p + 1000)) "*|*" $((p + 1001)) "*|*" $((p - 1000)) "*|*" $((p - 1001)) "*) continue ;; esac
        seen="$seen$p $((p + 1000)) $((p + 1001)) "
        printf '%s\n' "$p"
        n=$((n - 1))
    done
}


# nd_bench_cluster_conf NAME PORT "MEMBER_PORTS" [EXTRA]: the conf of a
# cluster node in $nd_bench_tmp/NAME: HTTP on PORT, SDK gRPC on PORT+1000,
# cluster RPC on PORT+1001, backend pg on nd_bench_pg_conninfo, members
# 127.0.0.1:P for each P of MEMBER_PORTS; EXTRA is appended.
nd_bench_cluster_conf()
{
    local name=$1 port=$2 members=$3 extra=${4:-} m list=

    for m in $members; do
        list="$list    member 127.0.0.1:$m;"$'\n'
    done
    nd_bench_nacosd_conf "$nd_bench_tmp/$name" "$port" "store {
    backend pg;
    pg_conninfo \"$nd_bench_pg_conninfo\";
    pg_pool 2;
}

cluster {
$list}
$extra"
}


# nd_bench_cluster_start NAME PORT: start the node whose conf
# nd_bench_cluster_conf wrote (pinned like every server); does not wait.
# Sets nd_bench_pid.
nd_bench_cluster_start()
{
    local dir=$nd_bench_tmp/$1

    nd_bench_spawn "$1" $(nd_bench_cpu 0) \
        "$ND_BIN" -p "$dir/" -c "$dir/nacosd.conf"
}


# nd_bench_ready PORT [TIMEOUT_MS]: wait for readiness 200
nd_bench_ready()
{
    perl "$ND_PROBE" wait "$1" "$ND_CONTEXT_PATH/v1/console/health/readiness" \
        "${2:-30000}" "${3:-}"
}


# nd_bench_node_fail NAME: the tails of a node's output and error log
nd_bench_node_fail()
{
    sed 's/^/    /' "$nd_bench_tmp/$1.out" "$nd_bench_tmp/$1/logs/error.log" \
        2>/dev/null | tail -20
}


# nd_bench_members_up PORT: how many members the node on PORT lists UP
nd_bench_members_up()
{
    perl "$ND_PROBE" get "$1" "$ND_CONTEXT_PATH/v1/core/cluster/nodes" \
        2>/dev/null | grep -o '"state":"UP"' | wc -l
}


# nd_bench_wait_up N TIMEOUT_S PORT...: every node on PORT... lists N
# members UP, within TIMEOUT_S
nd_bench_wait_up()
{
    local n=$1 secs=$2 p ok i
    shift 2

    for i in $(seq $((secs * 10))); do
        ok=1
        for p in "$@"; do
            [ "$(nd_bench_members_up "$p")" -ge "$n" ] || { ok=; break; }
        done
        [ -n "$ok" ] && return 0
        sleep 0.1
    done
    return 1
}


# nd_bench_private PID: private (anonymous and file-backed private) memory
# in KB: Private_Clean + Private_Dirty of /proc/PID/smaps_rollup, RssAnon
# of /proc/PID/status where smaps_rollup is missing
nd_bench_private()
{
    if [ -r /proc/"$1"/smaps_rollup ]; then
        awk '/^Private_(Clean|Dirty):/ { kb += $2 } END { print kb + 0 }' \
            /proc/"$1"/smaps_rollup
    else
        awk '/^RssAnon:/ { print $2 }' /proc/"$1"/status 2>/dev/null
    fi
}


# nd_bench_cputicks PID: utime + stime of /proc/PID/stat, in clock ticks
nd_bench_cputicks()
{
    # the command name (field 2) may hold blanks: split after its ")"
    sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | awk '{ print $12 + $13 }'
}


# nd_bench_cpu_ns PID: CPU time of every thread of PID in ns (run time of
# /proc/PID/task/*/schedstat; utime + stime at clock-tick resolution
# where schedstat is missing)
nd_bench_cpu_ns()
{
    local hz

    if [ -r /proc/"$1"/schedstat ]; then
        cat /proc/"$1"/task/*/schedstat 2>/dev/null \
            | awk '{ ns += $1 } END { printf "%.0f\n", ns }'
    else
        hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
        awk -v t="$(nd_bench_cputicks "$1")" -v hz="$hz" \
            'BEGIN { printf "%.0f\n", t * 1e9 / hz }'
    fi
}


# nd_bench_settle PID [MAX_S]: wait until PID uses under 2% of a core over
# half a second (what it still had to do is done), at most MAX_S (60);
# prints the seconds waited
nd_bench_settle()
{
    local pid=$1 max=${2:-60} i c0 c1

    c0=$(nd_bench_cpu_ns "$pid")
    for i in $(seq $((max * 2))); do
        sleep 0.5
        c1=$(nd_bench_cpu_ns "$pid")
        if [ $((c1 - c0)) -lt 10000000 ]; then
            break
        fi
        c0=$c1
    done
    awk -v i="$i" 'BEGIN { printf "%.1f\n", i / 2 }'
}
