/* model_io.c - reading and writing .crsae model files, format v1
 * (models/FORMAT.md).  Every field is validated, and every size computed
 * with overflow checks, before anything sized by the file is allocated. */
#include "base/alloc.h"
#include "base/bytes.h"
#include "base/file.h"
#include "model/model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char MAGIC[8] = {'C', 'R', 'S', 'A', 'E', '\r', '\n', 0x1a};
#define VERSION 1u
#define HEADER_SIZE 52u /* magic .. provenance length, inclusive */
#define FLAG_UNTIED 1u
#define MAX_FILE (64u * 1024u * 1024u)


/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF, no NUL. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        int len;
        unsigned min;
        if ((c & 0xE0) == 0xC0)
            len = 2, min = 0x80, c &= 0x1F;
        else if ((c & 0xF0) == 0xE0)
            len = 3, min = 0x800, c &= 0x0F;
        else if ((c & 0xF8) == 0xF0)
            len = 4, min = 0x10000, c &= 0x07;
        else
            return false;
        if (n - i < (size_t)len)
            return false;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += (size_t)len;
    }
    return true;
}

/* Total file size for these dimensions; false on overflow. */
static bool file_size(uint32_t C, uint32_t K, bool untied, uint32_t text, size_t *total)
{
    size_t bank, banks, arrays;
    if (!crsae__mul3(C, K, K, &bank) || !crsae__mul(bank, untied ? 3 : 1, &banks))
        return false;
    if (banks > SIZE_MAX - C)
        return false;
    if (!crsae__mul(banks + C, sizeof(float), &arrays))
        return false;
    size_t fixed = (size_t)HEADER_SIZE + 4u; /* + CRC */
    if (arrays > SIZE_MAX - fixed - text)
        return false;
    *total = fixed + text + arrays;
    return true;
}

static bool finite_all(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(crsae__get_f32(p + 4 * i)))
            return false;
    return true;
}

crsae_status crsae_model_load_memory(crsae_model **out, const void *data, size_t size)
{
    if (!out || (!data && size))
        return CRSAE_ERR_INVALID_ARGUMENT;
    *out = NULL;
    const unsigned char *p = data;
    /* 1. structure: magic, version, header, dimensions, size */
    if (size == 0)
        return CRSAE_ERR_MODEL_TRUNCATED;
    if (size < sizeof MAGIC)
        return memcmp(p, MAGIC, size) == 0 ? CRSAE_ERR_MODEL_TRUNCATED : CRSAE_ERR_MODEL_MAGIC;
    if (memcmp(p, MAGIC, sizeof MAGIC) != 0)
        return CRSAE_ERR_MODEL_MAGIC;
    if (size < 12)
        return CRSAE_ERR_MODEL_TRUNCATED;
    if (crsae__get_u32(p + 8) != VERSION)
        return CRSAE_ERR_MODEL_VERSION;
    if (size < HEADER_SIZE)
        return CRSAE_ERR_MODEL_TRUNCATED;
    uint32_t hsize = crsae__get_u32(p + 12), flags = crsae__get_u32(p + 16);
    if (hsize != HEADER_SIZE || (flags & ~FLAG_UNTIED) != 0)
        return CRSAE_ERR_MODEL_FLAGS;
    uint32_t C = crsae__get_u32(p + 20), K = crsae__get_u32(p + 24), s = crsae__get_u32(p + 28), T = crsae__get_u32(p + 32);
    bool untied = (flags & FLAG_UNTIED) != 0;
    if (C < 1 || C > CRSAE_MAX_FILTERS || K < 1 || K > CRSAE_MAX_SIZE || s < 1 || s > K ||
        T < 1 || T > CRSAE_MAX_ITERATIONS)
        return CRSAE_ERR_MODEL_DIMENSIONS;
    uint32_t text = crsae__get_u32(p + 48);
    if (text > CRSAE_MAX_PROVENANCE)
        return CRSAE_ERR_MODEL_TEXT;
    size_t total;
    if (!file_size(C, K, untied, text, &total))
        return CRSAE_ERR_MODEL_DIMENSIONS;
    if (size < total)
        return CRSAE_ERR_MODEL_TRUNCATED;
    if (size > total)
        return CRSAE_ERR_MODEL_TRAILING;
    /* 2. integrity (fuzzing builds skip it so mutations reach the checks
     * below; libspng and others do the same) */
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (crsae__crc32(0, p, total - 4) != crsae__get_u32(p + total - 4))
        return CRSAE_ERR_MODEL_CHECKSUM;
#endif
    /* 3. values */
    float L = crsae__get_f32(p + 36), sigma = crsae__get_f32(p + 40), expo = crsae__get_f32(p + 44);
    if (!isfinite(L) || !(L > 0.0f) || !isfinite(sigma) || !(sigma > 0.0f) || !isfinite(expo) ||
        expo < 0.0f || expo > 4.0f)
        return CRSAE_ERR_MODEL_VALUE;
    const unsigned char *tp = p + HEADER_SIZE;
    if (!valid_utf8(tp, text))
        return CRSAE_ERR_MODEL_TEXT;
    const unsigned char *lp = tp + text;
    const unsigned char *bp = lp + 4 * (size_t)C;
    size_t bank = (size_t)C * K * K, nb = untied ? 3 : 1;
    for (uint32_t c = 0; c < C; c++) {
        float l = crsae__get_f32(lp + 4 * (size_t)c);
        if (!isfinite(l) || l < 0.0f)
            return CRSAE_ERR_MODEL_VALUE;
    }
    if (!finite_all(bp, bank * nb))
        return CRSAE_ERR_MODEL_VALUE;
    /* 4. build */
    crsae_model *m;
    crsae_status st = crsae_model_new(&m, (int)C, (int)K, (int)s, untied);
    if (st != CRSAE_OK)
        return st;
    char *prov = crsae__malloc((size_t)text + 1);
    if (!prov) {
        crsae_model_free(m);
        return CRSAE_ERR_NOMEM;
    }
    memcpy(prov, tp, text);
    prov[text] = '\0';
    crsae__free(m->provenance);
    m->provenance = prov;
    m->iterations = (int)T;
    m->lipschitz = L;
    m->sigma_train = sigma;
    m->bias_exponent = expo;
    for (uint32_t c = 0; c < C; c++)
        m->lambda[c] = crsae__get_f32(lp + 4 * (size_t)c);
    for (size_t i = 0; i < bank * nb; i++)
        m->dec[i] = crsae__get_f32(bp + 4 * i); /* dec, enc, out are one block */
    *out = m;
    return CRSAE_OK;
}

