// augment.c — one matrix per view, one resampling function, TTA's fixed views, the loss's targets.
#include "augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Light by default: a flip, a random-resized crop and a little lighting. fastai's full set (rotate 10,
// zoom 1.1, warp 0.2, lighting 0.2: each a flag) is tuned for fine-tuning a pretrained body; from
// scratch in a few epochs it is too much regularisation (drawn bears after the default 4 epochs:
// 5.7% error against 3.4%; Fashion-MNIST 10k slice, 8 epochs: 13.0% against 11.7%; notes/transfer.md).
Augment augment_default(void) {
    return (Augment){.flip = true,
                     .crop_scale = 0.5625f, // crops of 3/4 to all of the side, as before the other transforms
                     .max_zoom = 1,
                     .p_affine = 0.75f,
                     .max_lighting = 0.1f,
                     .p_lighting = 0.75f};
}

Augment augment_none(void) {
    return (Augment){.flip = false, .crop_scale = 1, .max_zoom = 1};
}

// ---- 3x3 matrices, in double so that an identity view stays exactly the identity in float ----

typedef struct {
    double a[9];
} Mat3;

static Mat3 mat3(double a0, double a1, double a2, double a3, double a4, double a5, double a6, double a7,
                 double a8) {
    return (Mat3){{a0, a1, a2, a3, a4, a5, a6, a7, a8}};
}

static Mat3 mat3_mul(Mat3 p, Mat3 q) {
    Mat3 r;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            r.a[3 * i + j] = p.a[3 * i] * q.a[j] + p.a[3 * i + 1] * q.a[3 + j] + p.a[3 * i + 2] * q.a[6 + j];
    return r;
}

// Output pixel -> stored pixel, applied right to left: centred pixels to q, flip, warp, zoom, rotate,
// then into the crop (and -0.5: pixel i's centre sits at i + 0.5).
AugmentView augment_compose(const AugmentTransforms *t, int size) {
    double n = 2.0 / size, c = cos(t->angle), s = sin(t->angle), z = 1 / t->zoom;
    Mat3 m = mat3(t->hx, 0, t->cx - 0.5, 0, t->hy, t->cy - 0.5, 0, 0, 1);
    if (t->angle != 0) m = mat3_mul(m, mat3(c, -s, 0, s, c, 0, 0, 0, 1));
    m = mat3_mul(m, mat3(z, 0, t->zx, 0, z, t->zy, 0, 0, 1));
    m = mat3_mul(m, mat3(1, 0, 0, 0, 1, 0, t->warp_x, t->warp_y, 1));
    m = mat3_mul(m, mat3(t->flip ? -n : n, 0, 0, 0, n, 0, 0, 0, 1));
    AugmentView v = {.brightness = t->brightness, .contrast = t->contrast};
    for (int i = 0; i < 9; i++) v.m[i] = (float)m.a[i];
    return v;
}

AugmentTransforms augment_plain_transforms(int size, int stored) {
    return (AugmentTransforms){stored / 2.0, stored / 2.0, size / 2.0, size / 2.0, .zoom = 1, .contrast = 1};
}

AugmentView augment_plain(int size, int stored) {
    AugmentTransforms t = augment_plain_transforms(size, stored);
    return augment_compose(&t, size);
}

static double uniform(Rng *rng, double lo, double hi) {
    return lo + (hi - lo) * rng_uniform(rng);
}

AugmentView augment_draw(const Augment *a, int size, int stored, Rng *rng) {
    AugmentTransforms t = augment_plain_transforms(size, stored);
    if (a->crop_scale < 1) { // fastai's RandomResizedCrop: a share of the area at an aspect ratio
        double area = uniform(rng, a->crop_scale, 1), ratio = exp(uniform(rng, log(3.0 / 4), log(4.0 / 3)));
        double w = fmin(stored * sqrt(area * ratio), stored), h = fmin(stored * sqrt(area / ratio), stored);
        t.cx = uniform(rng, 0, stored - w) + w / 2, t.cy = uniform(rng, 0, stored - h) + h / 2;
        t.hx = w / 2, t.hy = h / 2;
    }
    if (a->flip) t.flip = rng_uniform(rng) < 0.5f;
    // Every chance and amount is drawn whether or not it is used, so the sequence never depends on it.
    if (a->max_warp > 0) {
        bool on = rng_uniform(rng) < a->p_affine;
        double wx = uniform(rng, -a->max_warp, a->max_warp), wy = uniform(rng, -a->max_warp, a->max_warp);
        if (on) t.warp_x = wx, t.warp_y = wy;
    }
    if (a->max_rotate > 0) {
        bool on = rng_uniform(rng) < a->p_affine;
        double angle = uniform(rng, -a->max_rotate, a->max_rotate) * M_PI / 180;
        if (on) t.angle = angle;
    }
    if (a->max_zoom > 1) {
        bool on = rng_uniform(rng) < a->p_affine;
        double zoom = uniform(rng, 1, a->max_zoom), room = 1 - 1 / zoom; // the zoomed window stays inside
        double zx = uniform(rng, -room, room), zy = uniform(rng, -room, room);
        if (on) t.zoom = zoom, t.zx = zx, t.zy = zy;
    }
    if (a->max_lighting > 0) { // fastai's brightness and contrast, linear in the value instead of its logit
        bool on_b = rng_uniform(rng) < a->p_lighting;
        float shift = (float)uniform(rng, -a->max_lighting / 2, a->max_lighting / 2);
        bool on_c = rng_uniform(rng) < a->p_lighting;
        float scale = (float)exp(uniform(rng, log(1 - a->max_lighting), -log(1 - a->max_lighting)));
        if (on_b) t.brightness = shift;
        if (on_c) t.contrast = scale;
    }
    return augment_compose(&t, size);
}

