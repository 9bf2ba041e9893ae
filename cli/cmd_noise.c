/* cmd_noise.c - `crsae noise`: add white Gaussian noise (tests, benchmarks). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

int cmd_noise(int argc, char **argv)
{
    static const struct option opts[] = {{"sigma", required_argument, NULL, 's'},
                                         {"seed", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    double sigma = -1, seed = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (!cli_number("--sigma", optarg, 0, 255, &sigma))
                return EXIT_USAGE;
            break;
        case 'r':
            if (!cli_number("--seed", optarg, 0, 9007199254740992.0, &seed))
                return EXIT_USAGE;
            break;
        case 'h':
            printf(_("Usage: crsae noise --sigma N [--seed S] IN.png OUT.png\n"));
            return EXIT_OK;
        default:
            return EXIT_USAGE;
        }
    }
    if (sigma < 0 || argc - optind != 2) {
        cli_error("noise", _("expected --sigma N IN.png OUT.png"));
        return EXIT_USAGE;
    }
    pngio_image img;
    int rc = cli_read_png(argv[optind], &img);
    if (rc != EXIT_OK)
        return rc;
    crsae_add_noise(img.pixels, (size_t)img.width * img.channels, img.width, img.height,
                    img.channels, (float)(sigma / 255.0), (uint64_t)seed);
    rc = cli_write_png(argv[optind + 1], img.pixels, img.width, img.height, img.channels,
                       img.bit_depth == 16 ? 16 : 8);
    pngio_free(&img);
    return rc;
}
