/* common.c - helpers shared by the commands: messages, numbers, files. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cli_error(const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "crsae: ");
    if (what)
        fprintf(stderr, "%s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_number(const char *option, const char *text, double min, double max, double *value)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min || v > max) {
        cli_error(NULL, _("%s: expected a number from %g to %g, got '%s'"), option, min, max,
                  text);
        return 0;
    }
    *value = v;
    return 1;
}

int cli_read_png(const char *path, pngio_image *img)
{
    char msg[256];
    pngio_status st = pngio_read(path, img, msg, sizeof msg);
    switch (st) {
    case PNGIO_OK:
        return EXIT_OK;
    case PNGIO_ERR_OPEN:
        cli_error(path, "%s", msg);
        return EXIT_INPUT;
    case PNGIO_ERR_FORMAT:
    case PNGIO_ERR_TOO_LARGE:
        cli_error(path, "%s", msg);
        return EXIT_PNG;
    default:
        cli_error(path, "%s", msg);
        return EXIT_INTERNAL;
    }
}

int cli_write_png(const char *path, const float *pixels, int w, int h, int ch, int depth)
{
    char msg[256];
    pngio_status st = pngio_write(path, pixels, w, h, ch, depth, msg, sizeof msg);
    if (st == PNGIO_OK)
        return EXIT_OK;
    cli_error(path, "%s", msg);
    return st == PNGIO_ERR_NOMEM ? EXIT_INTERNAL : EXIT_OUTPUT;
}

int cli_exit_for(crsae_status st)
{
    switch (st) {
    case CRSAE_OK:
        return EXIT_OK;
    case CRSAE_ERR_CANCELLED:
        return EXIT_CANCELLED;
    case CRSAE_ERR_OPEN:
    case CRSAE_ERR_READ:
        return EXIT_INPUT;
    case CRSAE_ERR_WRITE:
        return EXIT_OUTPUT;
    case CRSAE_ERR_MODEL_MAGIC:
    case CRSAE_ERR_MODEL_VERSION:
    case CRSAE_ERR_MODEL_TRUNCATED:
    case CRSAE_ERR_MODEL_DIMENSIONS:
    case CRSAE_ERR_MODEL_VALUE:
    case CRSAE_ERR_MODEL_CHECKSUM:
    case CRSAE_ERR_MODEL_TRAILING:
    case CRSAE_ERR_MODEL_FLAGS:
    case CRSAE_ERR_MODEL_TEXT:
        return EXIT_MODEL;
    case CRSAE_ERR_NONFINITE:
    case CRSAE_ERR_TOO_LARGE:
        return EXIT_PNG;
    default:
        return EXIT_INTERNAL;
    }
}

int cli_load_model(const char *path, crsae_model **model)
{
    crsae_status st = path ? crsae_model_load_file(model, path) : crsae_model_default(model);
    if (st == CRSAE_OK)
        return EXIT_OK;
    cli_error(path ? path : _("built-in model"), "%s", crsae_strerror(st));
    if (st == CRSAE_ERR_OPEN || st == CRSAE_ERR_READ)
        return EXIT_INPUT;
    if (st == CRSAE_ERR_TOO_LARGE)
        return EXIT_MODEL;
    return cli_exit_for(st);
}
