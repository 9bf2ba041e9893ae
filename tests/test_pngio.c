/* test_pngio.c - every PNG layout reads exactly and writes back losslessly;
 * corrupt files give an error; failed writes leave no file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crsae.h"
#include "pngio.h"

static char dir[64];

/* Write a PNG with libpng directly; samples are generated from (x, y, c). */
static unsigned sample(int x, int y, int c, int depth)
{
    unsigned max = (1u << depth) - 1;
    return (unsigned)(x * 7 + y * 13 + c * 101 + x * y) % (max + 1);
}

static void write_raw(const char *path, int w, int h, int ctype, int depth, int interlace,
                      int palette_trns)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_int_equal(setjmp(png_jmpbuf(png)), 0);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ctype,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    int ch = ctype == PNG_COLOR_TYPE_GRAY ? 1 : ctype == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
             : ctype == PNG_COLOR_TYPE_RGB ? 3 : ctype == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : 1;
    if (ctype == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[16];
        png_byte trns[16];
        for (int i = 0; i < 16; i++) {
            pal[i].red = (png_byte)(i * 16);
            pal[i].green = (png_byte)(255 - i * 16);
            pal[i].blue = (png_byte)(i * 5);
            trns[i] = (png_byte)(i * 17);
        }
        png_set_PLTE(png, info, pal, 16);
        if (palette_trns)
            png_set_tRNS(png, info, trns, 16, NULL);
    }
    png_write_info(png, info);
    if (depth < 8)
        png_set_packing(png);
    int passes = png_set_interlace_handling(png);
    size_t bps = depth == 16 ? 2 : 1;
    unsigned char *row = malloc((size_t)w * ch * bps);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++)
                for (int c = 0; c < ch; c++) {
                    unsigned v = sample(x, y, c, ctype == PNG_COLOR_TYPE_PALETTE ? 4 : depth);
                    if (depth == 16) {
                        row[((size_t)x * ch + c) * 2] = (unsigned char)(v >> 8);
                        row[((size_t)x * ch + c) * 2 + 1] = (unsigned char)v;
                    } else {
                        row[(size_t)x * ch + c] = (unsigned char)v;
                    }
                }
            png_write_row(png, row);
        }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(f);
}

typedef struct layout {
    const char *name;
    int ctype, depth, interlace, trns, channels;
} layout;

