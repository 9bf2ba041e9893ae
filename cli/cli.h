/* cli.h - what the commands of the crsae tool share. */
#ifndef CRSAE_CLI_H
#define CRSAE_CLI_H

#include "crsae.h"
#include "pngio.h"

/* User-visible strings go through _() so gettext can be added. */
#define _(s) (s)

/* Exit codes (also listed by `crsae --help`). */
enum {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1,  /* other errors (out of memory, threads) */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_INPUT = 3,     /* input file missing or unreadable */
    EXIT_PNG = 4,       /* corrupt or unsupported PNG */
    EXIT_MODEL = 5,     /* corrupt or unusable model file */
    EXIT_OUTPUT = 6,    /* cannot write the output */
    EXIT_CANCELLED = 7  /* interrupted (Ctrl-C) */
};

int cmd_denoise(int argc, char **argv);
int cmd_noise(int argc, char **argv);
int cmd_psnr(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* One-line error on stderr: "crsae: WHAT: WHY". */
void cli_error(const char *what, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parse a number in [min, max]; false (with a message) otherwise. */
int cli_number(const char *option, const char *text, double min, double max, double *value);

/* Read a PNG; returns EXIT_OK or the exit code, with a message. */
int cli_read_png(const char *path, pngio_image *img);
/* Write a PNG atomically; returns EXIT_OK or EXIT_OUTPUT, with a message. */
int cli_write_png(const char *path, const float *pixels, int w, int h, int ch, int depth);

/* Load a model file, or the built-in default when path is NULL. */
int cli_load_model(const char *path, crsae_model **model);

/* Exit code for a core status. */
int cli_exit_for(crsae_status st);

#endif
