// The exercise checker's program: check-exercise (the script) links it with your file and runs
// `exercise-check SEED`. Built once per exercise (EXERCISE = 1..6), so each links with only its own
// file. Exit 0: right; 1: something is wrong (it says what).
#include <stdio.h>
#include <stdlib.h>

#include "verdict.h"

#define CHECK_EXERCISE(n)       CHECK_EXERCISE_PASTE(n)
#define CHECK_EXERCISE_PASTE(n) check_exercise_##n

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: exercise-check SEED; run it through check-exercise\n");
        return 2;
    }
    const int n = EXERCISE;
    unsigned long seed = strtoul(argv[1], NULL, 10);
    Rng rng;
    rng_seed(&rng, seed, (uint64_t)n);
    setvbuf(stdout, NULL, _IOLBF, 0); // each line out before a crash in your code, not after
    bool right = CHECK_EXERCISE(EXERCISE)(&rng);
    scratch_free_all();
    printf(right ? "\nexercise %d: right.\n"
                 : "\nexercise %d: not yet. Fix the first wrong line above and run the "
                   "checker again.\n",
           n);
    return right ? 0 : 1;
}
