/* base/alloc.h - allocation through the replaceable allocator, one-block
 * carving and overflow-checked size products. */
#ifndef CRSAE_BASE_ALLOC_H
#define CRSAE_BASE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation through the replaceable allocator (alloc.c). */
void *crsae__malloc(size_t size);
void *crsae__calloc(size_t count, size_t size);
void crsae__free(void *ptr);
/* 64-byte aligned allocation for kernels; free with crsae__free_aligned. */
void *crsae__malloc_aligned(size_t size);
void crsae__free_aligned(void *ptr);
/* Ask for huge pages for a large block (a hint; nothing where unsupported). */
void crsae__advise_huge(void *ptr, size_t size);

/* Parts of one block, one after the other, each 64-byte aligned: with base
 * NULL the carver only counts (used: the bytes the block needs; ok turns 0
 * on overflow), then carves the same parts out of a block of that size. */
typedef struct crsae__carver {
    char *base;
    size_t used;
    int ok;
} crsae__carver;
/* n elements of size bytes; NULL when only counting or after an overflow. */
void *crsae__carve(crsae__carver *c, size_t n, size_t size);

/* *r = a * b; false on overflow of size_t. */
static inline bool crsae__mul(size_t a, size_t b, size_t *r)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *r = a * b;
    return true;
}
static inline bool crsae__mul3(size_t a, size_t b, size_t c, size_t *r)
{
    size_t t;
    return crsae__mul(a, b, &t) && crsae__mul(t, c, r);
}

#endif
