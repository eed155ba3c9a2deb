// test_synth.c — `bears synth --hard` differs from the default set in the ways it is meant to, measured
// on the painter's own record of where the animal is (SynthBox): subjects of many more sizes, further
// from the middle, more often cut off by the frame, in pictures of many shapes; and the same stream
// gives the same picture, byte for byte.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synth.h"

enum { PER_CLASS = 40, N = 3 * PER_CLASS, SIDE = 48 };

typedef struct {
    double area[N]; // the subject's box over the picture's area, sorted
    double offset;  // mean distance of the box's centre from the picture's, in shares of its sides
    int oblong;     // pictures that are not square
    int at_edge;    // boxes that touch the frame (the animal cut off)
    int lost;       // pictures with no subject in view
    int sizes;      // distinct picture widths
} Stats;

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void measure(bool hard, Stats *st) {
    memset(st, 0, sizeof *st);
    int widths[N], n_widths = 0;
    for (int i = 0; i < N; i++) {
        Rng r;
        rng_seed(&r, 5, 1000 + (uint64_t)i);
        Image img;
        SynthBox b;
        if (!synth_paint((SynthSubject)(i % 3), hard, SIDE, &r, &img, &b)) {
            CHECK(false, "painting picture %d (hard %d) failed", i, hard);
            continue;
        }
        int w = img.width, h = img.height;
        st->area[i] = (double)(b.x1 - b.x0) * (b.y1 - b.y0) / ((double)w * h);
        st->lost += b.x1 <= b.x0;
        st->offset += hypot(((b.x0 + b.x1) / 2.0 - w / 2.0) / w, ((b.y0 + b.y1) / 2.0 - h / 2.0) / h) / N;
        st->oblong += w != h;
        st->at_edge += b.x1 > b.x0 && (b.x0 == 0 || b.y0 == 0 || b.x1 == w || b.y1 == h);
        int seen = 0;
        for (int k = 0; k < n_widths; k++) seen |= widths[k] == w;
        if (!seen) widths[n_widths++] = w;
        image_free(&img);
    }
    st->sizes = n_widths;
    qsort(st->area, N, sizeof(double), by_value);
}

static void same_stream_same_picture(void) {
    Image a, b;
    SynthBox ba, bb;
    Rng r;
    rng_seed(&r, 9, 1003);
    bool ok = synth_paint(SYNTH_GRIZZLY, true, SIDE, &r, &a, &ba);
    rng_seed(&r, 9, 1003);
    ok = synth_paint(SYNTH_GRIZZLY, true, SIDE, &r, &b, &bb) && ok;
    CHECK(ok && a.width == b.width && a.height == b.height &&
              memcmp(a.rgb, b.rgb, (size_t)a.width * a.height * 3) == 0 && memcmp(&ba, &bb, sizeof ba) == 0,
          "two paintings from the same stream differ");
    // A near-duplicate is a different file of the same picture: another size, nearly the same pixels.
    Image copy = {0};
    if (ok) {
        copy = (Image){.width = a.width, .height = a.height, .rgb = malloc((size_t)a.width * a.height * 3)};
        memcpy(copy.rgb, a.rgb, (size_t)a.width * a.height * 3);
        rng_seed(&r, 9, 77);
        CHECK(synth_near_duplicate(&copy, &r), "near-duplicate failed");
        CHECK(copy.width != a.width || copy.height != a.height, "the near-duplicate kept the size %dx%d",
              a.width, a.height);
        Image back;
        if (image_resize(&copy, a.width, a.height, &back)) { // trimmed by at most 8% a side, so close
            double diff = 0;
            for (size_t i = 0; i < (size_t)a.width * a.height * 3; i++)
                diff += fabs((double)back.rgb[i] - a.rgb[i]);
            diff /= (double)a.width * a.height * 3;
            CHECK(diff < 40, "the near-duplicate is %.1f levels from its original on average", diff);
            image_free(&back);
        }
    }
    image_free(&a), image_free(&b), image_free(&copy);
}

int main(void) {
    same_stream_same_picture();
    static Stats easy, hard;
    measure(false, &easy);
    measure(true, &hard);
    double e10 = easy.area[N / 10], e90 = easy.area[N * 9 / 10];
    double h10 = hard.area[N / 10], h90 = hard.area[N * 9 / 10];
    printf("box area share, least / 10th / 50th / 90th percentile: default %.3f / %.3f / %.3f / %.3f, hard "
           "%.3f / "
           "%.3f / %.3f / %.3f\n",
           easy.area[0], e10, easy.area[N / 2], e90, hard.area[0], h10, hard.area[N / 2], h90);
    printf(
        "mean centre offset: default %.3f, hard %.3f; cut by the frame: %d vs %d of %d; out of view: %d vs "
        "%d; oblong: %d vs %d; widths: %d vs %d\n",
        easy.offset, hard.offset, easy.at_edge, hard.at_edge, N, easy.lost, hard.lost, easy.oblong,
        hard.oblong, easy.sizes, hard.sizes);
    // Scale: smaller subjects than the default set ever has, and a wider spread (90th over 10th percentile).
    CHECK(hard.area[0] < 0.6 * easy.area[0] && h10 < 0.8 * e10,
          "hard least %.3f and 10th percentile %.3f, default %.3f and %.3f: no small subjects", hard.area[0],
          h10, easy.area[0], e10);
    CHECK(h90 / fmax(h10, 1e-6) > 1.4 * (e90 / e10), "hard spread %.1fx, default %.1fx",
          h90 / fmax(h10, 1e-6), e90 / e10);
    // Placement: further from the middle, and more often cut off by the frame; rarely out of view.
    CHECK(hard.offset > 1.5 * easy.offset, "centre offset hard %.3f, default %.3f", hard.offset, easy.offset);
    CHECK(hard.at_edge > easy.at_edge + N / 5, "cut by the frame: hard %d, default %d", hard.at_edge,
          easy.at_edge);
    CHECK(easy.lost == 0 && hard.lost <= N / 20, "subjects out of view: default %d, hard %d", easy.lost,
          hard.lost);
    // Shapes and sizes of the saved pictures: the default set is square at two sizes.
    CHECK(easy.oblong == 0 && easy.sizes <= 2, "default: %d oblong, %d widths", easy.oblong, easy.sizes);
    CHECK(hard.oblong > N * 8 / 10 && hard.sizes > N / 3, "hard: %d oblong, %d widths", hard.oblong,
          hard.sizes);
    return check_done("test_synth");
}
