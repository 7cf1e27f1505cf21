/*
 * System headers, basic types and return codes shared by every file.
 */
#ifndef ND_CONFIG_H
#define ND_CONFIG_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <nd_auto_config.h>

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef intptr_t   nd_int_t;
typedef uintptr_t  nd_uint_t;
typedef intptr_t   nd_flag_t;
typedef int        nd_err_t;
typedef uint64_t   nd_msec_t;

#define ND_OK          0
#define ND_ERROR      -1
#define ND_AGAIN      -2
#define ND_BUSY       -3
#define ND_DONE       -4
#define ND_DECLINED   -5
#define ND_ABORT      -6

#define ND_INT64_LEN   (sizeof("-9223372036854775808") - 1)

#define nd_min(a, b)   ((a) < (b) ? (a) : (b))
#define nd_max(a, b)   ((a) > (b) ? (a) : (b))
#define nd_nelts(a)    (sizeof(a) / sizeof((a)[0]))

#define nd_errno       errno

#endif /* ND_CONFIG_H */
