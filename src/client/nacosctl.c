/*
 * nacosctl: Nacos from the shell, on libnacos (as etcdctl is for etcd).
 *
 *   nacosctl [-s host:port[,host:port]] [-n namespace] [-u user] [--json]
 *            [-t timeout_ms] [-v] COMMAND ...
 *
 * The password comes from NACOS_PASSWORD, else a prompt on the terminal.
 * Exit codes: 0 ok, 1 not found, 2 error; messages on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>
#include <fcntl.h>
#include <nacos.h>

#define EXIT_NOTFOUND  1
#define EXIT_ERR       2

typedef struct {
    const char      *servers;
    const char      *ns;
    const char      *user;
    int              json;
    int              verbose;
    unsigned         timeout;
    long             count;     /* listen/subscribe: stop after N */
    const char      *file;
    const char      *cas;
    const char      *type;
    const char      *group;
    const char      *cluster;
    const char      *metadata;
    double           weight;
    int              ephemeral;
    long             seen;
    nacos_client_t  *c;
} ctl_t;

static ctl_t  ctl;


static void
usage(void)
{
    fprintf(stderr,
"usage: nacosctl [-s host:port[,...]] [-n namespace] [-u user] [--json]\n"
"                [-t timeout_ms] [-v] COMMAND ...\n"
"  config get DATAID [GROUP]\n"
"  config publish DATAID [GROUP] [-f FILE] [--cas MD5] [--type TYPE]\n"
"                                          (content from FILE or stdin)\n"
"  config delete DATAID [GROUP]\n"
"  config history DATAID [GROUP]\n"
"  config listen DATAID [GROUP] [--count N]\n"
"  service list [GROUP]\n"
"  service get SERVICE [GROUP]\n"
"  instance register|deregister SERVICE IP PORT [--group G] [--cluster C]\n"
"           [--weight W] [--metadata JSON] [--ephemeral]\n"
"                   (ephemeral: stays registered until nacosctl ends)\n"
"  instance list SERVICE [GROUP]\n"
"  subscribe SERVICE [GROUP] [--count N]\n"
"  cluster members\n"
"  connections\n"
"  health\n"
"password: NACOS_PASSWORD, else asked on the terminal\n"
"exit: 0 ok, 1 not found, 2 error\n");
}


static int
fail(int rc)
{
    fprintf(stderr, "nacosctl: %s\n", nacos_errmsg(ctl.c));
    return rc == NACOS_NOT_FOUND ? EXIT_NOTFOUND : EXIT_ERR;
}


static char *
read_password(void)
{
    int             fd;
    char            buf[256];
    ssize_t         n;
    struct termios  t, saved;

    fd = open("/dev/tty", O_RDWR);
    if (fd < 0) {
        return NULL;
    }

    if (write(fd, "password: ", 10) < 0) {
        close(fd);
        return NULL;
    }
    tcgetattr(fd, &saved);
    t = saved;
    t.c_lflag &= ~(tcflag_t) ECHO;
    tcsetattr(fd, TCSAFLUSH, &t);
    n = read(fd, buf, sizeof(buf) - 1);
    tcsetattr(fd, TCSAFLUSH, &saved);
    if (write(fd, "\n", 1) < 0) {
        /* void */
    }
    close(fd);

    if (n <= 0) {
        return NULL;
    }

    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';

    return strdup(buf);
}


/* JSON string of s on stdout */
static void
put_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        switch (*s) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if ((unsigned char) *s < 0x20) {
                printf("\\u%04x", (unsigned char) *s);
            } else {
                putchar(*s);
            }
        }
    }
    putchar('"');
}


static char *
read_all(FILE *f)
{
    char    *buf, *p;
    size_t   len, cap, n;

    cap = 65536;
    len = 0;
    buf = malloc(cap);

    while (buf) {
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            break;
        }
        if (cap - len < 2) {
            cap *= 2;
            p = realloc(buf, cap);
            if (p == NULL) {
                free(buf);
                return NULL;
            }
            buf = p;
        }
    }

    if (buf) {
        buf[len] = '\0';
    }

    return buf;
}


