// rng.h — one small seeded random number generator (PCG32, O'Neill 2014).
//
// Every function that needs randomness takes an Rng* explicitly. No hidden global state means the
// same --seed gives the same run, bit for bit, and two parts of a program (say, the data and the
// weight initialisation) can use independent streams.
#ifndef SGDLAB_RNG_H
#define SGDLAB_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
    uint64_t inc; // stream selector, always odd
    double spare_normal;
    int has_spare;
} Rng;

// Seed a generator; different `stream` values give independent sequences for the same seed.
void rng_seed(Rng *rng, uint64_t seed, uint64_t stream);
uint32_t rng_u32(Rng *rng);
// Uniform integer in [0, n) without modulo bias.
uint32_t rng_below(Rng *rng, uint32_t n);
// Uniform float in [0, 1) with 24 random bits (every float32 step in [0.5, 1) is reachable).
float rng_uniform(Rng *rng);
// Standard normal N(0, 1) by the Box-Muller transform.
float rng_normal(Rng *rng);
// Shuffle an array of ints in place (Fisher-Yates); used for minibatch order and data splits.
void rng_shuffle(Rng *rng, int *items, int n);

#endif
