// rng.c — PCG32: a 64-bit linear congruential step, output scrambled by a xorshift and rotation.
// Read first: nothing; tensor.c uses it for random fills.
#include "rng.h"

#include <math.h>

void rng_seed(Rng *rng, uint64_t seed, uint64_t stream) {
    rng->state = 0;
    rng->inc = (stream << 1u) | 1u;
    rng_u32(rng);
    rng->state += seed;
    rng_u32(rng);
    rng->has_spare = 0;
    rng->spare_normal = 0;
}

uint32_t rng_u32(Rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * 6364136223846793005ULL + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

uint32_t rng_below(Rng *rng, uint32_t n) {
    // Reject the few values that would make some results more likely than others.
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t r = rng_u32(rng);
        if (r >= threshold) return r % n;
    }
}

float rng_uniform(Rng *rng) {
    return (float)(rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

float rng_normal(Rng *rng) {
    if (rng->has_spare) {
        rng->has_spare = 0;
        return (float)rng->spare_normal;
    }
    // Two uniforms give two independent normals; keep the second for the next call.
    double u1, u2;
    do u1 = (rng_u32(rng) + 0.5) / 4294967296.0;
    while (u1 <= 0.0);
    u2 = rng_u32(rng) / 4294967296.0;
    double r = sqrt(-2.0 * log(u1));
    rng->spare_normal = r * sin(2.0 * M_PI * u2);
    rng->has_spare = 1;
    return (float)(r * cos(2.0 * M_PI * u2));
}

void rng_shuffle(Rng *rng, int *items, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(rng, (uint32_t)i + 1);
        int tmp = items[i];
        items[i] = items[j];
        items[j] = tmp;
    }
}