static void
on_config(nacos_client_t *c, const char *data_id, const char *group,
    const char *content, const char *md5, void *data)
{
    if (ctl.json) {
        printf("{\"dataId\":");
        put_json_str(data_id);
        printf(",\"group\":");
        put_json_str(group);
        printf(",\"deleted\":%s,\"md5\":", content ? "false" : "true");
        put_json_str(md5);
        printf(",\"content\":");
        put_json_str(content ? content : "");
        printf("}\n");
    } else if (content) {
        printf("%s %s changed md5=%s\n%s\n", data_id, group, md5, content);
    } else {
        printf("%s %s deleted\n", data_id, group);
    }
    fflush(stdout);

    if (ctl.count > 0 && ++ctl.seen >= ctl.count) {
        nacos_client_stop(c);
    }
}


static void
on_service(nacos_client_t *c, const char *service, const char *group,
    const char *info, void *data)
{
    if (ctl.json) {
        printf("%s\n", info);
    } else {
        printf("%s %s changed %s\n", service, group, info);
    }
    fflush(stdout);

    if (ctl.count > 0 && ++ctl.seen >= ctl.count) {
        nacos_client_stop(c);
    }
}


static void
on_signal(int sig)
{
    (void) sig;
    /* run ends at once: a blocking read of the loop is interrupted */
    ctl.count = -1;
}


static int
run_until_signal(void)
{
    struct sigaction  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    while (ctl.count >= 0 && (ctl.count == 0 || ctl.seen < ctl.count)) {
        nacos_client_run(ctl.c, 200);
    }

    return 0;
}


static int
http_get(const char *path)
{
    int    rc, status;
    char  *body;

    rc = nacos_http(ctl.c, "GET", path, NULL, &status, &body);
    if (rc != NACOS_OK) {
        return fail(rc);
    }

    printf("%s\n", body);
    free(body);

    if (status == 404) {
        return EXIT_NOTFOUND;
    }

    if (status != 200) {
        fprintf(stderr, "nacosctl: %s: HTTP %d\n", path, status);
        return EXIT_ERR;
    }

    return 0;
}


static void
urlencode(char *out, size_t size, const char *s)
{
    size_t  n;

    for (n = 0; *s && n + 4 < size; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
            || (*s >= '0' && *s <= '9') || strchr("-_.~", *s))
        {
            out[n++] = *s;
        } else {
            n += (size_t) snprintf(out + n, size - n, "%%%02X",
                                   (unsigned char) *s);
        }
    }
    out[n] = '\0';
}


static int
cmd_config(int argc, char **argv)
{
    int    rc;
    char  *content, md5[33], path[2048], d[512], g[512], t[512];
    const char  *group;
    FILE  *f;

    if (argc < 2) {
        usage();
        return EXIT_ERR;
    }

    group = argc > 2 ? argv[2] : ctl.group;

    if (strcmp(argv[0], "get") == 0) {
        rc = nacos_config_get(ctl.c, argv[1], group, &content, md5);
        if (rc != NACOS_OK) {
            return fail(rc);
        }
        if (ctl.json) {
            printf("{\"dataId\":");
            put_json_str(argv[1]);
            printf(",\"group\":");
            put_json_str(group ? group : "DEFAULT_GROUP");
            printf(",\"md5\":\"%s\",\"content\":", md5);
            put_json_str(content);
            printf("}\n");
        } else {
            fputs(content, stdout);
        }
        free(content);
        return 0;
    }

    if (strcmp(argv[0], "publish") == 0) {
        f = ctl.file && strcmp(ctl.file, "-") != 0 ? fopen(ctl.file, "r")
                                                   : stdin;
        if (f == NULL) {
            perror(ctl.file);
            return EXIT_ERR;
        }
        content = read_all(f);
        if (f != stdin) {
            fclose(f);
        }
        if (content == NULL) {
            fprintf(stderr, "nacosctl: cannot read the content\n");
            return EXIT_ERR;
        }
        rc = nacos_config_publish(ctl.c, argv[1], group, content, ctl.cas,
                                  ctl.type);
        free(content);
        if (rc != NACOS_OK) {
            return fail(rc);
        }
        if (ctl.json) {
            printf("{\"published\":true}\n");
        }
        return 0;
    }

    if (strcmp(argv[0], "delete") == 0) {
        rc = nacos_config_remove(ctl.c, argv[1], group);
        if (rc != NACOS_OK) {
            return fail(rc);
        }
        return 0;
    }

    if (strcmp(argv[0], "history") == 0) {
        urlencode(d, sizeof(d), argv[1]);
        urlencode(g, sizeof(g), group ? group : "DEFAULT_GROUP");
        urlencode(t, sizeof(t), ctl.ns ? ctl.ns : "");
        snprintf(path, sizeof(path), "/nacos/v1/cs/history?search=accurate"
                 "&dataId=%s&group=%s&tenant=%s&pageNo=1&pageSize=100",
                 d, g, t);
        return http_get(path);
    }

    if (strcmp(argv[0], "listen") == 0) {
        rc = nacos_config_listen(ctl.c, argv[1], group, on_config, NULL);
        if (rc != NACOS_OK) {
            return fail(rc);
        }
        return run_until_signal();
    }

    usage();
    return EXIT_ERR;
}


