/* json.h - a small strict JSON reader (objects, arrays, strings, numbers,
 * true/false/null), enough for checkpoint descriptions. */
#ifndef CRSAE_JSON_H
#define CRSAE_JSON_H

#include <stddef.h>

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value {
    json_type type;
    double number;              /* JSON_NUMBER, JSON_BOOL (0/1) */
    char *string;               /* JSON_STRING; key of an object member */
    char *key;                  /* set when the value is an object member */
    struct json_value *items;   /* JSON_ARRAY / JSON_OBJECT children */
    size_t count;
} json_value;

/* Parses text (NUL-terminated); NULL on error with a message in err. */
json_value *json_parse(const char *text, char *err, size_t err_size);
void json_free(json_value *v);

/* Member of an object, or NULL. */
const json_value *json_get(const json_value *obj, const char *key);

#endif
