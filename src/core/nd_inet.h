/*
 * Socket addresses: parse "ip:port", "port", "*:port", "[v6]:port";
 * numeric only (a name lookup would block the loop).
 */
#ifndef ND_INET_H
#define ND_INET_H

#include <nd_config.h>

#define ND_SOCKADDR_STRLEN  (INET6_ADDRSTRLEN + sizeof("[]:65535"))

typedef struct {
    struct sockaddr_storage  sa;
    socklen_t                socklen;
    char                     text[ND_SOCKADDR_STRLEN];   /* ip:port */
    char                     host[INET6_ADDRSTRLEN];     /* ip only */
    in_port_t                port;                       /* host order */
} nd_addr_t;

nd_int_t nd_parse_addr(const nd_str_t *s, nd_addr_t *addr);
void nd_addr_from_sockaddr(nd_addr_t *addr, const struct sockaddr *sa,
    socklen_t len);

#endif /* ND_INET_H */