static void
instance_from(nacos_instance_t *inst, char **argv)
{
    memset(inst, 0, sizeof(*inst));
    inst->ip = argv[1];
    inst->port = atoi(argv[2]);
    inst->weight = ctl.weight;
    inst->cluster = ctl.cluster;
    inst->metadata = ctl.metadata;
    inst->persistent = !ctl.ephemeral;
}


static int
print_service(const char *service, const char *group, int list)
{
    int    rc;
    char  *info, *p, *q;

    rc = nacos_naming_query(ctl.c, service, group, NULL, 0, &info);
    if (rc != NACOS_OK) {
        return fail(rc);
    }

    if (ctl.json || !list) {
        printf("%s\n", info);
    } else {
        /* one "ip:port" a line, from the hosts' "ip" and "port" fields */
        for (p = strstr(info, "\"ip\":\""); p; p = strstr(p, "\"ip\":\"")) {
            p += 6;
            q = strchr(p, '"');
            if (q == NULL) {
                break;
            }
            printf("%.*s", (int) (q - p), p);
            p = strstr(q, "\"port\":");
            if (p) {
                printf(":%ld", strtol(p + 7, NULL, 10));
            }
            printf("\n");
            if (p == NULL) {
                break;
            }
        }
    }

    free(info);

    return 0;
}


static int
cmd_instance(int argc, char **argv)
{
    int               rc;
    nacos_instance_t  inst;

    if (argc >= 2 && strcmp(argv[0], "list") == 0) {
        return print_service(argv[1], argc > 2 ? argv[2] : ctl.group, 1);
    }

    if (argc < 4) {
        usage();
        return EXIT_ERR;
    }

    instance_from(&inst, argv + 1);

    if (strcmp(argv[0], "register") == 0) {
        rc = nacos_naming_register(ctl.c, argv[1], ctl.group, &inst);
        if (rc != NACOS_OK) {
            return fail(rc);
        }
        if (ctl.ephemeral) {
            fprintf(stderr, "nacosctl: registered; held until interrupted\n");
            return run_until_signal();
        }
        return 0;
    }

    if (strcmp(argv[0], "deregister") == 0) {
        rc = nacos_naming_deregister(ctl.c, argv[1], ctl.group, &inst);
        return rc == NACOS_OK ? 0 : fail(rc);
    }

    usage();
    return EXIT_ERR;
}


static int
cmd_service(int argc, char **argv)
{
    int    rc;
    char  *resp, body[1024], g[512];

    if (argc >= 1 && strcmp(argv[0], "list") == 0) {
        snprintf(g, sizeof(g), "%s", argc > 1 ? argv[1]
                 : ctl.group ? ctl.group : "DEFAULT_GROUP");
        snprintf(body, sizeof(body), "{\"namespace\":\"%s\","
                 "\"groupName\":\"%s\",\"pageNo\":1,\"pageSize\":1000,"
                 "\"module\":\"naming\",\"headers\":{}}",
                 ctl.ns && ctl.ns[0] ? ctl.ns : "public", g);
        rc = nacos_request(ctl.c, "ServiceListRequest", body, NULL, &resp);
        if (rc != NACOS_OK) {
            return fail(rc);
        }
        printf("%s\n", resp);
        free(resp);
        return 0;
    }

    if (argc >= 2 && strcmp(argv[0], "get") == 0) {
        return print_service(argv[1], argc > 2 ? argv[2] : ctl.group, 0);
    }

    usage();
    return EXIT_ERR;
}


