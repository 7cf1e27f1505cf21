/*
 * The Nacos name rules: one validator for every name a client gives
 * (config dataId, group, namespace, tag, app; naming service, group,
 * cluster, ip) and for free text (valid UTF-8, no NUL).  HTTP, gRPC and
 * the store call it; each protocol words the error its own way from the
 * nd_name_err_t and the kind's field name.
 *
 * The rules are Nacos 2.x's parameter-check filter and ParamUtils taken
 * together (../shared/ref/nacos-wire.md); where the two differ, a name
 * must pass both.  Characters are ASCII: names with other letters are
 * refused (Nacos refuses CJK and lets some other letters through).
 */
#ifndef ND_NAME_H
#define ND_NAME_H

#include <nd_config.h>
#include <nd_string.h>

typedef enum {
    ND_NAME_DATA_ID = 0,      /* 1..255 [A-Za-z0-9_.:-] */
    ND_NAME_GROUP,            /* 1..128 [A-Za-z0-9_.:-] (config and naming) */
    ND_NAME_NAMESPACE,        /* 0..64  [A-Za-z0-9_-]; "" is public */
    ND_NAME_TAG,              /* 1..16  [A-Za-z0-9_.:-] (config gray tag) */
    ND_NAME_APP,              /* 0..128 text */
    ND_NAME_SERVICE,          /* 1..512 printable UTF-8, no white space, no
                                 CJK, not '@' first, no "@@" */
    ND_NAME_CLUSTER,          /* 1..64  [A-Za-z0-9-] ('_' is ND_NAME_FORM) */
    ND_NAME_IP,               /* 0..128 printable UTF-8, no white space */
    ND_NAME_KINDS
} nd_name_kind_t;

typedef enum {
    ND_NAME_OK = 0,
    ND_NAME_EMPTY,            /* empty where the kind needs a value */
    ND_NAME_LONG,             /* over the kind's maximum (bytes) */
    ND_NAME_CHAR,             /* a character outside the kind's set, or
                                 bytes that are not UTF-8 */
    ND_NAME_FORM              /* characters allowed, arrangement not: '@'
                                 first or "@@" in a service, '_' in a
                                 cluster (Nacos's second rule) */
} nd_name_err_t;

nd_name_err_t nd_name_check(nd_name_kind_t kind, const nd_str_t *s);
size_t nd_name_max(nd_name_kind_t kind);

/* well-formed UTF-8 (no overlong forms, surrogates, or code points past
 * U+10FFFF); nul_ok = 0 also refuses NUL (PostgreSQL text cannot hold it) */
int nd_utf8_valid(const u_char *p, size_t n, int nul_ok);

/* src with each byte that is not part of well-formed UTF-8, and each NUL,
 * replaced by U+FFFD (as Java's decoder does); dst holds 3 * n bytes;
 * returns the length written */
size_t nd_utf8_repair(u_char *dst, const u_char *src, size_t n);

/* text a client stores (descriptions, metadata, app names): valid UTF-8,
 * no NUL, at most max bytes */
static inline int
nd_text_valid(const nd_str_t *s, size_t max)
{
    return s->len <= max && nd_utf8_valid(s->data, s->len, 0);
}

#endif /* ND_NAME_H */
