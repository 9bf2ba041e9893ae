/* test_train.c - the training loop: the loss falls over a short run, the
 * result does not depend on the thread count, cancel stops it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crsae.h"
#include "testutil.h"

typedef struct losses {
    double first, last;
    int n, steps, cancel_at;
} losses;

static int record(const crsae_train_report *r, void *user)
{
    losses *l = user;
    if (r->step <= 10)
        l->first += r->loss / 10;
    if (r->step > r->steps - 10)
        l->last += r->loss / 10;
    l->n++;
    return l->cancel_at && r->step >= l->cancel_at;
}

static crsae_model *train(int threads, int steps, losses *l, crsae_status *st)
{
    float *imgs[3];
    int w[3] = {96, 80, 120}, h[3] = {96, 100, 72};
    for (int i = 0; i < 3; i++)
        imgs[i] = tu_synthetic_image(w[i], h[i], 10 + (uint64_t)i);
    crsae_model *m;
    assert_int_equal(crsae_model_new(&m, 8, 5, 2, 0), CRSAE_OK);
    assert_int_equal(crsae_model_set_params(m, 5, 1.0f, 0.1f, 1.0f), CRSAE_OK);
    assert_int_equal(crsae_model_randomize(m, 0.1f, 3), CRSAE_OK);
    crsae_train_params p;
    crsae_train_params_init(&p);
    p.sigma = 0.1f;
    p.patch = 24;
    p.batch = 4;
    p.steps = steps;
    p.learning_rate = 3e-3f;
    p.threads = threads;
    p.seed = 5;
    p.progress = record;
    p.progress_user = l;
    *st = crsae_train(m, &p, (const float *const *)imgs, w, h, 3);
    for (int i = 0; i < 3; i++)
        free(imgs[i]);
    return m;
}

static void test_loss_falls_and_threads_agree(void **state)
{
    (void)state;
    losses l1 = {0}, l3 = {0};
    crsae_status st;
    crsae_model *a = train(1, 80, &l1, &st);
    assert_int_equal(st, CRSAE_OK);
    assert_int_equal(l1.n, 80);
    print_message("mean batch MSE: first 10 steps %.5f, last 10 steps %.5f\n", l1.first, l1.last);
    assert_true(l1.last < 0.8 * l1.first);
    crsae_model *b = train(3, 80, &l3, &st);
    assert_int_equal(st, CRSAE_OK);
    void *da, *db;
    size_t na, nb;
    assert_int_equal(crsae_model_save_memory(a, &da, &na), CRSAE_OK);
    assert_int_equal(crsae_model_save_memory(b, &db, &nb), CRSAE_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, na);
    crsae_free(da);
    crsae_free(db);
    crsae_model_free(a);
    crsae_model_free(b);
}

static void test_cancel(void **state)
{
    (void)state;
    losses l = {0};
    l.cancel_at = 3;
    crsae_status st;
    crsae_model *m = train(2, 50, &l, &st);
    assert_int_equal(st, CRSAE_ERR_CANCELLED);
    assert_int_equal(l.n, 3);
    crsae_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_falls_and_threads_agree),
        cmocka_unit_test(test_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
