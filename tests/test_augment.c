// test_augment.c — the geometry of every augmentation, TTA's views, and the loss's soft targets.
//
// Each transform is checked where its answer is known without the code: the identity view copies the
// picture exactly, a quarter turn moves a known pixel to a known place, a mirror reverses rows, crops
// and zooms stay inside the picture, a warp narrows one side; label smoothing and mixup make rows that
// are distributions, and the soft cross-entropy's gradient agrees with finite differences.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "autograd.h"
#include "check.h"
#include "gradcheck.h"
#include "layers.h"

enum { L = 8 };
static const float zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};

// A picture with one distinct value per pixel and channel.
static void numbered(uint8_t *rgb, int side) {
    for (int i = 0; i < side * side * 3; i++) rgb[i] = (uint8_t)((i * 7 + 3) % 251);
}

static float at(const float *out, int size, int c, int x, int y) {
    return out[(size_t)c * size * size + (size_t)y * size + x];
}

static void test_identity_and_flip(void) {
    uint8_t rgb[L * L * 3];
    numbered(rgb, L);
    float out[3 * L * L];
    AugmentView plain = augment_plain(L, L);
    augment_render(rgb, L, L, &plain, zero, one, out);
    int same = 0;
    for (int y = 0; y < L; y++)
        for (int x = 0; x < L; x++)
            for (int c = 0; c < 3; c++) same += at(out, L, c, x, y) == rgb[(y * L + x) * 3 + c] / 255.0f;
    CHECK(same == L * L * 3, "the identity view reproduces the picture exactly (%d of %d values)", same,
          L * L * 3);
    AugmentTransforms t = augment_plain_transforms(L, L);
    t.flip = true;
    AugmentView flip = augment_compose(&t, L);
    augment_render(rgb, L, L, &flip, zero, one, out);
    same = 0;
    for (int y = 0; y < L; y++)
        for (int x = 0; x < L; x++) same += at(out, L, 0, x, y) == rgb[(y * L + (L - 1 - x)) * 3] / 255.0f;
    CHECK(same == L * L, "the flip reverses every row (%d of %d)", same, L * L);
    // Lighting: +0.1 brightness adds 0.1; contrast 2 doubles the distance from 0.5.
    t = augment_plain_transforms(L, L);
    t.brightness = 0.1f, t.contrast = 2;
    AugmentView lit = augment_compose(&t, L);
    augment_render(rgb, L, L, &lit, zero, one, out);
    float v = rgb[0] / 255.0f;
    CHECK_NEAR(at(out, L, 0, 0, 0), (v - 0.5f) * 2 + 0.5f + 0.1f, 1e-6);
}

static void test_rotation_moves_a_pixel(void) {
    // One bright pixel at (6, 1); a quarter turn (+90 degrees) of the view brings it to output (1, 1):
    // output (u, v) from the centre samples the source at R(u, v) = (-v, u).
    uint8_t rgb[L * L * 3] = {0};
    for (int c = 0; c < 3; c++) rgb[(1 * L + 6) * 3 + c] = 255;
    AugmentTransforms t = augment_plain_transforms(L, L);
    t.angle = M_PI / 2;
    AugmentView v = augment_compose(&t, L);
    float out[3 * L * L];
    augment_render(rgb, L, L, &v, zero, one, out);
    int bright_x = -1, bright_y = -1, lit = 0;
    for (int y = 0; y < L; y++)
        for (int x = 0; x < L; x++)
            if (at(out, L, 0, x, y) > 0.5f) bright_x = x, bright_y = y, lit++;
    CHECK(lit == 1 && bright_x == 1 && bright_y == 1, "the pixel lands at (1, 1): %d lit, last at (%d, %d)",
          lit, bright_x, bright_y);
    CHECK_NEAR(at(out, L, 0, 1, 1), 1, 1e-5);
    // A turned picture has no black corners: the edge is mirrored back in.
    uint8_t flat[L * L * 3];
    memset(flat, 200, sizeof flat);
    t.angle = 30 * M_PI / 180;
    v = augment_compose(&t, L);
    augment_render(flat, L, L, &v, zero, one, out);
    CHECK_NEAR(at(out, L, 0, 0, 0), 200 / 255.0f, 1e-5);
}

