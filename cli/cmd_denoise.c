/* cmd_denoise.c - `crsae denoise`: read, denoise with a model, write. */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
             "       crsae denoise [OPTIONS] --out-dir DIR IN.png...\n"
             "  --out-dir DIR      denoise every IN.png into DIR under its own name (one\n"
             "                     process: the model is read once); a file that fails\n"
             "                     is reported and the others go on (as is a second\n"
             "                     input of the same name)\n"
             "  --sigma N|auto     noise level on the 0..255 scale (default auto, estimated\n"
             "                     for each image)\n"
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

typedef struct job {
    const crsae_model *model;
    double sigma; /* 0..255; 0: estimate */
    double iters, shifts, threads;
    crsae_quality quality;
    int precise, quiet;
} job;

/* One image: read, denoise, write atomically.  An exit code. */
static int denoise_file(const job *jb, const char *in_path, const char *out_path)
{
    pngio_image img;
    int rc = cli_read_png(in_path, &img);
    if (rc != EXIT_OK)
        return rc;
    crsae_status st;
    double sigma = jb->sigma;
    if (sigma == 0) {
        float est;
        st = crsae_estimate_noise_level(img.pixels, (size_t)img.width * img.channels,
                                        img.width, img.height, img.channels, &est);
        if (st != CRSAE_OK) {
            cli_error(in_path, _("cannot estimate the noise level (%s); give --sigma"),
                      crsae_strerror(st));
            rc = st == CRSAE_ERR_NONFINITE ? EXIT_PNG : EXIT_USAGE;
            goto done;
        }
        sigma = est * 255.0;
        if (!jb->quiet)
            fprintf(stderr, _("crsae: %s: estimated noise level %.2f\n"), in_path, sigma);
    }
    if (img.palette && !jb->quiet)
        fprintf(stderr, _("crsae: %s is a palette image; writing %s as %s\n"), in_path,
                out_path, img.channels == 4 ? "RGBA" : "RGB");

    crsae_denoise_params prm;
    crsae_denoise_params_init(&prm);
    prm.sigma = (float)(sigma / 255.0);
    prm.iterations = (int)jb->iters;
    crsae_denoise_params_set_quality(&prm, jb->quality);
    if (jb->shifts > 0)
        prm.shifts = (int)jb->shifts; /* an explicit count wins */
    prm.threads = (int)jb->threads;
    prm.precise = jb->precise;
    progress pr = {!jb->quiet && isatty(STDERR_FILENO), -1};
    prm.progress = on_progress;
    prm.progress_user = &pr;
    size_t stride = (size_t)img.width * img.channels;
    st = crsae_denoise_image(jb->model, &prm, img.pixels, stride, img.pixels, stride, img.width,
                             img.height, img.channels);
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
    pngio_free(&img);
    return rc;
}

/* DIR/the file name of in (NULL if too long). */
static char *out_name(const char *dir, const char *in)
{
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    size_t n = strlen(dir) + 1 + strlen(base) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, base);
    return p;
}

/* Whether an input before argv[k] (from argv[first]) has the same file
 * name: its output would be replaced. */
static int name_taken(char **argv, int first, int k)
{
    const char *b = strrchr(argv[k], '/');
    b = b ? b + 1 : argv[k];
    for (int i = first; i < k; i++) {
        const char *a = strrchr(argv[i], '/');
        if (strcmp(a ? a + 1 : argv[i], b) == 0)
            return 1;
    }
    return 0;
}

