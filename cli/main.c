/* main.c - the crsae command line: dispatch, help and version. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, _("Usage: crsae COMMAND [OPTIONS] ARGS\n"
                 "Denoise images with a learned convolutional dictionary (CRsAE).\n\n"
                 "Commands:\n"
                 "  denoise [--sigma N|auto] [--iterations T] [--shifts S] [--model FILE]\n"
                 "          [--threads N] IN.png OUT.png\n"
                 "      Denoise IN.png into OUT.png (same layout and bit depth; palette\n"
                 "      images are written as RGB/RGBA).  sigma is the noise level on the\n"
                 "      0..255 scale (default: auto, estimated from the image).\n"
                 "  noise --sigma N [--seed S] IN.png OUT.png\n"
                 "      Add white Gaussian noise of std N (0..255 scale).\n"
                 "  psnr A.png B.png\n"
                 "      Print the PSNR of B against A in dB (0..255 scale).\n"
                 "  import MODEL.json OUT.crsae [--bias-exponent P]\n"
                 "      Convert a published CRsAE checkpoint (JSON + raw float32 arrays).\n"
                 "  info MODEL.crsae\n"
                 "      Describe a model file.\n"
                 "  train --data DIR --sigma N --out MODEL.crsae [OPTIONS]\n"
                 "      Learn a dictionary from clean images (crsae train --help).\n\n"
                 "Options: --help, --version.  `crsae COMMAND --help` describes a command.\n\n"
                 "Exit codes: 0 success, 1 internal error, 2 bad command line, 3 input file\n"
                 "missing or unreadable, 4 corrupt or unsupported PNG, 5 corrupt or unusable\n"
                 "model, 6 cannot write the output, 7 interrupted.\n"));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("crsae %s\n", crsae_version_string());
        return EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {{"denoise", cmd_denoise}, {"noise", cmd_noise}, {"psnr", cmd_psnr},
                    {"import", cmd_import},   {"info", cmd_info},
                    {"train", cmd_train}};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    cli_error(NULL, _("unknown command '%s' (try crsae --help)"), cmd);
    return EXIT_USAGE;
}
