/* samples.c - the one conversion between integer samples and the [0,1]
 * floats the core works in, shared by the command line (PNG files) and the
 * GIMP plug-in (8- and 16-bit layers), so that both give the same pixels. */
#include "crsae.h"

float crsae_sample_to_float(unsigned q, int bits)
{
    return bits == 16 ? (float)q / 65535.0f : (float)q / 255.0f;
}

unsigned crsae_sample_from_float(float v, int bits)
{
    const float scale = bits == 16 ? 65535.0f : 255.0f;
    v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* NaN -> 0 */
    return (unsigned)(v * scale + 0.5f);
}
