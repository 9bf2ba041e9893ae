/* test_model_io.c - model files: round trips, every truncation, every
 * corrupted field with its own error, atomic writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crsae.h"

#include "testutil.h"

static crsae_model *random_model(int untied, uint64_t seed)
{
    crsae_model *m;
    assert_int_equal(crsae_model_new(&m, 5, 3, 2, untied), CRSAE_OK);
    float w[45], lam[5];
    for (int b = 0; b < (untied ? 3 : 1); b++) {
        for (int i = 0; i < 45; i++)
            w[i] = tu_uniform(&seed, -1, 1);
        assert_int_equal(crsae_model_set_bank(m, (crsae_bank)b, w), CRSAE_OK);
    }
    for (int i = 0; i < 5; i++)
        lam[i] = tu_uniform(&seed, 0, 3);
    assert_int_equal(crsae_model_set_lambda(m, lam), CRSAE_OK);
    assert_int_equal(crsae_model_set_params(m, 17, 3.5f, 0.07f, 1.5f), CRSAE_OK);
    assert_int_equal(crsae_model_set_provenance(m, "test model \xc3\xa9\xe2\x82\xac"), CRSAE_OK);
    return m;
}

static void assert_models_equal(const crsae_model *a, const crsae_model *b)
{
    crsae_model_info ia, ib;
    crsae_model_get_info(a, &ia);
    crsae_model_get_info(b, &ib);
    assert_int_equal(ia.filters, ib.filters);
    assert_int_equal(ia.size, ib.size);
    assert_int_equal(ia.stride, ib.stride);
    assert_int_equal(ia.iterations, ib.iterations);
    assert_int_equal(ia.untied, ib.untied);
    assert_true(ia.lipschitz == ib.lipschitz);
    assert_true(ia.sigma_train == ib.sigma_train);
    assert_true(ia.bias_exponent == ib.bias_exponent);
    assert_string_equal(ia.provenance, ib.provenance);
    float wa[45], wb[45], la[5], lb[5];
    for (int bank = 0; bank < 3; bank++) {
        crsae_model_get_bank(a, (crsae_bank)bank, wa);
        crsae_model_get_bank(b, (crsae_bank)bank, wb);
        assert_memory_equal(wa, wb, sizeof wa);
    }
    crsae_model_get_lambda(a, la);
    crsae_model_get_lambda(b, lb);
    assert_memory_equal(la, lb, sizeof la);
}

static void test_round_trip(void **state)
{
    (void)state;
    char path[] = "/tmp/crsae-test-model-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (int untied = 0; untied <= 1; untied++) {
        crsae_model *m = random_model(untied, 3 + (uint64_t)untied), *r;
        void *data;
        size_t size;
        assert_int_equal(crsae_model_save_memory(m, &data, &size), CRSAE_OK);
        assert_int_equal(crsae_model_load_memory(&r, data, size), CRSAE_OK);
        assert_models_equal(m, r);
        crsae_model_free(r);
        crsae_free(data);
        assert_int_equal(crsae_model_save_file(m, path), CRSAE_OK);
        assert_int_equal(crsae_model_load_file(&r, path), CRSAE_OK);
        assert_models_equal(m, r);
        crsae_model_free(r);
        crsae_model_free(m);
    }
    unlink(path);
}

/* Recompute the trailing CRC after editing a byte (for value errors). */
static uint32_t crc32_ref(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void fix_crc(unsigned char *p, size_t size)
{
    uint32_t c = crc32_ref(p, size - 4);
    for (int i = 0; i < 4; i++)
        p[size - 4 + i] = (unsigned char)(c >> (8 * i));
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void putf(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put32(p, u);
}

static void test_truncation(void **state)
{
    (void)state;
    crsae_model *m = random_model(1, 9), *r = NULL;
    void *data;
    size_t size;
    assert_int_equal(crsae_model_save_memory(m, &data, &size), CRSAE_OK);
    for (size_t n = 0; n < size; n++) {
        r = (crsae_model *)1;
        crsae_status st = crsae_model_load_memory(&r, data, n);
        assert_int_equal(st, CRSAE_ERR_MODEL_TRUNCATED);
        assert_null(r);
    }
    crsae_free(data);
    crsae_model_free(m);
}

typedef struct corruption {
    const char *what;
    size_t offset; /* SIZE_MAX: see code */
    int kind;      /* 0 u32, 1 f32, 2 byte xor */
    double value;
    int recrc;
    crsae_status expect;
} corruption;

static void test_each_corruption(void **state)
{
    (void)state;
    crsae_model *m = random_model(0, 1);
    void *data;
    size_t size;
    assert_int_equal(crsae_model_save_memory(m, &data, &size), CRSAE_OK);
    size_t text = strlen("test model \xc3\xa9\xe2\x82\xac");
    size_t lam = 52 + text, bank = lam + 5 * 4;
    const corruption cases[] = {
        {"magic", 0, 2, 0x20, 0, CRSAE_ERR_MODEL_MAGIC},
        {"line ending in magic", 5, 2, 0x0f, 0, CRSAE_ERR_MODEL_MAGIC},
        {"version", 8, 0, 2, 0, CRSAE_ERR_MODEL_VERSION},
        {"header size", 12, 0, 60, 0, CRSAE_ERR_MODEL_FLAGS},
        {"flags", 16, 0, 6, 0, CRSAE_ERR_MODEL_FLAGS},
        {"filters 0", 20, 0, 0, 0, CRSAE_ERR_MODEL_DIMENSIONS},
        {"filters huge", 20, 0, 0xFFFFFFFFu, 0, CRSAE_ERR_MODEL_DIMENSIONS},
        {"size 0", 24, 0, 0, 0, CRSAE_ERR_MODEL_DIMENSIONS},
        {"size 32", 24, 0, 32, 0, CRSAE_ERR_MODEL_DIMENSIONS},
        {"stride > size", 28, 0, 4, 0, CRSAE_ERR_MODEL_DIMENSIONS},
        {"iterations 0", 32, 0, 0, 0, CRSAE_ERR_MODEL_DIMENSIONS},
        {"untied flag: size mismatch", 16, 0, 1, 0, CRSAE_ERR_MODEL_TRUNCATED},
        {"provenance length huge", 48, 0, 0x7FFFFFFFu, 0, CRSAE_ERR_MODEL_TEXT},
        {"provenance length longer", 48, 0, (double)text + 4, 0, CRSAE_ERR_MODEL_TRUNCATED},
        {"flipped weight byte", bank + 7, 2, 0x01, 0, CRSAE_ERR_MODEL_CHECKSUM},
        {"flipped crc", SIZE_MAX, 2, 0x80, 0, CRSAE_ERR_MODEL_CHECKSUM},
        {"L NaN", 36, 1, NAN, 1, CRSAE_ERR_MODEL_VALUE},
        {"L negative", 36, 1, -1, 1, CRSAE_ERR_MODEL_VALUE},
        {"sigma infinite", 40, 1, INFINITY, 1, CRSAE_ERR_MODEL_VALUE},
        {"bias exponent 9", 44, 1, 9, 1, CRSAE_ERR_MODEL_VALUE},
        {"lambda negative", lam + 4, 1, -1, 1, CRSAE_ERR_MODEL_VALUE},
        {"weight NaN", bank + 8, 1, NAN, 1, CRSAE_ERR_MODEL_VALUE},
        {"invalid UTF-8", 52 + 11, 2, 0x40, 1, CRSAE_ERR_MODEL_TEXT},
        {"NUL in text", 52 + 2, 2, 's', 1, CRSAE_ERR_MODEL_TEXT},
    };
    unsigned char *buf = malloc(size + 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const corruption *c = &cases[i];
        memcpy(buf, data, size);
        size_t off = c->offset == SIZE_MAX ? size - 1 : c->offset;
        if (c->kind == 0)
            put32(buf + off, (uint32_t)c->value);
        else if (c->kind == 1)
            putf(buf + off, (float)c->value);
        else
            buf[off] ^= (unsigned char)c->value;
        if (c->recrc)
            fix_crc(buf, size);
        crsae_model *r = (crsae_model *)1;
        crsae_status st = crsae_model_load_memory(&r, buf, size);
        if (st != c->expect)
            print_message("case '%s': got %d (%s)\n", c->what, st, crsae_strerror(st));
        assert_int_equal(st, c->expect);
        assert_null(r);
    }
    memcpy(buf, data, size);
    buf[size] = 0;
    crsae_model *r;
    assert_int_equal(crsae_model_load_memory(&r, buf, size + 1), CRSAE_ERR_MODEL_TRAILING);
    free(buf);
    crsae_free(data);
    crsae_model_free(m);
}

static void test_files(void **state)
{
    (void)state;
    crsae_model *m = random_model(0, 2), *r;
    assert_int_equal(crsae_model_load_file(&r, "/nonexistent/model.crsae"), CRSAE_ERR_OPEN);
    assert_int_equal(crsae_model_save_file(m, "/nonexistent-dir/x.crsae"), CRSAE_ERR_OPEN);
    assert_int_equal(access("/nonexistent-dir/x.crsae", F_OK), -1);
    /* a directory is not a model */
    assert_int_equal(crsae_model_load_file(&r, "/tmp"), CRSAE_ERR_READ);

    /* saving over an existing file replaces it whole, and leaves no temp */
    char dir[] = "/tmp/crsae-test-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/m.crsae", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 100000; i++)
        fputc('x', f);
    fclose(f);
    assert_int_equal(crsae_model_save_file(m, path), CRSAE_OK);
    assert_int_equal(crsae_model_load_file(&r, path), CRSAE_OK);
    assert_models_equal(m, r);
    crsae_model_free(r);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    /* a read-only folder: error, the old file intact (root ignores modes) */
    if (geteuid() != 0) {
        chmod(dir, 0555);
        assert_int_equal(crsae_model_save_file(m, path), CRSAE_ERR_OPEN);
        chmod(dir, 0755);
    }
    unlink(path);
    rmdir(dir);
    crsae_model_free(m);
}

static void test_default_model_loads(void **state)
{
    (void)state;
    crsae_model *m;
    assert_int_equal(crsae_model_default(&m), CRSAE_OK);
    crsae_model_info in;
    crsae_model_get_info(m, &in);
    assert_int_equal(in.filters, 64);
    assert_int_equal(in.size, 7);
    assert_int_equal(in.stride, 5);
    /* crsae's own model, noise-level-aware from sigma 5 */
    assert_true(in.untied);
    assert_int_equal(in.iterations, 15);
    assert_true(fabsf(in.sigma_train * 255.0f - 5.0f) < 1e-3f);
    assert_true(strstr(in.provenance, "Trained by crsae") != NULL);
    assert_true(strstr(in.provenance, "noise-level-aware") != NULL);
    crsae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_each_corruption),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_default_model_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
