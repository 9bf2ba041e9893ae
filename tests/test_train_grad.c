/* test_train_grad.c - the gradients of the unrolled encoder against central
 * finite differences of a double-precision reference forward pass, for
 * every parameter class (H, W_e, W_d, thresholds), tied and untied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crsae.h"
#include "testutil.h"
#include "train/train_grad.h"

enum { C = 3, K = 3, S = 2, NU = 4, NV = 5, KK = K * K };
#define HD ((NU - 1) * S + K)
#define WD ((NV - 1) * S + K)

typedef struct params {
    float H[C * KK], We[C * KK], Wd[C * KK], bias[C];
} params;

/* The reference: the same recursion in double with naive convolutions. */
static double ref_loss(const params *p, int T, float L, const float *y, const float *target,
                       int border)
{
    const int nc = C * NU * NV, ni = HD * WD;
    double x[C * NU * NV] = {0}, w[C * NU * NV] = {0}, g[C * NU * NV], r[HD * WD], yd[HD * WD];
    for (int i = 0; i < ni; i++)
        yd[i] = y[i];
    double t = 1.0;
    for (int k = 0; k < T; k++) {
        tu_ref_synthesis(C, K, S, NU, NV, p->H, w, r);
        for (int i = 0; i < ni; i++)
            r[i] = yd[i] - r[i];
        tu_ref_analysis(C, K, S, NU, NV, p->We, r, g);
        double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t)), m = (t - 1.0) / tn;
        t = tn;
        for (int i = 0; i < nc; i++) {
            double z = w[i] + g[i] / L, b = p->bias[i / (NU * NV)];
            double xn = fabs(z) > b ? copysign(fabs(z) - b, z) : 0.0;
            w[i] = xn + m * (xn - x[i]);
            x[i] = xn;
        }
    }
    tu_ref_synthesis(C, K, S, NU, NV, p->Wd, x, r);
    double loss = 0.0;
    for (int i = 0; i < ni; i++) {
        int row = i / WD, col = i % WD;
        if (row >= border && row < HD - border && col >= border && col < WD - border)
            loss += 0.5 * (r[i] - target[i]) * (r[i] - target[i]);
    }
    return loss;
}

static void check(int untied, int T, int border)
{
    uint64_t st = 77 + (uint64_t)T + 100 * (uint64_t)untied;
    params p;
    for (int i = 0; i < C * KK; i++) {
        p.H[i] = tu_uniform(&st, -0.5f, 0.5f);
        p.We[i] = untied ? tu_uniform(&st, -0.5f, 0.5f) : p.H[i];
        p.Wd[i] = untied ? tu_uniform(&st, -0.5f, 0.5f) : p.H[i];
    }
    for (int c = 0; c < C; c++)
        p.bias[c] = 0.02f + 0.01f * (float)c;
    const float L = 4.0f;
    float y[HD * WD], target[HD * WD];
    for (int i = 0; i < HD * WD; i++) {
        target[i] = tu_uniform(&st, 0, 1);
        y[i] = target[i] + tu_uniform(&st, -0.2f, 0.2f);
    }

    crsae__geom g;
    crsae__geom_init_train(&g, C, K, S, NU, NV);
    crsae__pack ph, pe, pd;
    assert_int_equal(crsae__pack_init(&ph, p.H, C, K), 0);
    assert_int_equal(crsae__pack_init(&pe, p.We, C, K), 0);
    assert_int_equal(crsae__pack_init(&pd, p.Wd, C, K), 0);
    crsae__encoder e = {&ph, &pe, &pd, p.bias, 1.0f / L, T, 0};
    float *yy = calloc((size_t)g.hd * g.ldi, sizeof(float));
    float *tt = calloc((size_t)g.hd * g.ldi, sizeof(float));
    for (int r = 0; r < HD; r++)
        for (int c = 0; c < WD; c++) {
            yy[(size_t)r * g.ldi + c] = y[r * WD + c];
            tt[(size_t)r * g.ldi + c] = target[r * WD + c];
        }
    float *block = malloc(crsae__tape_floats(&g, T) * sizeof(float));
    crsae__tape tape;
    crsae__tape_init(&tape, &g, T, block);
    float dH[C * KK] = {0}, dWe[C * KK] = {0}, dWd[C * KK] = {0}, db[C] = {0};
    crsae__grads gr = {dH, dWe, dWd, db};
    double loss = crsae__loss_grad(&g, &e, yy, tt, border, &tape, &gr);
    assert_true(fabs(loss - ref_loss(&p, T, L, y, target, border)) < 1e-4 * (1 + loss));
    if (!untied) /* one bank: the three uses add up */
        for (int i = 0; i < C * KK; i++) {
            dH[i] += dWe[i] + dWd[i];
            dWe[i] = dWd[i] = dH[i];
        }

    const double eps = 1e-4; /* small: a threshold kink must not fall inside */
    float *banks[3] = {p.H, p.We, p.Wd};
    const float *grads[3] = {dH, dWe, dWd};
    double worst = 0.0;
    for (int bk = 0; bk < (untied ? 3 : 1); bk++)
        for (int i = 0; i < C * KK; i++) {
            params q = p;
            float *qb[3] = {q.H, q.We, q.Wd};
            double save = banks[bk][i];
            for (int u = 0; u < 3; u++)
                if (untied ? u == bk : 1)
                    qb[u][i] = (float)(save + eps);
            double lp = ref_loss(&q, T, L, y, target, border);
            for (int u = 0; u < 3; u++)
                if (untied ? u == bk : 1)
                    qb[u][i] = (float)(save - eps);
            double lm = ref_loss(&q, T, L, y, target, border);
            double num = (lp - lm) / (2 * eps), ana = grads[bk][i];
            double err = fabs(num - ana) / (1e-3 + fabs(num) + fabs(ana));
            if (err > worst)
                worst = err;
            if (err > 1e-2)
                print_message("bank %d [%d]: numeric %.6g analytic %.6g\n", bk, i, num, ana);
            assert_true(err <= 1e-2);
        }
    for (int c = 0; c < C; c++) {
        params q = p;
        /* a threshold moves every code entry of its filter: a smaller step
         * keeps kinks out of the difference */
        const double be = 1e-5;
        const float up = (float)(p.bias[c] + be), down = (float)(p.bias[c] - be);
        q.bias[c] = up;
        double lp = ref_loss(&q, T, L, y, target, border);
        q.bias[c] = down;
        double lm = ref_loss(&q, T, L, y, target, border);
        double num = (lp - lm) / ((double)up - (double)down);
        double err = fabs(num - db[c]) / (1e-3 + fabs(num) + fabs(db[c]));
        if (err > worst)
            worst = err;
        if (err > 1e-2)
            print_message("bias %d: numeric %.6g analytic %.6g\n", c, num, db[c]);
        assert_true(err <= 1e-2);
    }
    print_message("untied=%d T=%d border=%d: loss %.5f, worst relative gradient error %.2e\n",
                  untied, T, border, loss, worst);
    crsae__pack_free(&ph), crsae__pack_free(&pe), crsae__pack_free(&pd);
    free(yy), free(tt), free(block);
}

static void test_gradients(void **state)
{
    (void)state;
    check(0, 1, 0);
    check(0, 5, 0);
    check(1, 1, 0);
    check(1, 6, 0);
    check(0, 4, 2);
    check(1, 4, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_gradients)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