/* Whether a and b name the same existing file. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int cmd_denoise(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sigma", required_argument, NULL, 's'},   {"iterations", required_argument, NULL, 'i'},
        {"shifts", required_argument, NULL, 'S'},  {"model", required_argument, NULL, 'm'},
        {"threads", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'},
        {"best", no_argument, NULL, 'b'},          {"help", no_argument, NULL, 'h'},
        {"quality", required_argument, NULL, 'Q'}, {"precise", no_argument, NULL, 'P'},
        {"out-dir", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    const crsae_param_info *ps = crsae_param_get(CRSAE_PARAM_NOISE_LEVEL),
                           *pi = crsae_param_get(CRSAE_PARAM_ITERATIONS),
                           *psh = crsae_param_get(CRSAE_PARAM_SHIFTS),
                           *pt = crsae_param_get(CRSAE_PARAM_THREADS);
    job jb = {NULL, 0, 0, 0, 0, CRSAE_QUALITY_NORMAL, 0, 0};
    const char *model_path = NULL, *out_dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (strcmp(optarg, "auto") == 0)
                jb.sigma = 0;
            else if (!cli_number("--sigma", optarg, 1e-3, ps->max, &jb.sigma))
                return EXIT_USAGE;
            break;
        case 'i':
            if (!cli_number("--iterations", optarg, 1, pi->max, &jb.iters))
                return EXIT_USAGE;
            break;
        case 'S':
            if (!cli_number("--shifts", optarg, 1, psh->max, &jb.shifts))
                return EXIT_USAGE;
            break;
        case 't':
            if (!cli_number("--threads", optarg, pt->min, pt->max, &jb.threads))
                return EXIT_USAGE;
            break;
        case 'm':
            model_path = optarg;
            break;
        case 'o':
            out_dir = optarg;
            break;
        case 'q':
            jb.quiet = 1;
            break;
        case 'b':
            jb.quality = CRSAE_QUALITY_BEST;
            break;
        case 'P':
            jb.precise = 1;
            break;
        case 'Q': {
            int q = crsae_quality_from_name(optarg, strlen(optarg));
            if (q < 0) {
                cli_error("--quality", _("must be fast, normal or best"));
                return EXIT_USAGE;
            }
            jb.quality = (crsae_quality)q;
            break;
        }
        case 'h':
            help();
            return EXIT_OK;
        default:
            return EXIT_USAGE;
        }
    }
    const int nin = argc - optind;
    if (out_dir ? nin < 1 : nin != 2) {
        cli_error("denoise", out_dir ? _("expected IN.png... (try crsae denoise --help)")
                                     : _("expected IN.png OUT.png (try crsae denoise --help)"));
        return EXIT_USAGE;
    }
    struct stat sd;
    if (out_dir && (stat(out_dir, &sd) != 0 || !S_ISDIR(sd.st_mode))) {
        cli_error(out_dir, _("not a folder"));
        return EXIT_OUTPUT;
    }
    /* Ctrl-C from here on (reading included) stops cleanly: the image being
     * denoised is not written, the ones after it are not started */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);

    crsae_model *model = NULL;
    int rc = cli_load_model(model_path, &model);
    if (rc != EXIT_OK) {
        sigaction(SIGINT, &old, NULL);
        return rc;
    }
    jb.model = model;
    if (!out_dir) {
        rc = denoise_file(&jb, argv[optind], argv[optind + 1]);
    } else {
        int failed = 0;
        for (int k = optind; k < argc && !interrupted; k++) {
            char *out = out_name(out_dir, argv[k]);
            int r;
            if (!out) {
                cli_error(argv[k], "%s", crsae_strerror(CRSAE_ERR_NOMEM));
                r = EXIT_INTERNAL;
            } else if (name_taken(argv, optind, k)) {
                cli_error(argv[k], _("has the same name as an earlier input; not written "
                                     "(its output would replace that one's)"));
                r = EXIT_USAGE;
            } else if (same_file(argv[k], out)) {
                cli_error(argv[k], _("would be written over itself; give another --out-dir"));
                r = EXIT_USAGE;
            } else {
                r = denoise_file(&jb, argv[k], out);
            }
            free(out);
            if (r != EXIT_OK) {
                failed++;
                if (rc == EXIT_OK || r == EXIT_CANCELLED)
                    rc = r; /* the first failure's code, or the interruption's */
            }
        }
        if (interrupted)
            rc = EXIT_CANCELLED;
        if (failed && !jb.quiet)
            fprintf(stderr, _("crsae: %d of %d images failed\n"), failed, nin);
    }
    sigaction(SIGINT, &old, NULL);
    crsae_model_free(model);
    return rc;
}