crsae_status crsae_model_save_memory(const crsae_model *m, void **data, size_t *size)
{
    if (!m || !data || !size)
        return CRSAE_ERR_INVALID_ARGUMENT;
    *data = NULL;
    *size = 0;
    size_t text = strlen(m->provenance), total;
    if (text > CRSAE_MAX_PROVENANCE)
        return CRSAE_ERR_MODEL_TEXT;
    if (!file_size((uint32_t)m->filters, (uint32_t)m->size, m->untied, (uint32_t)text, &total))
        return CRSAE_ERR_TOO_LARGE;
    unsigned char *p = crsae__malloc(total);
    if (!p)
        return CRSAE_ERR_NOMEM;
    memcpy(p, MAGIC, sizeof MAGIC);
    crsae__put_u32(p + 8, VERSION);
    crsae__put_u32(p + 12, HEADER_SIZE);
    crsae__put_u32(p + 16, m->untied ? FLAG_UNTIED : 0u);
    crsae__put_u32(p + 20, (uint32_t)m->filters);
    crsae__put_u32(p + 24, (uint32_t)m->size);
    crsae__put_u32(p + 28, (uint32_t)m->stride);
    crsae__put_u32(p + 32, (uint32_t)m->iterations);
    crsae__put_f32(p + 36, m->lipschitz);
    crsae__put_f32(p + 40, m->sigma_train);
    crsae__put_f32(p + 44, m->bias_exponent);
    crsae__put_u32(p + 48, (uint32_t)text);
    memcpy(p + HEADER_SIZE, m->provenance, text);
    unsigned char *q = p + HEADER_SIZE + text;
    for (int c = 0; c < m->filters; c++, q += 4)
        crsae__put_f32(q, m->lambda[c]);
    size_t nf = (size_t)m->filters * m->size * m->size * (m->untied ? 3 : 1);
    for (size_t i = 0; i < nf; i++, q += 4)
        crsae__put_f32(q, m->dec[i]);
    crsae__put_u32(q, crsae__crc32(0, p, total - 4));
    *data = p;
    *size = total;
    return CRSAE_OK;
}

crsae_status crsae_model_load_file(crsae_model **out, const char *path)
{
    if (!out || !path)
        return CRSAE_ERR_INVALID_ARGUMENT;
    *out = NULL;
    unsigned char *buf;
    size_t n;
    crsae_status st = crsae__read_file(path, MAX_FILE, &buf, &n);
    if (st != CRSAE_OK)
        return st;
    st = crsae_model_load_memory(out, buf, n);
    crsae__free(buf);
    return st;
}

crsae_status crsae_model_save_file(const crsae_model *m, const char *path)
{
    if (!m || !path || !*path)
        return CRSAE_ERR_INVALID_ARGUMENT;
    void *data;
    size_t size;
    crsae_status st = crsae_model_save_memory(m, &data, &size);
    if (st != CRSAE_OK)
        return st;
    st = crsae__write_atomic(path, data, size);
    crsae__free(data);
    return st;
}

