/* base/file.h - whole-file reading, atomic writing and the CRC of the file
 * formats (file.c). */
#ifndef CRSAE_BASE_FILE_H
#define CRSAE_BASE_FILE_H

#include "crsae.h"

#include <stddef.h>
#include <stdint.h>

/* CRC-32 as in PNG and zlib; start with crc = 0. */
uint32_t crsae__crc32(uint32_t crc, const unsigned char *p, size_t n);
/* Writes a file through a temporary beside it and a rename. */
crsae_status crsae__write_atomic(const char *path, const void *data, size_t size);
/* Reads a whole regular file of at most max bytes; free with crsae__free. */
crsae_status crsae__read_file(const char *path, size_t max, unsigned char **data, size_t *size);

#endif
