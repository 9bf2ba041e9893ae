/* cmd_denoise.c - `crsae denoise`: read, denoise with a model, write. */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct progress {
    int tty;
    int last;
} progress;

static int on_progress(double fraction, void *user)
{
    progress *p = user;
    if (p->tty) {
        int pct = (int)(fraction * 100.0 + 0.5);
        if (pct != p->last) {
            int bar = pct / 4;
            fprintf(stderr, "\r[%.*s%*s] %3d%%", bar, "=========================", 25 - bar,
                    "", pct);
            p->last = pct;
        }
    }
    return interrupted != 0;
}

static void help(void)
{
    printf(_("Usage: crsae denoise [OPTIONS] IN.png OUT.png\n"
             "  --sigma N|auto     noise level on the 0..255 scale (default auto)\n"
             "  --iterations T     FISTA iterations (default: the model's)\n"
             "  --shifts S         shifts of the ensemble to average (default: all)\n"
             "  --model FILE       a .crsae model (default: the built-in one)\n"
             "  --threads N        worker threads (default: one per CPU)\n"
             "  --quality fast|normal|best  fast: about half of the shifts (twice as fast);\n"
             "                     normal (default): all of them; best: also the 8 flips\n"
             "                     and rotations of the image, averaged (8 times slower)\n"
             "  --best             the same as --quality best\n"
             "  --precise          float products throughout (where the CPU has\n"
             "                     AVX512-BF16 the encoder multiplies in bfloat16 and\n"
             "                     adds in float: twice as fast; pixels move by at\n"
             "                     most about 0.5 of an 8-bit level)\n"
             "  --quiet            no progress or messages\n"));
}

int cmd_denoise(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sigma", required_argument, NULL, 's'},   {"iterations", required_argument, NULL, 'i'},
        {"shifts", required_argument, NULL, 'S'},  {"model", required_argument, NULL, 'm'},
        {"threads", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'},
        {"best", no_argument, NULL, 'b'},          {"help", no_argument, NULL, 'h'},
        {"quality", required_argument, NULL, 'Q'}, {"precise", no_argument, NULL, 'P'},
        {NULL, 0, NULL, 0}};
    const crsae_param_info *ps = crsae_param_get(CRSAE_PARAM_NOISE_LEVEL),
                           *pi = crsae_param_get(CRSAE_PARAM_ITERATIONS),
                           *psh = crsae_param_get(CRSAE_PARAM_SHIFTS),
                           *pt = crsae_param_get(CRSAE_PARAM_THREADS);
    double sigma = 0, iters = 0, shifts = 0, threads = 0;
    const char *model_path = NULL;
    int quiet = 0, precise = 0, c;
    crsae_quality quality = CRSAE_QUALITY_NORMAL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (strcmp(optarg, "auto") == 0)
                sigma = 0;
            else if (!cli_number("--sigma", optarg, 1e-3, ps->max, &sigma))
                return EXIT_USAGE;
            break;
        case 'i':
            if (!cli_number("--iterations", optarg, 1, pi->max, &iters))
                return EXIT_USAGE;
            break;
        case 'S':
            if (!cli_number("--shifts", optarg, 1, psh->max, &shifts))
                return EXIT_USAGE;
            break;
        case 't':
            if (!cli_number("--threads", optarg, pt->min, pt->max, &threads))
                return EXIT_USAGE;
            break;
        case 'm':
            model_path = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'b':
            quality = CRSAE_QUALITY_BEST;
            break;
        case 'P':
            precise = 1;
            break;
        case 'Q': {
            int q = crsae_quality_from_name(optarg, strlen(optarg));
            if (q < 0) {
                cli_error("--quality", _("must be fast, normal or best"));
                return EXIT_USAGE;
            }
            quality = (crsae_quality)q;
            break;
        }
        case 'h':
            help();
            return EXIT_OK;
        default:
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        cli_error("denoise", _("expected IN.png OUT.png (try crsae denoise --help)"));
        return EXIT_USAGE;
    }
    const char *in_path = argv[optind], *out_path = argv[optind + 1];
    /* Ctrl-C from here on (reading included) stops cleanly, writing nothing */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);

    crsae_model *model = NULL;
    pngio_image img;
    int rc = cli_read_png(in_path, &img);
    if (rc != EXIT_OK)
        return rc;
    rc = cli_load_model(model_path, &model);
    if (rc != EXIT_OK) {
        pngio_free(&img);
        return rc;
    }
    crsae_status st;
    if (sigma == 0) {
        float est;
        st = crsae_estimate_sigma(img.pixels, (size_t)img.width * img.channels, img.width,
                                  img.height, img.channels, &est);
        if (st != CRSAE_OK) {
            cli_error(in_path, _("cannot estimate the noise level (%s); give --sigma"),
                      crsae_strerror(st));
            rc = st == CRSAE_ERR_NONFINITE ? EXIT_PNG : EXIT_USAGE;
            goto done;
        }
        sigma = est * 255.0;
        if (sigma < 0.5)
            sigma = 0.5; /* a clean image: denoise very lightly */
        if (!quiet)
            fprintf(stderr, _("crsae: estimated noise level %.2f\n"), sigma);
    }
    if (img.palette && !quiet)
        fprintf(stderr, _("crsae: %s is a palette image; writing %s as %s\n"), in_path,
                out_path, img.channels == 4 ? "RGBA" : "RGB");

    crsae_denoise_params prm;
    crsae_denoise_params_init(&prm);
    prm.sigma = (float)(sigma / 255.0);
    prm.iterations = (int)iters;
    crsae_denoise_params_set_quality(&prm, quality);
    if (shifts > 0)
        prm.shifts = (int)shifts; /* an explicit count wins */
    prm.threads = (int)threads;
    prm.precise = precise;
    progress pr = {!quiet && isatty(STDERR_FILENO), -1};
    prm.progress = on_progress;
    prm.progress_user = &pr;
    size_t stride = (size_t)img.width * img.channels;
    st = crsae_denoise_image(model, &prm, img.pixels, stride, img.pixels, stride, img.width,
                             img.height, img.channels);
    sigaction(SIGINT, &old, NULL);
    if (pr.tty)
        fputc('\n', stderr);
    if (st != CRSAE_OK) {
        cli_error(in_path, "%s", st == CRSAE_ERR_CANCELLED ? _("interrupted; nothing written")
                                                           : crsae_strerror(st));
        rc = cli_exit_for(st);
        goto done;
    }
    rc = cli_write_png(out_path, img.pixels, img.width, img.height, img.channels,
                       img.bit_depth == 16 ? 16 : 8);
done:
    crsae_model_free(model);
    pngio_free(&img);
    return rc;
}