static void test_layouts(void **state)
{
    (void)state;
    const layout L[] = {
        {"grey1", PNG_COLOR_TYPE_GRAY, 1, 0, 0, 1},    {"grey2", PNG_COLOR_TYPE_GRAY, 2, 0, 0, 1},
        {"grey4", PNG_COLOR_TYPE_GRAY, 4, 0, 0, 1},    {"grey8", PNG_COLOR_TYPE_GRAY, 8, 0, 0, 1},
        {"grey16", PNG_COLOR_TYPE_GRAY, 16, 0, 0, 1},  {"ga8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0, 2},
        {"ga16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, 0, 2}, {"rgb8", PNG_COLOR_TYPE_RGB, 8, 0, 0, 3},
        {"rgb16", PNG_COLOR_TYPE_RGB, 16, 0, 0, 3},    {"rgba8", PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0, 4},
        {"rgba16", PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0, 4},
        {"palette", PNG_COLOR_TYPE_PALETTE, 8, 0, 0, 3},
        {"palette+trns", PNG_COLOR_TYPE_PALETTE, 8, 0, 1, 4},
        {"interlaced rgb8", PNG_COLOR_TYPE_RGB, 8, 1, 0, 3},
        {"interlaced grey16", PNG_COLOR_TYPE_GRAY, 16, 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
        char path[128], back[128], msg[256];
        snprintf(path, sizeof path, "%s/in%zu.png", dir, i);
        snprintf(back, sizeof back, "%s/back%zu.png", dir, i);
        int w = 37, h = 23;
        write_raw(path, w, h, L[i].ctype, L[i].depth, L[i].interlace, L[i].trns);
        pngio_image img, img2;
        assert_int_equal(pngio_read(path, &img, msg, sizeof msg), PNGIO_OK);
        assert_int_equal(img.width, w);
        assert_int_equal(img.height, h);
        assert_int_equal(img.channels, L[i].channels);
        assert_int_equal(img.palette, L[i].ctype == PNG_COLOR_TYPE_PALETTE);
        /* exact values */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const float *p = img.pixels + ((size_t)y * w + x) * img.channels;
                if (L[i].ctype == PNG_COLOR_TYPE_PALETTE) {
                    unsigned idx = sample(x, y, 0, 4);
                    assert_true(p[0] * 255.0f == (float)(idx * 16));
                    assert_true(p[1] * 255.0f == (float)(255 - idx * 16));
                    if (L[i].trns)
                        assert_true(p[3] * 255.0f == (float)(idx * 17));
                } else {
                    unsigned max = (1u << L[i].depth) - 1;
                    for (int c = 0; c < img.channels; c++) {
                        float want = (float)sample(x, y, c, L[i].depth) / (float)max;
                        assert_true(p[c] - want < 1e-6f && want - p[c] < 1e-6f);
                    }
                }
            }
        int depth = img.bit_depth == 16 ? 16 : 8;
        assert_int_equal(pngio_write(back, img.pixels, w, h, img.channels, depth, msg, sizeof msg),
                         PNGIO_OK);
        assert_int_equal(pngio_read(back, &img2, msg, sizeof msg), PNGIO_OK);
        assert_int_equal(img2.channels, img.channels);
        assert_memory_equal(img.pixels, img2.pixels, (size_t)w * h * img.channels * sizeof(float));
        pngio_free(&img);
        pngio_free(&img2);
        unlink(path);
        unlink(back);
    }
}

/* Recompute the IHDR chunk's CRC (over its type and data) after an edit. */
static void fix_ihdr_crc(unsigned char *png)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 12; i < 29; i++) {
        c ^= png[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    c = ~c;
    for (int k = 0; k < 4; k++)
        png[29 + k] = (unsigned char)(c >> (24 - 8 * k));
}

static void test_corrupt_files(void **state)
{
    (void)state;
    char path[128], bad[128], msg[256];
    snprintf(path, sizeof path, "%s/good.png", dir);
    snprintf(bad, sizeof bad, "%s/bad.png", dir);
    write_raw(path, 64, 48, PNG_COLOR_TYPE_RGB, 8, 0, 0);
    FILE *f = fopen(path, "rb");
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    pngio_image img;
    assert_int_equal(pngio_read("/nonexistent.png", &img, msg, sizeof msg), PNGIO_ERR_OPEN);
    /* every truncation */
    for (size_t cut = 0; cut < n; cut += (cut < 64 ? 1 : 97)) {
        f = fopen(bad, "wb");
        fwrite(buf, 1, cut, f);
        fclose(f);
        pngio_status st = pngio_read(bad, &img, msg, sizeof msg);
        assert_int_equal(st, PNGIO_ERR_FORMAT);
        assert_true(strlen(msg) > 0);
        assert_null(img.pixels);
    }
    /* bad signature, bad IHDR CRC; then with a valid CRC: zero width, huge
     * height, bad bit depth, bad colour type */
    const struct {
        size_t off;
        unsigned char val;
        int fix;
    } edits[] = {{1, 'X', 0}, {29, 0x55, 0}, {19, 0, 1}, {20, 0x7f, 1}, {24, 3, 1}, {25, 1, 1}};
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        unsigned char copy[65536];
        memcpy(copy, buf, n);
        copy[edits[e].off] = edits[e].val;
        if (edits[e].fix)
            fix_ihdr_crc(copy);
        f = fopen(bad, "wb");
        fwrite(copy, 1, n, f);
        fclose(f);
        pngio_status st = pngio_read(bad, &img, msg, sizeof msg);
        assert_true(st == PNGIO_ERR_FORMAT || st == PNGIO_ERR_TOO_LARGE);
        assert_null(img.pixels);
    }
    /* valid CRC, 16000 x 16000 RGB claimed by a tiny file: refused before
     * allocating gigabytes */
    {
        unsigned char copy[65536];
        memcpy(copy, buf, n);
        const unsigned char dims[8] = {0, 0, 0x3e, 0x80, 0, 0, 0x3e, 0x80};
        memcpy(copy + 16, dims, 8);
        fix_ihdr_crc(copy);
        f = fopen(bad, "wb");
        fwrite(copy, 1, n, f);
        fclose(f);
        assert_int_equal(pngio_read(bad, &img, msg, sizeof msg), PNGIO_ERR_FORMAT);
        assert_non_null(strstr(msg, "cannot fit"));
    }
    unlink(bad);
    unlink(path);
}

/* The sample conversion the CLI and the GIMP plug-in share: every integer
 * sample comes back unchanged, the rounding is half up, out-of-range and
 * NaN values clip. */
static void test_sample_conversion(void **state)
{
    (void)state;
    for (unsigned q = 0; q <= 255; q++)
        assert_int_equal(crsae_sample_from_float(crsae_sample_to_float(q, 8), 8), q);
    for (unsigned q = 0; q <= 65535; q++)
        assert_int_equal(crsae_sample_from_float(crsae_sample_to_float(q, 16), 16), q);
    assert_int_equal(crsae_sample_from_float(0.5f / 255.0f + 1e-6f, 8), 1);
    assert_int_equal(crsae_sample_from_float(0.5f / 255.0f - 1e-6f, 8), 0);
    assert_int_equal(crsae_sample_from_float(-1.0f, 8), 0);
    assert_int_equal(crsae_sample_from_float(2.0f, 8), 255);
    assert_int_equal(crsae_sample_from_float(2.0f, 16), 65535);
    assert_int_equal(crsae_sample_from_float(NAN, 16), 0);
}

static void test_failed_writes(void **state)
{
    (void)state;
    float px[12] = {0};
    char msg[256];
    assert_int_equal(pngio_write("/nonexistent-dir/x.png", px, 2, 2, 3, 8, msg, sizeof msg),
                     PNGIO_ERR_WRITE);
    assert_int_equal(access("/nonexistent-dir/x.png", F_OK), -1);
    FILE *f = fopen("/dev/full", "wb");
    if (f) {
        float big[3 * 256 * 256];
        for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
            big[i] = (float)(i % 251) / 251.0f;
        assert_int_equal(pngio_write_stream(f, big, 256, 256, 3, 8, msg, sizeof msg),
                         PNGIO_ERR_WRITE);
        fclose(f);
    }
    /* nothing left behind in our folder */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/crsae-pngio-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_failed_writes),
        cmocka_unit_test(test_sample_conversion),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}
