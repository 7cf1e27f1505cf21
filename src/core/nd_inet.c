/*
 * Numeric socket addresses.
 */
#include <nd_core.h>


void
nd_addr_from_sockaddr(nd_addr_t *addr, const struct sockaddr *sa,
    socklen_t len)
{
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    if (len > sizeof(addr->sa)) {
        len = sizeof(addr->sa);
    }
    memcpy(&addr->sa, sa, len);
    addr->socklen = len;

    if (sa->sa_family == AF_INET6) {
        sin6 = (const struct sockaddr_in6 *) sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, addr->host,
                  sizeof(addr->host));
        addr->port = ntohs(sin6->sin6_port);
        snprintf(addr->text, sizeof(addr->text), "[%s]:%u", addr->host,
                 (unsigned) addr->port);

    } else {
        sin = (const struct sockaddr_in *) sa;
        inet_ntop(AF_INET, &sin->sin_addr, addr->host, sizeof(addr->host));
        addr->port = ntohs(sin->sin_port);
        snprintf(addr->text, sizeof(addr->text), "%s:%u", addr->host,
                 (unsigned) addr->port);
    }
}


nd_int_t
nd_parse_addr(const nd_str_t *s, nd_addr_t *addr)
{
    char                  host[INET6_ADDRSTRLEN + 1];
    u_char               *p, *last, *colon;
    size_t                hlen;
    nd_int_t              port;
    struct sockaddr_in    sin;
    struct sockaddr_in6   sin6;

    p = s->data;
    last = s->data + s->len;

    if (s->len == 0) {
        return ND_ERROR;
    }

    if (*p == '[') {
        colon = memchr(p, ']', s->len);
        if (colon == NULL || colon + 1 >= last || colon[1] != ':') {
            return ND_ERROR;
        }
        hlen = (size_t) (colon - p - 1);
        if (hlen == 0 || hlen >= sizeof(host)) {
            return ND_ERROR;
        }
        memcpy(host, p + 1, hlen);
        host[hlen] = '\0';

        port = nd_atoi(colon + 2, (size_t) (last - colon - 2));
        if (port < 1 || port > 65535) {
            return ND_ERROR;
        }

        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((in_port_t) port);
        if (inet_pton(AF_INET6, host, &sin6.sin6_addr) != 1) {
            return ND_ERROR;
        }
        nd_addr_from_sockaddr(addr, (struct sockaddr *) &sin6, sizeof(sin6));
        return ND_OK;
    }

    colon = NULL;
    for (u_char *q = last - 1; q >= p; q--) {
        if (*q == ':') {
            colon = q;
            break;
        }
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;

    if (colon == NULL) {
        port = nd_atoi(p, s->len);
        sin.sin_addr.s_addr = htonl(INADDR_ANY);

    } else {
        hlen = (size_t) (colon - p);
        port = nd_atoi(colon + 1, (size_t) (last - colon - 1));

        if (hlen == 1 && *p == '*') {
            sin.sin_addr.s_addr = htonl(INADDR_ANY);

        } else {
            if (hlen == 0 || hlen >= sizeof(host)) {
                return ND_ERROR;
            }
            memcpy(host, p, hlen);
            host[hlen] = '\0';
            if (strcmp(host, "localhost") == 0) {
                strcpy(host, "127.0.0.1");
            }
            if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
                return ND_ERROR;
            }
        }
    }

    if (port < 1 || port > 65535) {
        return ND_ERROR;
    }

    sin.sin_port = htons((in_port_t) port);
    nd_addr_from_sockaddr(addr, (struct sockaddr *) &sin, sizeof(sin));

    return ND_OK;
}