static void test_crops_stay_inside(void) {
    enum { S = 32, STORED = 36 };
    Augment a = augment_none();
    a.crop_scale = 0.08f, a.max_zoom = 1.5f, a.p_affine = 1;
    Rng rng;
    rng_seed(&rng, 11, 0);
    int outside = 0;
    float smallest = 1e9f, largest = 0;
    for (int k = 0; k < 2000; k++) {
        AugmentView v = augment_draw(&a, S, STORED, &rng);
        float x0, y0, x1, y1;
        augment_map(&v, S, 0, 0, &x0, &y0);
        augment_map(&v, S, S - 1, S - 1, &x1, &y1);
        outside += fminf(x0, y0) < -0.5f || fmaxf(x1, y1) > STORED - 0.5f;
        float area = (x1 - x0) * (y1 - y0) / ((float)(STORED - 1) * (STORED - 1));
        smallest = fminf(smallest, area), largest = fmaxf(largest, area);
    }
    CHECK(outside == 0, "every crop and zoom stays inside the stored picture (%d outside)", outside);
    CHECK(smallest < 0.1f && largest > 0.6f, "crops range over the areas asked for (%g .. %g)", smallest,
          largest);
    // Zoom 2 towards the centre: the corners sample halfway to the edge.
    AugmentTransforms t = augment_plain_transforms(S, S);
    t.zoom = 2;
    AugmentView v = augment_compose(&t, S);
    float sx, sy;
    augment_map(&v, S, 0, 0, &sx, &sy);
    CHECK_NEAR(sx, (0 + 0.5f - S / 2.0f) / 2 + S / 2.0f - 0.5f, 1e-4);
    // A warp narrows one side: with warp_x > 0 the right edge spans fewer rows than the left.
    t = augment_plain_transforms(S, S);
    t.warp_x = 0.2;
    v = augment_compose(&t, S);
    float lx, ly0, ly1, rx, ry0, ry1;
    augment_map(&v, S, 0, 0, &lx, &ly0), augment_map(&v, S, 0, S - 1, &lx, &ly1);
    augment_map(&v, S, S - 1, 0, &rx, &ry0), augment_map(&v, S, S - 1, S - 1, &rx, &ry1);
    CHECK(ry1 - ry0 < ly1 - ly0, "warp: right edge %g rows, left %g", ry1 - ry0, ly1 - ly0);
}

static void test_draws(void) {
    Augment a = augment_default();
    Rng r1, r2, r3;
    rng_seed(&r1, 5, 0), rng_seed(&r2, 5, 0), rng_seed(&r3, 6, 0);
    int same = 0, differ = 0, identity = 0;
    AugmentView plain = augment_plain(32, 36);
    for (int k = 0; k < 100; k++) {
        AugmentView v1 = augment_draw(&a, 32, 36, &r1), v2 = augment_draw(&a, 32, 36, &r2),
                    v3 = augment_draw(&a, 32, 36, &r3);
        same += memcmp(&v1, &v2, sizeof v1) == 0;
        differ += memcmp(&v1, &v3, sizeof v1) != 0;
        identity += memcmp(&v1, &plain, sizeof v1) == 0;
    }
    CHECK(same == 100, "the same seed draws the same views (%d of 100)", same);
    CHECK(differ == 100 && identity == 0, "another seed, other views (%d); none is plain (%d)", differ,
          identity);
    Augment none = augment_none();
    AugmentView v = augment_draw(&none, 32, 36, &r1);
    CHECK(memcmp(&v, &plain, sizeof v) == 0, "augment_none draws the plain view");
}

static void test_tta(void) {
    enum { S = 16, STORED = 18 };
    // View k and view k + 4 (k's mirror) are mirror images of each other.
    uint8_t rgb[STORED * STORED * 3];
    numbered(rgb, STORED);
    float a[3 * S * S], b[3 * S * S];
    int mirrored = 0, inside = 0;
    for (int k = 0; k < 4; k++) {
        AugmentView v = augment_tta_view(k, S, STORED), w = augment_tta_view(k + 4, S, STORED);
        augment_render(rgb, STORED, S, &v, zero, one, a);
        augment_render(rgb, STORED, S, &w, zero, one, b);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                mirrored += fabsf(at(a, S, 0, x, y) - at(b, S, 0, S - 1 - x, y)) < 1e-6f;
        float x0, y0, x1, y1;
        augment_map(&v, S, 0, 0, &x0, &y0), augment_map(&v, S, S - 1, S - 1, &x1, &y1);
        inside += x0 >= -0.5f && y0 >= -0.5f && x1 <= STORED - 0.5f && y1 <= STORED - 0.5f;
    }
    CHECK(mirrored == 4 * S * S, "view k+4 mirrors view k (%d of %d pixels)", mirrored, 4 * S * S);
    CHECK(inside == 4, "the corner crops stay inside the picture (%d of 4)", inside);
    float probs[2] = {0.2f, 0.8f}, sum[2] = {TTA_VIEWS * 0.6f, TTA_VIEWS * 0.4f};
    augment_tta_mix(probs, sum, 1, 2);
    CHECK_NEAR(probs[0], TTA_BETA * 0.2f + (1 - TTA_BETA) * 0.6f, 1e-6);
    CHECK_NEAR(probs[0] + probs[1], 1, 1e-6);
}