int
main(int argc, char **argv)
{
    int            a, rc;
    char           err[256], *password;
    nacos_conf_t   conf;
    const char    *cmd;

    signal(SIGPIPE, SIG_IGN);
    memset(&ctl, 0, sizeof(ctl));
    ctl.servers = getenv("NACOS_SERVERS") ? getenv("NACOS_SERVERS")
                                          : "127.0.0.1:8848";
    ctl.timeout = 3000;

    /* options anywhere; the rest are the command's words */
    {
        int    n;
        char **words = calloc((size_t) argc + 1, sizeof(char *));

        if (words == NULL) {
            return EXIT_ERR;
        }
        n = 0;
        for (a = 1; a < argc; a++) {
            const char *o = argv[a];
            const char *v = a + 1 < argc ? argv[a + 1] : NULL;
            int         takes = 1;

            if (strcmp(o, "-s") == 0 && v) ctl.servers = v;
            else if (strcmp(o, "-n") == 0 && v) ctl.ns = v;
            else if (strcmp(o, "-u") == 0 && v) ctl.user = v;
            else if (strcmp(o, "-t") == 0 && v) ctl.timeout = (unsigned) atoi(v);
            else if (strcmp(o, "-f") == 0 && v) ctl.file = v;
            else if (strcmp(o, "--cas") == 0 && v) ctl.cas = v;
            else if (strcmp(o, "--type") == 0 && v) ctl.type = v;
            else if (strcmp(o, "--count") == 0 && v) ctl.count = atol(v);
            else if (strcmp(o, "--group") == 0 && v) ctl.group = v;
            else if (strcmp(o, "--cluster") == 0 && v) ctl.cluster = v;
            else if (strcmp(o, "--metadata") == 0 && v) ctl.metadata = v;
            else if (strcmp(o, "--weight") == 0 && v) ctl.weight = atof(v);
            else {
                takes = 0;
                if (strcmp(o, "--json") == 0) ctl.json = 1;
                else if (strcmp(o, "-v") == 0) ctl.verbose = 1;
                else if (strcmp(o, "--ephemeral") == 0) ctl.ephemeral = 1;
                else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
                    usage();
                    free(words);
                    return 0;
                } else if (o[0] == '-' && o[1] != '\0') {
                    fprintf(stderr, "nacosctl: unknown option %s\n", o);
                    usage();
                    free(words);
                    return EXIT_ERR;
                } else {
                    words[n++] = argv[a];
                    continue;
                }
                continue;
            }
            a += takes;
        }

        argc = n;
        argv = words;
    }

    if (argc < 1) {
        usage();
        free(argv);
        return EXIT_ERR;
    }

    password = NULL;
    if (ctl.user) {
        password = getenv("NACOS_PASSWORD")
                   ? strdup(getenv("NACOS_PASSWORD")) : read_password();
        if (password == NULL) {
            fprintf(stderr, "nacosctl: no password (NACOS_PASSWORD or a "
                    "terminal)\n");
            free(argv);
            return EXIT_ERR;
        }
    }

    memset(&conf, 0, sizeof(conf));
    conf.servers = ctl.servers;
    conf.namespace_id = ctl.ns;
    conf.app_name = "nacosctl";
    conf.username = ctl.user;
    conf.password = password;
    conf.timeout_ms = ctl.timeout;
    conf.trace = ctl.verbose;

    ctl.c = nacos_client_new(&conf, err, sizeof(err));
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    if (ctl.c == NULL) {
        fprintf(stderr, "nacosctl: %s\n", err);
        free(argv);
        return EXIT_ERR;
    }

    cmd = argv[0];

    /* the HTTP-only commands need no gRPC connection */
    if (strcmp(cmd, "cluster") == 0 && argc > 1
        && strcmp(argv[1], "members") == 0)
    {
        rc = http_get("/nacos/v1/core/cluster/nodes");

    } else if (strcmp(cmd, "connections") == 0) {
        rc = http_get("/nacos/v1/core/loader/current");

    } else if (strcmp(cmd, "health") == 0) {
        rc = http_get("/nacos/v1/console/health/readiness");

    } else if (nacos_client_wait_ready(ctl.c, ctl.timeout) != NACOS_OK) {
        rc = fail(NACOS_UNAVAILABLE);

    } else if (strcmp(cmd, "config") == 0) {
        rc = cmd_config(argc - 1, argv + 1);

    } else if (strcmp(cmd, "service") == 0) {
        rc = cmd_service(argc - 1, argv + 1);

    } else if (strcmp(cmd, "instance") == 0) {
        rc = cmd_instance(argc - 1, argv + 1);

    } else if (strcmp(cmd, "subscribe") == 0 && argc > 1) {
        rc = nacos_naming_subscribe(ctl.c, argv[1],
                                    argc > 2 ? argv[2] : ctl.group,
                                    on_service, NULL);
        rc = rc == NACOS_OK ? run_until_signal() : fail(rc);

    } else {
        usage();
        rc = EXIT_ERR;
    }

    nacos_client_free(ctl.c);
    free(argv);

    return rc;
}
