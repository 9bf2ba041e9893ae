/* colour.c - orthonormal opponent transform (luma, red-blue, green-magenta
 * axes).  Because it is orthonormal, white noise of std sigma in R, G and B
 * stays white with the same sigma in every opponent channel, so each
 * channel is denoised at the user's sigma. */
#include "denoise/colour.h"

#include <math.h>

void crsae__colour_matrix(int colours, float m[3][3])
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            m[i][j] = (i == j) ? 1.0f : 0.0f;
    if (colours != 3)
        return;
    const float a = (float)(1.0 / sqrt(3.0)), b = (float)(1.0 / sqrt(2.0)),
                c = (float)(1.0 / sqrt(6.0));
    m[0][0] = a, m[0][1] = a, m[0][2] = a;
    m[1][0] = b, m[1][1] = 0.0f, m[1][2] = -b;
    m[2][0] = c, m[2][1] = -2.0f * c, m[2][2] = c;
}
