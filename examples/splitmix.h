/* splitmix64 (Steele, Lea and Flood), shared by the examples: a tiny
 * counter-based generator, good enough for test data and simulations.
 * Output i of seed s is splitmix_mix(s + (i + 1) * gamma), so any element
 * of any stream can be recomputed alone, without the others: the
 * examples' checks recompute what their tasks made. Inline: each half of
 * an example uses only some of it. */
#ifndef EXAMPLE_SPLITMIX_H
#define EXAMPLE_SPLITMIX_H

#include <stdint.h>

#define SPLITMIX_GAMMA UINT64_C(0x9e3779b97f4a7c15)

/* The mixer: also makes unrelated seeds of nearby numbers. */
static inline uint64_t
splitmix_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Output i of the stream of seed. */
static inline uint64_t
splitmix_at(uint64_t seed, uint64_t i)
{
    return splitmix_mix(seed + (i + 1) * SPLITMIX_GAMMA);
}

#endif
