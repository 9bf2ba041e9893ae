/* cmd_info.c - `crsae info MODEL [--filters OUT.png]`: describe a model
 * file, and draw its filters. */
#include "cli.h"
#include "pngio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZOOM 6 /* pixels per filter tap */
#define GAP 2  /* pixels between filters */

/* The output filters (the atoms of the reconstruction) on a grey grid, each scaled to its own largest
 * magnitude (mid-grey = 0), in a near-square layout. */
static int draw_filters(const crsae_model *m, const char *path)
{
    crsae_model_info in;
    crsae_model_get_info(m, &in);
    const int C = in.filters, K = in.size, KK = K * K;
    int cols = (int)ceil(sqrt((double)C)), rows = (C + cols - 1) / cols;
    int cell = K * ZOOM + GAP, W = cols * cell + GAP, H = rows * cell + GAP;
    float *bank = malloc(sizeof(float) * (size_t)C * KK);
    float *img = malloc(sizeof(float) * (size_t)W * H);
    if (!bank || !img) {
        free(bank);
        free(img);
        cli_error(path, _("out of memory"));
        return EXIT_INTERNAL;
    }
    /* the atoms the image is built from: W_d of an untied model */
    crsae_model_get_bank(m, in.untied ? CRSAE_BANK_OUTPUT : CRSAE_BANK_DECODER, bank);
    for (int i = 0; i < W * H; i++)
        img[i] = 1.0f;
    for (int c = 0; c < C; c++) {
        const float *f = bank + (size_t)c * KK;
        float peak = 0.0f;
        for (int k = 0; k < KK; k++)
            peak = fmaxf(peak, fabsf(f[k]));
        int x0 = GAP + (c % cols) * cell, y0 = GAP + (c / cols) * cell;
        for (int y = 0; y < K * ZOOM; y++)
            for (int x = 0; x < K * ZOOM; x++) {
                float v = f[(y / ZOOM) * K + x / ZOOM];
                img[(size_t)(y0 + y) * W + x0 + x] = 0.5f + (peak > 0.0f ? 0.5f * v / peak : 0.0f);
            }
    }
    free(bank);
    char msg[256];
    pngio_status ps = pngio_write(path, img, W, H, 1, 8, msg, sizeof msg);
    free(img);
    if (ps != PNGIO_OK) {
        cli_error(path, "%s", msg);
        return EXIT_OUTPUT;
    }
    return EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
    const char *filters = NULL;
    if (argc == 4 && strcmp(argv[2], "--filters") == 0)
        filters = argv[3];
    if ((argc != 2 && !filters) || strcmp(argv[1], "--help") == 0) {
        printf(_("Usage: crsae info MODEL.crsae [--filters OUT.png]   (\"default\" for the "
                 "built-in model)\n  --filters OUT.png  draw the filters the image is rebuilt from\n"));
        return argc == 2 ? EXIT_OK : EXIT_USAGE;
    }
    crsae_model *m;
    int rc = cli_load_model(strcmp(argv[1], "default") ? argv[1] : NULL, &m);
    if (rc != EXIT_OK)
        return rc;
    crsae_model_info in;
    crsae_model_get_info(m, &in);
    printf(_("filters: %d\nsize: %dx%d\nstride: %d\niterations: %d\nweights: %s\n"
             "lipschitz: %g\nsigma_train: %g (%.2f on 0..255)\nbias_exponent: %g\n"
             "provenance: %s\n"),
           in.filters, in.size, in.size, in.stride, in.iterations,
           in.untied ? "untied" : "tied", in.lipschitz, in.sigma_train,
           in.sigma_train * 255.0, in.bias_exponent, in.provenance);
    if (filters)
        rc = draw_filters(m, filters);
    crsae_model_free(m);
    return rc;
}
