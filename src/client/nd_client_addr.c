/*
 * libnacos: the servers' addresses.  The list a client is made with
 * ("ip:port", "[v6]:port", comma separated) and a socket address of an
 * entry; addresses only: a name lookup would block the loop.
 */
#include <nd_client.h>
#include <netdb.h>


int
nd_client_sockaddr(const char *host, int port, struct sockaddr_storage *ss,
    socklen_t *len, const char **why)
{
    int               rc;
    struct addrinfo   hints, *res, *ai, *pick;

    /* addresses only: no name lookup blocks the loop */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;

    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        *why = gai_strerror(rc);
        return -1;
    }

    pick = NULL;
    for (ai = res; ai && pick == NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
            pick = ai;
        }
    }

    if (pick == NULL || pick->ai_addrlen > sizeof(*ss)) {
        freeaddrinfo(res);
        *why = "no IPv4 or IPv6 address";
        return -1;
    }

    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *len = pick->ai_addrlen;
    freeaddrinfo(res);

    if (ss->ss_family == AF_INET) {
        ((struct sockaddr_in *) ss)->sin_port = htons((uint16_t) port);
    } else {
        ((struct sockaddr_in6 *) ss)->sin6_port = htons((uint16_t) port);
    }

    return 0;
}


void
nd_client_hostport(char *out, size_t size, const char *host, int port)
{
    snprintf(out, size, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
             port);
}


int
nd_client_parse_servers(nacos_client_t *c, const char *list)
{
    char             *copy, *s, *save, *colon, *end;
    nd_uint_t         n;
    struct in6_addr   a6;

    copy = strdup(list);
    if (copy == NULL) {
        return -1;
    }

    n = 1;
    for (s = copy; *s; s++) {
        n += (*s == ',');
    }

    c->servers = nd_calloc(n * sizeof(nd_client_server_t));
    if (c->servers == NULL) {
        free(copy);
        return -1;
    }

    for (s = strtok_r(copy, ", ", &save); s; s = strtok_r(NULL, ", ", &save))
    {
        /* host, host:port, [v6], [v6]:port; a bare v6 takes no port */
        colon = NULL;
        if (*s == '[') {
            end = strchr(s, ']');
            if (end == NULL || (end[1] != '\0' && end[1] != ':')) {
                free(copy);
                return -1;
            }
            colon = end[1] == ':' ? end + 1 : NULL;
            *end = '\0';
            s++;

        } else if (strchr(s, ':') == strrchr(s, ':')) {
            colon = strchr(s, ':');
            if (colon) {
                *colon = '\0';
            }
        }

        if (strlen(s) >= sizeof(c->servers[0].ip)
            || (inet_pton(AF_INET, s, &a6) != 1
                && inet_pton(AF_INET6, s, &a6) != 1))
        {
            free(copy);
            return -1;
        }
        snprintf(c->servers[c->nservers].ip, sizeof(c->servers[0].ip), "%s",
                 s);
        c->servers[c->nservers].port = colon ? atoi(colon + 1) : 8848;
        if (c->servers[c->nservers].port <= 0
            || c->servers[c->nservers].port > 65535 - (int) c->grpc_offset)
        {
            free(copy);
            return -1;
        }
        c->nservers++;
    }

    free(copy);

    return c->nservers ? 0 : -1;
}
