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

/*
 * nd_json_fields: the members of a JSON object text without building a
 * tree, for a hot request path that reads a few known fields.  ND_OK:
 * text is a JSON object that nd_json_loadb takes, and f[] holds its
 * members and those of the objects in them (not of those in arrays), *nf
 * of them, at most n, each after the member whose object holds it (key
 * and value are views into text).  ND_DECLINED: anything else, valid or
 * not (a string with an escape, nesting deeper than ND_JSON_FIELDS_DEPTH,
 * more than ND_JSON_FIELDS_MAX members in an object, an integer beyond
 * 18 digits, a real with an exponent or beyond 64 bytes): the caller
 * falls back to nd_json_loadb, which decides.
 */
#define ND_JSON_FIELDS_MAX    32
#define ND_JSON_FIELDS_DEPTH  8

typedef enum {
    ND_JSON_F_STRING = 1,   /* value: the bytes between the quotes */
    ND_JSON_F_INTEGER,      /* value: the number's text */
    ND_JSON_F_REAL,
    ND_JSON_F_TRUE,
    ND_JSON_F_FALSE,
    ND_JSON_F_NULL,
    ND_JSON_F_OBJECT,       /* value: the object's text, braces included */
    ND_JSON_F_ARRAY
} nd_json_field_e;

typedef struct {
    nd_str_t          key;
    nd_str_t          value;
    nd_json_field_e   type;
    nd_uint_t         size;   /* members or elements of an object/array */
    nd_uint_t         parent; /* 0: of the text's object; i + 1: of f[i] */
} nd_json_field_t;

nd_int_t nd_json_fields(const u_char *text, size_t len, nd_json_field_t *f,
    nd_uint_t n, nd_uint_t *nf);
/* the member key of the object of field obj (NULL: the text's), or NULL */
nd_json_field_t *nd_json_field(nd_json_field_t *f, nd_uint_t nf,
    const nd_json_field_t *obj, const char *key);
/* an ND_JSON_F_INTEGER or _REAL field's value */
int64_t nd_json_field_int(const nd_json_field_t *f);
double nd_json_field_real(const nd_json_field_t *f);

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