void augment_map(const AugmentView *v, int size, float ox, float oy, float *sx, float *sy) {
    float u = ox + 0.5f - size / 2.0f, w = oy + 0.5f - size / 2.0f;
    const float *m = v->m;
    float h = m[6] * u + m[7] * w + m[8];
    *sx = (m[0] * u + m[1] * w + m[2]) / h;
    *sy = (m[3] * u + m[4] * w + m[5]) / h;
}

// A coordinate past the edge comes back in as in a mirror, so a turned picture has no black corners.
static float reflect(float t, int n) {
    if (n == 1) return 0;
    float period = 2.0f * (n - 1);
    t = fmodf(fabsf(t), period);
    return t > n - 1 ? period - t : t;
}

void augment_render(const uint8_t *rgb, int stored, int size, const AugmentView *v, const float mean[3],
                    const float std[3], float *out) {
    size_t plane = (size_t)size * size;
    // (value - 0.5) * contrast + 0.5 + brightness, arranged so that no change is exactly no change
    float offset = 0.5f * (1 - v->contrast) + v->brightness;
    for (int oy = 0; oy < size; oy++)
        for (int ox = 0; ox < size; ox++) {
            float sx, sy;
            augment_map(v, size, (float)ox, (float)oy, &sx, &sy);
            sx = reflect(sx, stored), sy = reflect(sy, stored);
            int x0 = (int)sx, y0 = (int)sy;
            int x1 = x0 + 1 < stored ? x0 + 1 : x0, y1 = y0 + 1 < stored ? y0 + 1 : y0;
            float fx = sx - (float)x0, fy = sy - (float)y0;
            const uint8_t *p00 = rgb + ((size_t)y0 * stored + x0) * 3,
                          *p01 = rgb + ((size_t)y0 * stored + x1) * 3;
            const uint8_t *p10 = rgb + ((size_t)y1 * stored + x0) * 3,
                          *p11 = rgb + ((size_t)y1 * stored + x1) * 3;
            for (int c = 0; c < 3; c++) {
                float top = p00[c] + fx * (p01[c] - p00[c]), bottom = p10[c] + fx * (p11[c] - p10[c]);
                float value = (top + fy * (bottom - top)) / 255.0f;
                value = value * v->contrast + offset;
                out[c * plane + (size_t)oy * size + ox] = (value - mean[c]) / std[c];
            }
        }
}

// ---- TTA ----

AugmentView augment_tta_view(int k, int size, int stored) {
    AugmentTransforms t = augment_plain_transforms(size, stored);
    double edge = (stored - size) / 2.0; // from the centre crop to a corner crop
    t.cx += k & 1 ? edge : -edge, t.cy += k & 2 ? edge : -edge, t.flip = k & 4;
    return augment_compose(&t, size);
}

void augment_tta_mix(float *probs, const float *views_sum, int n, int n_classes) {
    for (size_t i = 0; i < (size_t)n * n_classes; i++)
        probs[i] = TTA_BETA * probs[i] + (1 - TTA_BETA) * views_sum[i] / TTA_VIEWS;
}

// ---- targets ----

// Beta(a, a) by Johnk's method (uniforms only, good for a < 1); tries are bounded, 0.5 after them.
static float beta_sample(Rng *rng, float a) {
    for (int tries = 0; tries < 1000; tries++) {
        double x = pow(rng_uniform(rng), 1.0 / a), y = pow(rng_uniform(rng), 1.0 / a);
        if (x + y <= 1 && x + y > 0) return (float)(x / (x + y));
    }
    return 0.5f;
}

void augment_targets(float *x, size_t row, const int *labels, int n, int n_classes, float smoothing,
                     float mixup_alpha, Rng *rng, float *targets) {
    for (int i = 0; i < n; i++)
        for (int c = 0; c < n_classes; c++)
            targets[(size_t)i * n_classes + c] = smoothing / n_classes + (c == labels[i] ? 1 - smoothing : 0);
    if (mixup_alpha <= 0 || n < 2) return;
    int *partner = malloc(sizeof(int) * (size_t)n);
    float *x0 = malloc(sizeof(float) * row * (size_t)n), *t0 = malloc(sizeof(float) * (size_t)n * n_classes);
    memcpy(x0, x, sizeof(float) * row * (size_t)n);
    memcpy(t0, targets, sizeof(float) * (size_t)n * n_classes);
    for (int i = 0; i < n; i++) partner[i] = i;
    rng_shuffle(rng, partner, n);
    for (int i = 0; i < n; i++) {
        float lam = beta_sample(rng, mixup_alpha), *xi = x + row * i, *ti = targets + (size_t)i * n_classes;
        lam = fmaxf(lam, 1 - lam); // the picture stays mostly itself (fastai's mixup)
        const float *xj = x0 + row * partner[i], *tj = t0 + (size_t)partner[i] * n_classes;
        for (size_t k = 0; k < row; k++) xi[k] = lam * xi[k] + (1 - lam) * xj[k];
        for (int c = 0; c < n_classes; c++) ti[c] = lam * ti[c] + (1 - lam) * tj[c];
    }
    free(partner), free(x0), free(t0);
}