static void test_targets(void) {
    enum { N = 6, C = 4, ROW = 5 };
    int labels[N] = {0, 1, 2, 3, 0, 1};
    float x[N * ROW], targets[N * C];
    for (int i = 0; i < N * ROW; i++) x[i] = (float)(i / ROW); // picture i is all i
    Rng rng;
    rng_seed(&rng, 2, 0);
    augment_targets(x, ROW, labels, N, C, 0.1f, 0, &rng, targets);
    CHECK_NEAR(targets[0], 0.9f + 0.025f,
               1e-6); // label smoothing: eps / C everywhere, 1 - eps more on the label
    CHECK_NEAR(targets[1], 0.025f, 1e-6);
    CHECK(x[ROW] == 1, "label smoothing leaves the pictures alone");
    augment_targets(x, ROW, labels, N, C, 0, 0.4f, &rng, targets);
    int rows_ok = 0;
    for (int i = 0; i < N; i++) {
        float total = 0, own = targets[i * C + labels[i]];
        for (int c = 0; c < C; c++) total += targets[i * C + c];
        // Picture i became lam * i + (1 - lam) * j: its value and its targets tell the same lam.
        float value = x[i * ROW], lam = own; // labels[i]'s weight is lam (plus 1 - lam when j shares it)
        bool pure = fabsf(value - (float)i) < 1e-5f;
        bool consistent = pure || own >= 0.5f - 1e-6f;
        for (int k = 1; k < ROW; k++) consistent = consistent && x[i * ROW + k] == value;
        rows_ok += fabsf(total - 1) < 1e-5f && lam >= 0.5f - 1e-6f && consistent;
    }
    CHECK(rows_ok == N,
          "mixup rows are distributions, at least half their own label, pictures blended whole (%d of %d)",
          rows_ok, N);
}

// The soft cross-entropy: its value by hand, equal to cross_entropy on one-hot rows, its gradient by
// finite differences.
typedef struct {
    const float *targets;
} SoftCtx;

static Tensor *soft_loss(Tensor *const *in, void *ctx) {
    return cross_entropy_soft(in[0], ((SoftCtx *)ctx)->targets);
}

static void test_soft_cross_entropy(void) {
    enum { N = 3, C = 4 };
    Rng rng;
    rng_seed(&rng, 9, 0);
    Tensor *z = tensor_normal(SHAPE(N, C), 0, 1, &rng);
    z->requires_grad = true;
    int labels[N] = {2, 0, 3};
    float t[N * C], *xs = NULL;
    augment_targets(xs, 0, labels, N, C, 0.2f, 0, &rng, t);
    double expected = 0;
    for (int n = 0; n < N; n++) {
        double m = -1e30, s = 0;
        for (int c = 0; c < C; c++) m = fmax(m, z->data[n * C + c]);
        for (int c = 0; c < C; c++) s += exp(z->data[n * C + c] - m);
        for (int c = 0; c < C; c++) expected -= t[n * C + c] * (z->data[n * C + c] - m - log(s));
    }
    Tensor *loss = cross_entropy_soft(z, t);
    CHECK_NEAR(loss->data[0], expected / N, 1e-5);
    float hard[N * C] = {0};
    for (int n = 0; n < N; n++) hard[n * C + labels[n]] = 1;
    float soft_value = cross_entropy_soft(z, hard)->data[0], hard_value = cross_entropy(z, labels)->data[0];
    CHECK(soft_value == hard_value, "one-hot targets give cross_entropy exactly (%g vs %g)", soft_value,
          hard_value);
    tape_reset();
    SoftCtx ctx = {t};
    CHECK(gradcheck("cross_entropy_soft", soft_loss, &z, 1, &ctx, (GradCheckOptions){0}, stdout),
          "the soft cross-entropy's gradient matches finite differences");
    tape_reset();
    tensor_free(z);
}

int main(void) {
    test_identity_and_flip();
    test_rotation_moves_a_pixel();
    test_crops_stay_inside();
    test_draws();
    test_tta();
    test_targets();
    test_soft_cross_entropy();
    return check_done("test_augment");
}
