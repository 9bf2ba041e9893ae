/* json.c - recursive-descent JSON parser with a depth limit. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p;
    char *err;
    size_t err_size;
    int failed;
} parser;

#define MAX_DEPTH 64

static void fail(parser *ps, const char *what)
{
    if (!ps->failed && ps->err && ps->err_size)
        snprintf(ps->err, ps->err_size, "JSON: %s", what);
    ps->failed = 1;
}

static void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static void free_inner(json_value *v)
{
    for (size_t i = 0; i < v->count; i++)
        free_inner(&v->items[i]);
    free(v->items);
    free(v->string);
    free(v->key);
}

void json_free(json_value *v)
{
    if (v) {
        free_inner(v);
        free(v);
    }
}

static char *parse_string(parser *ps)
{
    if (*ps->p != '"') {
        fail(ps, "expected a string");
        return NULL;
    }
    ps->p++;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    while (s && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c == 0 || c < 0x20) {
            fail(ps, "unterminated string");
            free(s);
            return NULL;
        }
        if (c == '\\') {
            ps->p++;
            char e = *ps->p;
            const char *map = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *k = e ? strchr(map, e) : NULL;
            if (k) {
                c = (unsigned char)to[k - map];
            } else if (e == 'u') {
                /* keep \uXXXX escapes for ASCII only; others become '?' */
                unsigned v = 0;
                for (int i = 1; i <= 4; i++) {
                    char h = ps->p[i];
                    int d = (h >= '0' && h <= '9') ? h - '0'
                            : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                            : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
                    if (d < 0) {
                        fail(ps, "bad \\u escape");
                        free(s);
                        return NULL;
                    }
                    v = v * 16 + (unsigned)d;
                }
                ps->p += 4;
                c = (v > 0 && v < 0x80) ? (unsigned char)v : '?';
            } else {
                fail(ps, "bad escape");
                free(s);
                return NULL;
            }
        }
        if (n + 2 > cap) {
            cap *= 2;
            char *t = realloc(s, cap);
            if (!t) {
                free(s);
                s = NULL;
                break;
            }
            s = t;
        }
        s[n++] = (char)c;
        ps->p++;
    }
    if (!s) {
        fail(ps, "out of memory");
        return NULL;
    }
    ps->p++;
    s[n] = 0;
    return s;
}

static int parse_value(parser *ps, json_value *v, int depth);

static int parse_container(parser *ps, json_value *v, int depth, int object)
{
    char close = object ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    size_t cap = 0;
    if (*ps->p == close) {
        ps->p++;
        return 1;
    }
    for (;;) {
        if (v->count == cap) {
            cap = cap ? cap * 2 : 8;
            json_value *t = realloc(v->items, cap * sizeof *t);
            if (!t) {
                fail(ps, "out of memory");
                return 0;
            }
            v->items = t;
        }
        json_value *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        v->count++;
        skip_ws(ps);
        if (object) {
            item->key = parse_string(ps);
            if (!item->key)
                return 0;
            skip_ws(ps);
            if (*ps->p != ':') {
                fail(ps, "expected ':'");
                return 0;
            }
            ps->p++;
        }
        if (!parse_value(ps, item, depth + 1))
            return 0;
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            return 1;
        }
        fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        return 0;
    }
}

static int parse_value(parser *ps, json_value *v, int depth)
{
    if (depth > MAX_DEPTH) {
        fail(ps, "nested too deeply");
        return 0;
    }
    skip_ws(ps);
    char c = *ps->p;
    if (c == '{') {
        v->type = JSON_OBJECT;
        return parse_container(ps, v, depth, 1);
    }
    if (c == '[') {
        v->type = JSON_ARRAY;
        return parse_container(ps, v, depth, 0);
    }
    if (c == '"') {
        v->type = JSON_STRING;
        v->string = parse_string(ps);
        return v->string != NULL;
    }
    static const struct {
        const char *word;
        json_type type;
        double value;
    } words[] = {{"true", JSON_BOOL, 1}, {"false", JSON_BOOL, 0}, {"null", JSON_NULL, 0}};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i].word);
        if (strncmp(ps->p, words[i].word, n) == 0) {
            v->type = words[i].type;
            v->number = words[i].value;
            ps->p += n;
            return 1;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char *end;
        errno = 0;
        double d = strtod(ps->p, &end);
        if (end == ps->p || errno || !isfinite(d)) {
            fail(ps, "bad number");
            return 0;
        }
        v->type = JSON_NUMBER;
        v->number = d;
        ps->p = end;
        return 1;
    }
    fail(ps, "unexpected character");
    return 0;
}

json_value *json_parse(const char *text, char *err, size_t err_size)
{
    parser ps = {text, err, err_size, 0};
    json_value *v = calloc(1, sizeof *v);
    if (!v) {
        fail(&ps, "out of memory");
        return NULL;
    }
    if (parse_value(&ps, v, 0)) {
        skip_ws(&ps);
        if (*ps.p == 0)
            return v;
        fail(&ps, "trailing characters");
    }
    json_free(v);
    return NULL;
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (obj->items[i].key && strcmp(obj->items[i].key, key) == 0)
            return &obj->items[i];
    return NULL;
}
