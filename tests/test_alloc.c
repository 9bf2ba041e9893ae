/* test_alloc.c - fail every allocation in turn during model load, model
 * save, denoise and noise estimation: each call returns an error (never
 * crashes), frees everything it allocated, and leaves the output alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crsae.h"
#include "testutil.h"

static long countdown = -1; /* allocations left before failing; -1 = never */
static long live = 0;       /* blocks allocated and not yet freed */

static void *failing_malloc(size_t size, void *user)
{
    (void)user;
    if (countdown == 0)
        return NULL;
    if (countdown > 0)
        countdown--;
    void *p = malloc(size);
    if (p)
        live++;
    return p;
}

static void counting_free(void *p, void *user)
{
    (void)user;
    if (p) {
        live--;
        free(p);
    }
}

typedef crsae_status (*operation)(void *ctx);

/* Runs op with the n-th allocation failing, for n = 0, 1, ... until it
 * succeeds; every failure must be a clean error.  Returns the number of
 * allocations the operation makes. */
static long fail_each(operation op, void *ctx, void (*cleanup)(void *), void (*check_untouched)(void *))
{
    for (long n = 0;; n++) {
        countdown = n;
        live = 0;
        crsae_status st = op(ctx);
        countdown = -1;
        if (st == CRSAE_OK) {
            cleanup(ctx);
            assert_int_equal(live, 0);
            return n;
        }
        assert_int_equal(st, CRSAE_ERR_NOMEM);
        assert_int_equal(live, 0); /* nothing leaked */
        if (check_untouched)
            check_untouched(ctx);
        assert_true(n < 100000);
    }
}

typedef struct load_ctx {
    void *data;
    size_t size;
    crsae_model *model;
} load_ctx;

static crsae_status op_load(void *c)
{
    load_ctx *l = c;
    return crsae_model_load_memory(&l->model, l->data, l->size);
}

static void cleanup_load(void *c)
{
    load_ctx *l = c;
    crsae_model_free(l->model);
    l->model = NULL;
}

static crsae_status op_default(void *c)
{
    load_ctx *l = c;
    return crsae_model_default(&l->model);
}

typedef struct save_ctx {
    const crsae_model *model;
    void *data;
    size_t size;
} save_ctx;

static crsae_status op_save(void *c)
{
    save_ctx *s = c;
    return crsae_model_save_memory(s->model, &s->data, &s->size);
}

static void cleanup_save(void *c)
{
    save_ctx *s = c;
    crsae_free(s->data);
}

typedef struct denoise_ctx {
    const crsae_model *model;
    float *in, *out;
    int w, h, ch;
    int threads;
} denoise_ctx;

static crsae_status op_denoise(void *c)
{
    denoise_ctx *d = c;
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    p.sigma = 0.1f;
    p.iterations = 2;
    p.threads = d->threads;
    p.tile_size = 24;
    return crsae_denoise_image(d->model, &p, d->in, (size_t)d->w * d->ch, d->out,
                               (size_t)d->w * d->ch, d->w, d->h, d->ch);
}

static void untouched_denoise(void *c)
{
    denoise_ctx *d = c;
    for (int i = 0; i < d->w * d->h * d->ch; i++)
        assert_true(d->out[i] == -1.0f);
}

static void nothing(void *c)
{
    (void)c;
}

static crsae_status op_estimate(void *c)
{
    denoise_ctx *d = c;
    float s;
    return crsae_estimate_sigma(d->in, (size_t)d->w * d->ch, d->w, d->h, d->ch, &s);
}

static void test_every_allocation_fails_cleanly(void **state)
{
    (void)state;
    crsae_set_allocator(failing_malloc, counting_free, NULL);

    load_ctx l = {0};
    long n = fail_each(op_default, &l, cleanup_load, NULL);
    print_message("default model load: %ld allocations, each failed in turn\n", n);
    assert_true(n >= 3);

    crsae_model *m;
    assert_int_equal(crsae_model_default(&m), CRSAE_OK);
    save_ctx s = {m, NULL, 0};
    n = fail_each(op_save, &s, cleanup_save, NULL);
    assert_true(n >= 1);
    assert_int_equal(crsae_model_save_memory(m, &s.data, &s.size), CRSAE_OK);
    l.data = s.data;
    l.size = s.size;
    n = fail_each(op_load, &l, cleanup_load, NULL);
    crsae_free(s.data);

    for (int ch = 1; ch <= 4; ch += 3) {
        denoise_ctx d = {m, NULL, NULL, 40, 30, ch, 2};
        d.in = malloc(sizeof(float) * 40 * 30 * ch);
        d.out = malloc(sizeof(float) * 40 * 30 * ch);
        float *g = tu_synthetic_image(40, 30, 3);
        for (int i = 0; i < 40 * 30 * ch; i++) {
            d.in[i] = g[i / ch];
            d.out[i] = -1.0f;
        }
        free(g);
        n = fail_each(op_denoise, &d, nothing, untouched_denoise);
        print_message("denoise %d channel(s): %ld allocations, each failed in turn\n", ch, n);
        assert_true(n >= 5);
        n = fail_each(op_estimate, &d, nothing, NULL);
        free(d.in);
        free(d.out);
    }
    crsae_model_free(m);
    crsae_set_allocator(NULL, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
