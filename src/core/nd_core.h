/*
 * Everything a module needs from the core and event layers.
 */
#ifndef ND_CORE_H
#define ND_CORE_H

#include <nd_config.h>
#include <nacosd.h>

typedef struct nd_cycle_s       nd_cycle_t;
typedef struct nd_conf_s        nd_conf_t;
typedef struct nd_command_s     nd_command_t;
typedef struct nd_module_s      nd_module_t;
typedef struct nd_connection_s  nd_connection_t;
typedef struct nd_listening_s   nd_listening_t;

#include <nd_string.h>
#include <nd_name.h>
#include <nd_palloc.h>
#include <nd_array.h>
#include <nd_queue.h>
#include <nd_rbtree.h>
#include <nd_hash.h>
#include <nd_buf.h>
#include <nd_time.h>
#include <nd_log.h>
#include <nd_json.h>
#include <nd_inet.h>
#include <nd_module.h>
#include <nd_conf_file.h>
#include <nd_cycle.h>
#include <nd_metrics.h>

#include <ev.h>
#include <nd_event.h>
#include <nd_connection.h>
#include <nd_event_bus.h>

#endif /* ND_CORE_H */
