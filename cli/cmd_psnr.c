/* cmd_psnr.c - `crsae psnr A B`: PSNR over the colour channels. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int cmd_psnr(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        printf(_("Usage: crsae psnr REFERENCE.png TEST.png\n"));
        return EXIT_OK;
    }
    if (argc != 3) {
        cli_error("psnr", _("expected two PNG files"));
        return EXIT_USAGE;
    }
    pngio_image a, b;
    int rc = cli_read_png(argv[1], &a);
    if (rc != EXIT_OK)
        return rc;
    rc = cli_read_png(argv[2], &b);
    if (rc != EXIT_OK) {
        pngio_free(&a);
        return rc;
    }
    if (a.width != b.width || a.height != b.height || a.channels != b.channels) {
        cli_error("psnr", _("the images differ in size or channels (%dx%dx%d, %dx%dx%d)"),
                  a.width, a.height, a.channels, b.width, b.height, b.channels);
        pngio_free(&a);
        pngio_free(&b);
        return EXIT_USAGE;
    }
    int colours = (a.channels == 2 || a.channels == 4) ? a.channels - 1 : a.channels;
    double se = 0;
    size_t n = (size_t)a.width * a.height;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < colours; c++) {
            double d = (double)a.pixels[i * a.channels + c] - b.pixels[i * b.channels + c];
            se += d * d;
        }
    double mse = se / ((double)n * colours);
    if (mse == 0)
        printf("inf\n");
    else
        printf("%.2f\n", 10.0 * log10(1.0 / mse));
    pngio_free(&a);
    pngio_free(&b);
    return EXIT_OK;
}
