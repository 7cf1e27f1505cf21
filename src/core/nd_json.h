/*
 * JSON glue on jansson: dump flags in one place, typed getters with
 * defaults for parsing requests.
 */
#ifndef ND_JSON_H
#define ND_JSON_H

#include <nd_config.h>
#include <jansson.h>

#define ND_JSON_DUMP_FLAGS  (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* appends the compact serialization to b; ND_OK / ND_ERROR */
int nd_json_dump_buf(json_t *json, nd_buf_t *b);
/* appends s as a JSON string literal, quotes included */
nd_int_t nd_json_str(nd_buf_t *b, const char *s, size_t len);

/* a JSON object or array text to a tree as json_loadb() with
 * JSON_REJECT_DUPLICATES takes it (the same refusals), faster; NULL if
 * invalid */
json_t *nd_json_loadb(const char *text, size_t len);

const char *nd_json_get_str(json_t *obj, const char *key, const char *dflt);
/* a number, or a string holding one as Jackson takes it: ND_OK (*out),
 * ND_DECLINED absent or null, ND_ERROR not a number (reals: not finite) */
nd_int_t nd_json_int(json_t *obj, const char *key, int64_t *out);
nd_int_t nd_json_real(json_t *obj, const char *key, double *out);
/* the same with a default for absent or bad values; booleans also from
 * "true" and "false" */
int64_t nd_json_get_int(json_t *obj, const char *key, int64_t dflt);
int nd_json_get_bool(json_t *obj, const char *key, int dflt);
double nd_json_get_real(json_t *obj, const char *key, double dflt);

#endif /* ND_JSON_H */
