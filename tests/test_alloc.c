/* test_alloc.c - fail every allocation in turn during model load, model
 * save, denoise and noise estimation: each call returns an error (never
 * crashes), frees everything it allocated, and leaves the output alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    int transforms;
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
    p.transforms = d->transforms;
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

typedef struct train_ctx {
    crsae_model *model;
    void *before; /* the model's bytes before training */
    size_t before_size;
    float *img;
    int w, h, self_supervised;
    crsae_train_state *state;
} train_ctx;

static crsae_status op_train(void *c)
{
    train_ctx *t = c;
    crsae_train_params p;
    crsae_train_params_init(&p);
    p.sigma = 0.1f;
    p.patch = 16;
    p.batch = 2;
    p.steps = 2;
    p.threads = 2;
    p.learn_bias = CRSAE_BIAS_EM;
    p.ensemble = 1;
    crsae_train_state_free(t->state);
    t->state = NULL;
    crsae_status st = crsae_train_state_new(&t->state);
    if (st != CRSAE_OK)
        return st;
    p.state = t->state;
    const float *imgs[1] = {t->img};
    st = t->self_supervised
             ? crsae_train_noisy_image(t->model, &p, t->img, (size_t)t->w, t->w, t->h, 1, NULL)
             : crsae_train(t->model, &p, imgs, &t->w, &t->h, 1);
    if (st != CRSAE_OK) {
        crsae_train_state_free(t->state); /* the caller counts what is left */
        t->state = NULL;
    }
    return st;
}

static void untouched_model(void *c)
{
    train_ctx *t = c;
    crsae_train_state_free(t->state);
    t->state = NULL;
    void *now;
    size_t n;
    assert_int_equal(crsae_model_save_memory(t->model, &now, &n), CRSAE_OK);
    assert_int_equal(n, t->before_size);
    assert_memory_equal(now, t->before, n);
    crsae_free(now);
}

static void cleanup_train(void *c)
{
    train_ctx *t = c;
    crsae_train_state_free(t->state);
    t->state = NULL;
}

typedef struct ckpt_ctx {
    crsae_model *model, *loaded;
    crsae_train_state *state, *loaded_state;
    const char *path;
    int load;
} ckpt_ctx;

static crsae_status op_checkpoint(void *c)
{
    ckpt_ctx *k = c;
    return k->load ? crsae_checkpoint_load_file(k->path, &k->loaded, &k->loaded_state)
                   : crsae_checkpoint_save_file(k->model, k->state, k->path);
}

static void cleanup_checkpoint(void *c)
{
    ckpt_ctx *k = c;
    crsae_model_free(k->loaded);
    crsae_train_state_free(k->loaded_state);
    k->loaded = NULL;
    k->loaded_state = NULL;
}

/* Training (supervised and from one noisy image, untied through the shift
 * ensemble, EM thresholds) and checkpoints: every allocation fails in turn;
 * a failed run leaves the model as it was. */
static void test_training_allocations_fail_cleanly(void **state)
{
    (void)state;
    crsae_set_allocator(failing_malloc, counting_free, NULL);
    train_ctx t = {0};
    assert_int_equal(crsae_model_new(&t.model, 4, 5, 2, 1), CRSAE_OK);
    assert_int_equal(crsae_model_randomize(t.model, 0.1f, 1), CRSAE_OK);
    assert_int_equal(crsae_model_save_memory(t.model, &t.before, &t.before_size), CRSAE_OK);
    t.w = 40;
    t.h = 36;
    t.img = tu_synthetic_image(t.w, t.h, 5);
    for (t.self_supervised = 0; t.self_supervised <= 1; t.self_supervised++) {
        long n = fail_each(op_train, &t, cleanup_train, untouched_model);
        print_message("train (%s): %ld allocations, each failed in turn\n",
                      t.self_supervised ? "one noisy image" : "clean images", n);
        assert_true(n >= 10);
        crsae_model_free(t.model);
        assert_int_equal(crsae_model_load_memory(&t.model, t.before, t.before_size), CRSAE_OK);
    }
    /* a checkpoint of a finished run, written and read with failures */
    assert_int_equal(op_train(&t), CRSAE_OK);
    char path[] = "/tmp/crsae-alloc-ckpt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ckpt_ctx k = {t.model, NULL, t.state, NULL, path, 0};
    long n = fail_each(op_checkpoint, &k, cleanup_checkpoint, NULL);
    k.load = 1;
    n += fail_each(op_checkpoint, &k, cleanup_checkpoint, NULL);
    print_message("checkpoint save + load: %ld allocations\n", n);
    unlink(path);
    cleanup_train(&t);
    crsae_free(t.before);
    free(t.img);
    crsae_model_free(t.model);
    crsae_set_allocator(NULL, NULL, NULL);
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
        denoise_ctx d = {m, NULL, NULL, 40, 30, ch, 2, 1};
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
        if (ch == 1) { /* the 8 transforms on a smaller piece: 8 runs per try */
            d.transforms = 8;
            d.w = 20;
            d.h = 14;
            for (int i = 0; i < 20 * 14; i++)
                d.out[i] = -1.0f;
            n = fail_each(op_denoise, &d, nothing, untouched_denoise);
            print_message("denoise grey, 8 transforms: %ld allocations\n", n);
            d.transforms = 1;
            d.w = 40;
            d.h = 30;
        }
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
        cmocka_unit_test(test_training_allocations_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
