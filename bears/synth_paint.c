// synth_paint.c — the painter behind `bears synth`: black bears, grizzlies and teddies from shapes.
//
// The lesson downloads a few hundred Google Images results per class. We cannot ship those, so we
// paint stand-ins with the features people use to tell the three apart:
//   black bear  dark fur (sometimes cinnamon brown), tall ears, a straight face profile, a tan muzzle,
//               the rump as high as the shoulders;
//   grizzly     brown fur with pale "grizzled" tips, a shoulder hump, a dished face, small round ears,
//               pale claws;
//   teddy       plush in many colours, a big round head, round ears with pale insides, shiny button
//               eyes, a stitched muzzle, often a bow, sitting upright.
// Pose (side or front), size, position, background (forest, grass, snow, room), light and noise all
// vary, so neither mean colour nor background gives the answer away.
//
// The hard set (synth.h) keeps those features and takes away the easy rest: see paint_hard_subject.
//
// Same --seed, same pictures, whichever compiler built the painter: each random number is drawn in a
// statement or declarator of its own (C leaves open the order in which a call's arguments, or the members
// of an initializer, are evaluated, and GCC and clang take different ones). Where a call once had
// several, they are drawn in the order GCC evaluated them (a call's last argument first, an
// initializer's first member first), so the pictures stayed as they were.
#include "synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

static float uni(Rng *rng, float a, float b) {
    return a + (b - a) * rng_uniform(rng);
}
static bool chance(Rng *rng, float p) {
    return rng_uniform(rng) < p;
}
static Color jitter_color(Rng *rng, Color c, float amount) {
    float k = uni(rng, 1 - amount, 1 + amount);
    float red = uni(rng, 0.93f, 1.07f), blue = uni(rng, 0.93f, 1.07f);
    return color_scale((Color){c.r * red, c.g, c.b * blue, c.a}, k);
}

// The picture being painted (twice the output size) and a mask of where fur is, for the texture pass.
typedef struct {
    Image img, mask;
    float W; // canvas side in pixels
    Rng *rng;
    bool hard;
    SynthBox fur_box; // where the last animal's fur is (its pixels in the mask), set by fur_texture
} Canvas;

static const Color WHITE = {255, 255, 255, 1};

// A body part: its colour, a soft highlight from above, and its place in the fur mask.
static void fur_ellipse(Canvas *cv, float cx, float cy, float rx, float ry, float angle, Color c) {
    draw_ellipse(&cv->img, cx, cy, rx, ry, angle, c);
    draw_ellipse(&cv->img, cx, cy - 0.3f * ry, 0.75f * rx, 0.55f * ry, angle,
                 with_alpha(color_scale(c, 1.3f), 0.2f));
    draw_ellipse(&cv->mask, cx, cy, rx, ry, angle, WHITE);
}

static void fur_limb(Canvas *cv, float x0, float y0, float x1, float y1, float width, Color c) {
    draw_line(&cv->img, x0, y0, x1, y1, width, c);
    draw_line(&cv->mask, x0, y0, x1, y1, width, WHITE);
}

static void fur_polygon(Canvas *cv, const float *xy, int n, Color c) {
    draw_polygon(&cv->img, xy, n, c);
    draw_polygon(&cv->mask, xy, n, WHITE);
}

// ---- value noise: smooth random bumps, for fur, grass and light ----

static float hash01(int x, int y, uint32_t seed) {
    uint32_t h = (uint32_t)x * 374761393u + (uint32_t)y * 668265263u + seed * 2246822519u;
    h = (h ^ (h >> 13)) * 1274126177u;
    return (float)((h ^ (h >> 16)) & 0xFFFFFF) / 16777216.0f;
}

static float value_noise(float x, float y, uint32_t seed) {
    int xi = (int)floorf(x), yi = (int)floorf(y);
    float fx = x - xi, fy = y - yi;
    fx = fx * fx * (3 - 2 * fx), fy = fy * fy * (3 - 2 * fy); // smoothstep: no visible grid lines
    float a = hash01(xi, yi, seed), b = hash01(xi + 1, yi, seed);
    float c = hash01(xi, yi + 1, seed), d = hash01(xi + 1, yi + 1, seed);
    return a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy;
}

// Fur: fine strands (noise stretched along the hair) and coarse patches. Grizzlies get pale tips,
// thickest on the back and hump, that is what "grizzled" means.
static void fur_texture(Canvas *cv, float strand, float contrast, Color tips, float tip_share) {
    uint32_t seed = rng_u32(cv->rng);
    float s = cv->W / 256.0f;
    int top = cv->img.height, bottom = 0, left = cv->img.width, right = 0;
    for (int y = 0; y < cv->img.height; y++)
        for (int x = 0; x < cv->img.width; x++)
            if (cv->mask.rgb[((size_t)y * cv->img.width + x) * 3]) {
                top = y < top ? y : top, bottom = y;
                left = x < left ? x : left, right = x > right ? x : right;
            }
    cv->fur_box = bottom >= top ? (SynthBox){left, top, right + 1, bottom + 1} : (SynthBox){0, 0, 0, 0};
    for (int y = 0; y < cv->img.height; y++)
        for (int x = 0; x < cv->img.width; x++) {
            size_t i = ((size_t)y * cv->img.width + x) * 3;
            if (!cv->mask.rgb[i]) continue;
            float fine = value_noise(x / (strand * s), y / (3 * strand * s), seed);
            float coarse = value_noise(x / (24 * s), y / (24 * s), seed + 1);
            float k = 1 + contrast * (fine - 0.5f) * 2 + 0.25f * contrast * (coarse - 0.5f);
            Color c = color_scale(rgb(cv->img.rgb[i], cv->img.rgb[i + 1], cv->img.rgb[i + 2]), k);
            float height = bottom > top ? (float)(bottom - y) / (float)(bottom - top) : 0; // 1 at the top
            float tip = tip_share * height * height * (hash01(x / 2, y / 3, seed + 2) > 0.55f);
            c = color_mix(c, tips, tip);
            cv->img.rgb[i] = (uint8_t)c.r, cv->img.rgb[i + 1] = (uint8_t)c.g,
            cv->img.rgb[i + 2] = (uint8_t)c.b;
        }
    // The next animal (a cub, a deer in front) gets its own texture pass: start its mask empty.
    memset(cv->mask.rgb, 0, (size_t)cv->mask.width * cv->mask.height * 3);
}

// ---- backgrounds ----

typedef enum { FOREST, GRASS, SNOW, ROOM, RIVER } Scene; // RIVER: only in the hard set

static void paint_background(Canvas *cv, Scene scene) {
    Rng *r = cv->rng;
    Image *im = &cv->img;
    float W = cv->W, horizon = W * uni(r, 0.3f, 0.6f);
    switch (scene) {
    case FOREST: {
        Color deep = jitter_color(r, rgb(40, 70, 40), 0.3f), floor = jitter_color(r, rgb(95, 85, 55), 0.25f);
        draw_vertical_gradient(im, 0, W, deep, color_scale(deep, 0.7f));
        int trees = 4 + (int)rng_below(r, 7);
        for (int k = 0; k < trees; k++) { // trunks, the far ones darker and thinner
            float x = uni(r, -0.05f, 1.05f) * W, w = uni(r, 0.02f, 0.09f) * W;
            Color bark = jitter_color(r, rgb(75, 55, 40), 0.35f);
            float foot = horizon + uni(r, 0.1f, 0.3f) * W;
            draw_rect(im, x, 0, x + w, foot, bark);
        }
        for (int k = 0; k < 14; k++) { // the canopy
            Color leaves = with_alpha(jitter_color(r, rgb(50, 95, 45), 0.3f), 0.8f);
            float ry = uni(r, 0.05f, 0.12f) * W, rx = uni(r, 0.08f, 0.2f) * W;
            float y = uni(r, -0.1f, 0.35f) * W, x = uni(r, 0, W);
            draw_ellipse(im, x, y, rx, ry, 0, leaves);
        }
        draw_vertical_gradient(im, horizon + 0.15f * W, W, floor, color_scale(floor, 0.8f));
        break;
    }
    case GRASS: {
        Color sky = jitter_color(r, rgb(135, 180, 225), 0.15f),
              field = jitter_color(r, rgb(95, 150, 60), 0.25f);
        draw_vertical_gradient(im, 0, horizon, sky, color_mix(sky, WHITE, 0.5f));
        Color hill = jitter_color(r, rgb(90, 125, 80), 0.2f); // a far hill
        float ry = uni(r, 0.05f, 0.12f) * W, rx = uni(r, 0.4f, 0.8f) * W, hill_x = uni(r, 0, W);
        draw_ellipse(im, hill_x, horizon, rx, ry, 0, hill);
        draw_vertical_gradient(im, horizon, W, color_scale(field, 0.9f), field);
        for (int k = 0; k < 500; k++) { // blades of grass
            float x = uni(r, 0, W), y = uni(r, horizon, W);
            Color blade = with_alpha(color_scale(field, uni(r, 0.6f, 1.3f)), 0.7f);
            float height = uni(r, 3, 10) * W / 256, lean = uni(r, -3, 3);
            draw_line(im, x, y, x + lean, y - height, 1.2f * W / 256, blade);
        }
        break;
    }
    case SNOW: {
        Color sky = jitter_color(r, rgb(190, 205, 220), 0.1f),
              snow = jitter_color(r, rgb(235, 240, 248), 0.05f);
        draw_vertical_gradient(im, 0, horizon, sky, color_mix(sky, WHITE, 0.4f));
        for (int k = 0; k < 6; k++) { // distant pines
            float x = uni(r, 0, W), h = uni(r, 0.1f, 0.25f) * W;
            float tree[6] = {x, horizon - h, x - 0.3f * h, horizon, x + 0.3f * h, horizon};
            draw_polygon(im, tree, 3, jitter_color(r, rgb(45, 70, 55), 0.3f));
        }
        draw_vertical_gradient(im, horizon, W, color_scale(snow, 0.92f), snow);
        break;
    }
    case ROOM: {
        Color wall = jitter_color(r, rgb(210, 195, 170), 0.25f),
              wood = jitter_color(r, rgb(140, 100, 65), 0.3f);
        draw_fill(im, wall);
        if (chance(r, 0.5f)) { // a window
            float x = uni(r, 0.05f, 0.6f) * W, y = uni(r, 0.05f, 0.2f) * W, s = uni(r, 0.2f, 0.35f) * W;
            draw_rect(im, x - 4, y - 4, x + s + 4, y + s + 4, rgb(245, 245, 240));
            draw_rect(im, x, y, x + s, y + s, jitter_color(r, rgb(170, 205, 235), 0.15f));
            draw_rect(im, x + s / 2 - 2, y, x + s / 2 + 2, y + s, rgb(245, 245, 240));
        } else { // stripes on the wallpaper
            Color stripe = color_scale(wall, uni(r, 0.85f, 0.95f));
            float step = uni(r, 0.06f, 0.15f) * W;
            for (float x = 0; x < W; x += step) draw_rect(im, x, 0, x + step / 2, horizon + 0.2f * W, stripe);
        }
        draw_vertical_gradient(im, horizon + 0.2f * W, W, wood, color_scale(wood, 0.8f));
        for (float y = horizon + 0.2f * W; y < W; y += W / 14)
            draw_rect(im, 0, y, W, y + 1.5f, color_scale(wood, 0.7f));
        if (chance(r, 0.4f)) { // a sofa or a bed behind
            Color cover = jitter_color(r, rgb(120, 60, 60), 0.5f);
            float right = uni(r, 0.7f, 1.2f) * W, left = uni(r, -0.2f, 0.3f) * W;
            draw_rect(im, left, horizon, right, horizon + 0.3f * W, cover);
        }
        break;
    }
    case RIVER: { // where bears fish: a far bank of trees, water with ripples and wet rocks
        Color sky = jitter_color(r, rgb(150, 185, 215), 0.15f),
              water = jitter_color(r, rgb(70, 100, 115), 0.3f);
        draw_vertical_gradient(im, 0, horizon, sky, color_mix(sky, WHITE, 0.4f));
        draw_rect(im, 0, horizon - 0.12f * W, W, horizon, jitter_color(r, rgb(45, 75, 45), 0.3f));
        draw_vertical_gradient(im, horizon, W, color_scale(water, 0.8f), water);
        for (int k = 0; k < 120; k++) { // ripples catch the sky
            float x = uni(r, 0, W), y = uni(r, horizon, W), len = uni(r, 0.02f, 0.08f) * W;
            draw_line(im, x, y, x + len, y, 1.5f * W / 256, with_alpha(color_mix(water, sky, 0.7f), 0.5f));
        }
        break;
    }
    }
}

// ---- the animals. Coordinates are in units of the animal's size u around (cx, cy), facing right. ----

static Color bear_fur(Canvas *cv, SynthSubject kind) {
    Rng *r = cv->rng;
    if (cv->hard) // colour is not the cue: a third of the black bears are brown, some grizzlies near black
        return kind == SYNTH_BLACK && chance(r, 0.65f)
                   ? jitter_color(r, rgb(38, 33, 30), 0.35f)
                   : color_mix(kind == SYNTH_BLACK ? rgb(90, 58, 36) : rgb(48, 34, 25), rgb(175, 135, 90),
                               rng_uniform(r));
    if (kind == SYNTH_BLACK) // mostly black, a quarter cinnamon: real black bears come in brown too
        return chance(r, 0.75f) ? jitter_color(r, rgb(38, 33, 30), 0.35f)
                                : jitter_color(r, rgb(125, 80, 48), 0.25f);
    // Grizzlies: from dark chocolate to pale blonde.
    return color_mix(rgb(70, 48, 32), rgb(175, 135, 90), rng_uniform(r));
}

// The fur pass of both bear poses: a grizzly's pale tips thickest on the back. In the hard set how
// grizzled a grizzly looks varies, and a brown black bear may have sun-bleached tips too.
static void bear_texture(Canvas *cv, bool grizzly, Color fur) {
    float tips = grizzly ? 0.6f : 0;
    if (cv->hard) tips = grizzly ? uni(cv->rng, 0.15f, 0.7f) : uni(cv->rng, 0, 0.25f);
    fur_texture(cv, 2.0f, grizzly ? 0.25f : 0.18f, grizzly || cv->hard ? rgb(225, 205, 170) : fur, tips);
}

// How a side-on bear stands: its head raised (-) or lowered (+) from its kind's usual carriage, in units
// of its size, and its legs' length (1 walking, about 0.5 lying down). The default set keeps {0, 1}.
typedef struct {
    float head_drop, legs;
} BearPose;

static void paint_bear_side(Canvas *cv, SynthSubject kind, float cx, float cy, float u, BearPose pose) {
    Rng *r = cv->rng;
    bool grizzly = kind == SYNTH_GRIZZLY;
    Color fur = bear_fur(cv, kind), far = color_scale(fur, 0.75f);
    float ground = cy + 0.42f * u * pose.legs, leg_w = (grizzly ? 0.14f : 0.115f) * u,
          stride = uni(r, -0.06f, 0.06f) * u;
    // Far legs first (behind the body), then the body, then the near legs.
    fur_limb(cv, cx + 0.27f * u, cy, cx + 0.27f * u - stride, ground, leg_w, far);
    fur_limb(cv, cx - 0.3f * u, cy, cx - 0.3f * u + stride, ground, leg_w, far);
    fur_ellipse(cv, cx, cy + (grizzly ? 0.02f : 0) * u, 0.45f * u, 0.22f * u, 0, fur);
    fur_ellipse(cv, cx - 0.3f * u, cy - (grizzly ? 0.0f : 0.05f) * u, 0.2f * u, 0.2f * u, 0, fur); // rump
    fur_ellipse(cv, cx + 0.25f * u, cy, 0.19f * u, 0.2f * u, 0, fur);                              // shoulder
    if (grizzly)
        fur_ellipse(cv, cx + 0.17f * u, cy - 0.16f * u, 0.21f * u, 0.16f * u, -0.2f, fur); // the hump
    fur_limb(cv, cx + 0.33f * u, cy + 0.05f * u, cx + 0.33f * u + stride, ground, leg_w, fur);
    fur_limb(cv, cx - 0.24f * u, cy + 0.05f * u, cx - 0.24f * u - stride, ground, leg_w, fur);

    // Head: a black bear holds it level with a straight (Roman) profile; a grizzly carries it low, with a
    // bulging forehead and a dip before the snout (the "dished" face).
    float hx = cx + 0.55f * u, hy = cy + (grizzly ? 0.03f : -0.1f) * u + pose.head_drop * u;
    fur_ellipse(cv, cx + 0.42f * u, (cy + hy) / 2 - 0.04f * u, 0.14f * u, 0.13f * u, -0.4f, fur); // neck
    fur_ellipse(cv, hx, hy, 0.15f * u, 0.125f * u, 0, fur);
    Color muzzle;
    if (grizzly) {
        fur_ellipse(cv, hx - 0.01f * u, hy - 0.06f * u, 0.12f * u, 0.09f * u, 0, fur); // forehead bump
        fur_ellipse(cv, hx + 0.16f * u, hy + 0.04f * u, 0.11f * u, 0.055f * u, 0.25f, fur);
        muzzle = color_scale(fur, 1.1f);
        fur_ellipse(cv, hx - 0.03f * u, hy - 0.12f * u, 0.035f * u, 0.035f * u, 0, far); // small round ears
        fur_ellipse(cv, hx + 0.02f * u, hy - 0.12f * u, 0.035f * u, 0.035f * u, 0, fur);
    } else {
        float profile[8] = {hx - 0.02f * u,
                            hy - 0.115f * u,
                            hx + 0.26f * u,
                            hy + 0.01f * u,
                            hx + 0.24f * u,
                            hy + 0.07f * u,
                            hx,
                            hy + 0.1f * u};
        fur_polygon(cv, profile, 4, fur);
        muzzle = color_mix(fur, rgb(165, 130, 90), 0.75f); // the tan muzzle of a black bear
        fur_ellipse(cv, hx - 0.06f * u, hy - 0.15f * u, 0.04f * u, 0.08f * u, -0.25f, far); // tall ears
        fur_ellipse(cv, hx - 0.01f * u, hy - 0.15f * u, 0.04f * u, 0.08f * u, -0.15f, fur);
    }
    bear_texture(cv, grizzly, fur);
    // Details painted over the fur: muzzle, nose, eye, claws.
    float nx = hx + (grizzly ? 0.26f : 0.25f) * u, ny = hy + (grizzly ? 0.06f : 0.03f) * u;
    draw_ellipse(&cv->img, nx - 0.06f * u, ny + 0.005f * u, 0.07f * u, 0.04f * u, 0.3f, muzzle);
    draw_ellipse(&cv->img, nx, ny, 0.025f * u, 0.02f * u, 0, rgb(20, 18, 18));
    draw_ellipse(&cv->img, hx + 0.05f * u, hy - 0.03f * u, 0.014f * u, 0.014f * u, 0, rgb(15, 12, 10));
    if (grizzly)
        for (int k = 0; k < 4; k++) // long pale claws on the near front paw
            draw_line(&cv->img, cx + 0.33f * u + stride + (k - 1.5f) * 0.025f * u, ground,
                      cx + 0.37f * u + stride + (k - 1.5f) * 0.025f * u, ground + 0.03f * u, 0.012f * u,
                      rgb(215, 205, 185));
}

static void paint_bear_front(Canvas *cv, SynthSubject kind, float cx, float cy, float u) {
    Rng *r = cv->rng;
    bool grizzly = kind == SYNTH_GRIZZLY;
    Color fur = bear_fur(cv, kind), shade = color_scale(fur, 0.8f);
    fur_limb(cv, cx - 0.17f * u, cy + 0.3f * u, cx - 0.19f * u, cy + 0.62f * u, 0.15f * u, shade);
    fur_limb(cv, cx + 0.17f * u, cy + 0.3f * u, cx + 0.19f * u, cy + 0.62f * u, 0.15f * u, shade);
    fur_ellipse(cv, cx, cy + 0.28f * u, 0.36f * u, 0.3f * u, 0, shade); // body, a little in shadow
    float hy = cy + (grizzly ? 0.02f : -0.08f) * u, hrx = (grizzly ? 0.21f : 0.18f) * u;
    if (grizzly)
        fur_ellipse(cv, cx, cy - 0.02f * u, 0.42f * u, 0.17f * u, 0, shade); // hump: shoulders above the head
    draw_ellipse(&cv->img, cx, hy + 0.01f * u, hrx * 1.07f, 0.2f * u, 0,
                 color_scale(fur, 0.55f)); // the head's shadow
    fur_ellipse(cv, cx, hy, hrx, 0.19f * u, 0, color_scale(fur, 1.1f));
    if (grizzly) {
        fur_ellipse(cv, cx - 0.17f * u, hy - 0.14f * u, 0.05f * u, 0.05f * u, 0, fur);
        fur_ellipse(cv, cx + 0.17f * u, hy - 0.14f * u, 0.05f * u, 0.05f * u, 0, fur);
    } else {
        fur_ellipse(cv, cx - 0.13f * u, hy - 0.18f * u, 0.05f * u, 0.085f * u, -0.3f, fur);
        fur_ellipse(cv, cx + 0.13f * u, hy - 0.18f * u, 0.05f * u, 0.085f * u, 0.3f, fur);
    }
    bear_texture(cv, grizzly, fur);
    Color muzzle = grizzly ? color_scale(fur, 1.12f) : color_mix(fur, rgb(165, 130, 90), 0.75f);
    draw_ellipse(&cv->img, cx, hy + 0.08f * u, (grizzly ? 0.1f : 0.075f) * u, (grizzly ? 0.065f : 0.08f) * u,
                 0, muzzle);
    draw_ellipse(&cv->img, cx, hy + 0.05f * u, 0.035f * u, 0.025f * u, 0, rgb(20, 18, 18));
    for (int side = -1; side <= 1; side += 2)
        draw_ellipse(&cv->img, cx + side * 0.075f * u, hy - 0.05f * u, 0.016f * u, 0.016f * u, 0,
                     rgb(12, 10, 10));
    if (!grizzly && chance(r, 0.25f)) { // some black bears have a pale chest blaze
        float v[6] = {cx - 0.08f * u, cy + 0.14f * u, cx + 0.08f * u, cy + 0.14f * u, cx, cy + 0.26f * u};
        draw_polygon(&cv->img, v, 3, rgb(215, 200, 175));
    }
}

static void paint_teddy(Canvas *cv, float cx, float cy, float u) {
    Rng *r = cv->rng;
    static const Color plush[] = {{190, 145, 95, 1},  {140, 90, 50, 1},   {230, 212, 175, 1},
                                  {235, 232, 228, 1}, {232, 165, 185, 1}, {150, 150, 155, 1},
                                  {85, 60, 42, 1},    {60, 55, 55, 1}};
    static const Color ribbons[] = {{200, 30, 40, 1}, {40, 80, 190, 1},  {230, 120, 170, 1},
                                    {40, 150, 70, 1}, {235, 190, 40, 1}, {120, 50, 150, 1}};
    // The hard set's teddies are more often the realistic browns, and without a bow: a bear's colours.
    static const int browns[] = {0, 1, 6, 7};
    int pick = cv->hard && chance(r, 0.45f) ? browns[rng_below(r, 4)] : (int)rng_below(r, 8);
    Color fur = jitter_color(r, plush[pick], 0.1f);
    Color pale = color_mix(fur, rgb(250, 235, 210), 0.5f), dark = rgb(25, 20, 20);
    float tilt = uni(r, -0.06f, 0.06f) * u; // the head leans a little
    // Legs stick out forward with pale foot pads; arms reach sideways.
    for (int side = -1; side <= 1; side += 2) {
        fur_ellipse(cv, cx + side * 0.18f * u, cy + 0.42f * u, 0.12f * u, 0.1f * u, 0, fur);
        fur_ellipse(cv, cx + side * 0.25f * u, cy + 0.15f * u, 0.07f * u, 0.16f * u, side * 0.6f, fur);
    }
    fur_ellipse(cv, cx, cy + 0.22f * u, 0.24f * u, 0.27f * u, 0, fur);       // body
    fur_ellipse(cv, cx + tilt, cy - 0.15f * u, 0.23f * u, 0.2f * u, 0, fur); // big round head
    for (int side = -1; side <= 1; side += 2)
        fur_ellipse(cv, cx + tilt + side * 0.17f * u, cy - 0.32f * u, 0.08f * u, 0.08f * u, 0, fur);
    fur_texture(cv, 1.2f, 0.1f, fur, 0);
    for (int side = -1; side <= 1; side += 2) {
        draw_ellipse(&cv->img, cx + tilt + side * 0.17f * u, cy - 0.32f * u, 0.045f * u, 0.045f * u, 0, pale);
        draw_ellipse(&cv->img, cx + side * 0.19f * u, cy + 0.45f * u, 0.07f * u, 0.06f * u, 0, pale);
    }
    if (chance(r, 0.4f))
        draw_ellipse(&cv->img, cx, cy + 0.25f * u, 0.14f * u, 0.16f * u, 0, pale); // tummy patch
    // Muzzle, nose and the stitched mouth.
    float mx = cx + tilt, my = cy - 0.08f * u;
    draw_ellipse(&cv->img, mx, my, 0.09f * u, 0.07f * u, 0, pale);
    draw_ellipse(&cv->img, mx, my - 0.03f * u, 0.035f * u, 0.025f * u, 0, dark);
    float stitch = 0.012f * u;
    draw_line(&cv->img, mx, my - 0.01f * u, mx, my + 0.03f * u, stitch, dark);
    draw_line(&cv->img, mx, my + 0.03f * u, mx - 0.035f * u, my + 0.045f * u, stitch, dark);
    draw_line(&cv->img, mx, my + 0.03f * u, mx + 0.035f * u, my + 0.045f * u, stitch, dark);
    // Button eyes: black discs with a bright highlight.
    for (int side = -1; side <= 1; side += 2) {
        float ex = mx + side * 0.085f * u, ey = cy - 0.19f * u;
        draw_ellipse(&cv->img, ex, ey, 0.032f * u, 0.032f * u, 0, rgb(10, 10, 12));
        draw_ellipse(&cv->img, ex - 0.01f * u, ey - 0.01f * u, 0.01f * u, 0.01f * u, 0, WHITE);
    }
    if (chance(r, cv->hard ? 0.45f : 0.7f)) { // a bow at the neck
        Color ribbon = ribbons[rng_below(r, 6)];
        for (int side = -1; side <= 1; side += 2) {
            float bow[6] = {cx,
                            cy + 0.02f * u,
                            cx + side * 0.12f * u,
                            cy - 0.03f * u,
                            cx + side * 0.12f * u,
                            cy + 0.07f * u};
            draw_polygon(&cv->img, bow, 3, ribbon);
        }
        draw_ellipse(&cv->img, cx, cy + 0.02f * u, 0.03f * u, 0.03f * u, 0, color_scale(ribbon, 0.8f));
    }
}

// Not a bear at all: the download also brings a child's drawing of a house or a flower.
static void paint_drawing(Canvas *cv) {
    Rng *r = cv->rng;
    Image *im = &cv->img;
    float W = cv->W, line = 0.015f * W;
    Color ink = rgb(30, 30, 40);
    draw_fill(im, jitter_color(r, rgb(245, 242, 232), 0.04f));
    if (chance(r, 0.5f)) {
        float x0 = uni(r, 0.15f, 0.3f) * W, x1 = uni(r, 0.7f, 0.85f) * W, y0 = 0.45f * W, y1 = 0.85f * W;
        draw_rect(im, x0, y0, x1, y1, jitter_color(r, rgb(220, 120, 80), 0.3f));
        float roof[6] = {x0 - 0.05f * W, y0, (x0 + x1) / 2, uni(r, 0.15f, 0.3f) * W, x1 + 0.05f * W, y0};
        draw_polygon(im, roof, 3, jitter_color(r, rgb(150, 50, 40), 0.3f));
        draw_rect(im, (x0 + x1) / 2 - 0.06f * W, y1 - 0.2f * W, (x0 + x1) / 2 + 0.06f * W, y1, ink);
        draw_rect(im, x0 + 0.05f * W, y0 + 0.07f * W, x0 + 0.15f * W, y0 + 0.17f * W, rgb(150, 200, 240));
    } else {
        float fx = uni(r, 0.35f, 0.65f) * W, fy = uni(r, 0.25f, 0.4f) * W, pr = uni(r, 0.07f, 0.1f) * W;
        draw_line(im, fx, fy, fx, 0.92f * W, line * 1.5f, rgb(60, 140, 60));
        draw_ellipse(im, fx + 0.08f * W, 0.65f * W, 0.08f * W, 0.03f * W, -0.5f, rgb(60, 140, 60));
        Color petal = jitter_color(r, rgb(230, 80, 120), 0.3f);
        for (int k = 0; k < 6; k++)
            draw_ellipse(im, fx + cosf(k * 1.047f) * pr, fy + sinf(k * 1.047f) * pr, pr * 0.7f, pr * 0.7f, 0,
                         petal);
        draw_ellipse(im, fx, fy, pr * 0.6f, pr * 0.6f, 0, rgb(245, 200, 40));
    }
}

// ---- the hard set: what a web search brings back besides the bear ----

// Other animals photographed where bears live: a deer, a dark dog, a moose. Brown, four-legged and
// about a bear's size, they are the lookalikes a classifier must not take for the bear. Facing right.
static void paint_other_animal(Canvas *cv, float cx, float cy, float u) {
    Rng *r = cv->rng;
    enum { DEER, DOG, MOOSE } kind = (int)rng_below(r, 3);
    static const Color coats[3] = {{150, 105, 65, 1}, {45, 38, 33, 1}, {70, 52, 38, 1}};
    // Body radii, leg length and width, head radii and where the head sits, in units of u.
    static const float build[3][8] = {{0.34f, 0.13f, 0.42f, 0.045f, 0.1f, 0.06f, 0.46f, -0.3f},
                                      {0.28f, 0.11f, 0.22f, 0.06f, 0.1f, 0.07f, 0.38f, -0.12f},
                                      {0.42f, 0.19f, 0.45f, 0.075f, 0.17f, 0.08f, 0.56f, -0.12f}};
    const float *b = build[kind];
    Color fur = jitter_color(r, coats[kind], 0.3f), far = color_scale(fur, 0.75f);
    float rx = b[0] * u, ry = b[1] * u, ground = cy + 0.6f * ry + b[2] * u, leg_w = b[3] * u;
    float hx = cx + b[6] * u, hy = cy + b[7] * u;
    for (int side = -1; side <= 1; side += 2) // far legs, behind the body
        fur_limb(cv, cx + side * 0.65f * rx + 0.03f * u, cy, cx + side * 0.65f * rx + 0.05f * u, ground,
                 leg_w, far);
    fur_ellipse(cv, cx, cy, rx, ry, 0, fur);
    for (int side = -1; side <= 1; side += 2)
        fur_limb(cv, cx + side * 0.7f * rx, cy + 0.3f * ry, cx + side * 0.7f * rx - 0.03f * u, ground, leg_w,
                 fur);
    fur_limb(cv, cx + 0.75f * rx, cy - 0.2f * ry, hx - 0.05f * u, hy, 1.2f * b[5] * u, fur); // neck
    fur_ellipse(cv, hx, hy, b[4] * u, b[5] * u, kind == MOOSE ? 0.5f : 0.2f, fur);
    fur_ellipse(cv, hx - 0.04f * u, hy - b[5] * u, 0.025f * u, 0.05f * u, kind == DOG ? 0.6f : -0.4f, fur);
    if (kind == DOG) // a tail held up
        fur_limb(cv, cx - rx, cy - 0.3f * ry, cx - rx - 0.12f * u, cy - 0.25f * u, 0.04f * u, fur);
    fur_texture(cv, 1.5f, 0.12f, fur, 0);
    draw_ellipse(&cv->img, hx + 0.02f * u, hy - 0.02f * u, 0.012f * u, 0.012f * u, 0, rgb(10, 10, 10));
    if (kind == DEER) // the white tail
        draw_ellipse(&cv->img, cx - rx, cy - 0.3f * ry, 0.04f * u, 0.06f * u, 0.3f, rgb(235, 230, 220));
    if (kind == MOOSE && chance(r, 0.6f)) // palmate antlers
        for (int side = -1; side <= 1; side += 2)
            draw_ellipse(&cv->img, hx - 0.1f * u + side * 0.06f * u, hy - 0.14f * u, 0.13f * u, 0.05f * u,
                         side * 0.35f, jitter_color(r, rgb(190, 170, 130), 0.15f));
}

// A colour for a man-made thing: a book, a toy, a cushion.
static Color any_color(Rng *r) {
    float c[3];
    for (int k = 0; k < 3; k++) c[k] = uni(r, 35, 235);
    return rgb(c[0], c[1], c[2]);
}

// What fills a real photo behind the subject: rocks and dark stumps (from far, a black bear's size and
// colour), bushes and logs outdoors; shelves of books and toys indoors; then dappled light over all.
static void paint_clutter(Canvas *cv, Scene scene) {
    Rng *r = cv->rng;
    Image *im = &cv->img;
    float W = cv->W;
    int n = 2 + (int)rng_below(r, 9);
    for (int k = 0; k < n; k++) {
        float x = uni(r, 0, W), y = uni(r, 0.35f, 1.0f) * W, s = uni(r, 0.03f, 0.15f) * W;
        int what = (int)rng_below(r, 4);
        if (scene == ROOM && what < 2) { // a shelf of books
            float w = 3 * s;
            draw_rect(im, x, y - 0.05f * s, x + w, y + 0.05f * s, rgb(110, 80, 55));
            for (float bx = x; bx < x + w - 0.1f * s; bx += uni(r, 0.12f, 0.25f) * s) {
                Color spine = any_color(r);
                float top = y - uni(r, 0.5f, 0.9f) * s;
                draw_rect(im, bx, top, bx + 0.1f * s, y - 0.05f * s, spine);
            }
        } else if (scene == ROOM) { // a ball or a toy block
            Color c = any_color(r);
            if (what == 2)
                draw_ellipse(im, x, y, 0.5f * s, 0.5f * s, 0, c);
            else
                draw_rect(im, x, y, x + 0.7f * s, y + 0.7f * s, c);
        } else if (what == 0) { // a rock, lit from above
            Color c = jitter_color(r, rgb(115, 110, 100), 0.35f);
            draw_ellipse(im, x, y, s, 0.6f * s, uni(r, -0.3f, 0.3f), c);
            draw_ellipse(im, x, y - 0.25f * s, 0.6f * s, 0.25f * s, 0,
                         with_alpha(color_scale(c, 1.3f), 0.4f));
        } else if (what == 1) { // a dark stump
            Color c = jitter_color(r, rgb(45, 35, 28), 0.3f);
            draw_rect(im, x - 0.35f * s, y - s, x + 0.35f * s, y, c);
            draw_ellipse(im, x, y - s, 0.35f * s, 0.12f * s, 0, color_scale(c, 1.6f));
        } else if (what == 2) { // a bush
            Color c = jitter_color(r, rgb(60, 110, 50), 0.35f);
            for (int j = 0; j < 5; j++) {
                Color leaves = color_scale(c, uni(r, 0.8f, 1.2f));
                float ry = uni(r, 0.25f, 0.5f) * s, rx = uni(r, 0.3f, 0.7f) * s;
                float ly = y - uni(r, 0, 0.6f) * s, lx = x + uni(r, -s, s);
                draw_ellipse(im, lx, ly, rx, ry, 0, leaves);
            }
        } else { // a fallen log
            Color bark = jitter_color(r, rgb(95, 70, 50), 0.3f);
            float end_y = y + uni(r, -0.5f, 0.5f) * s;
            draw_line(im, x - 1.5f * s, y, x + 1.5f * s, end_y, 0.4f * s, bark);
        }
    }
    // Dappled light: sun through leaves, or a lamp's pool indoors.
    uint32_t seed = rng_u32(r);
    float scale = uni(r, 0.08f, 0.25f) * W, strength = uni(r, 0, 0.25f);
    for (int y = 0; y < im->height; y++)
        for (int x = 0; x < im->width; x++) {
            uint8_t *p = im->rgb + ((size_t)y * im->width + x) * 3;
            float k = 1 + strength * (2 * value_noise(x / scale, y / scale, seed) - 1);
            for (int c = 0; c < 3; c++) p[c] = (uint8_t)fminf(255, p[c] * k);
        }
}

// In front of the subject, what hides part of it: a branch with leaves, a fence (crib bars indoors),
// tall grass, another animal outdoors or a cushion indoors. b is the subject's box in canvas pixels.
static void paint_foreground(Canvas *cv, Scene scene, SynthBox b) {
    Rng *r = cv->rng;
    Image *im = &cv->img;
    float bw = (float)(b.x1 - b.x0), bh = (float)(b.y1 - b.y0), big = fmaxf(bw, bh);
    if (bw <= 0 || bh <= 0) return;
    float pick = rng_uniform(r);
    bool indoors = scene == ROOM;
    if (pick < 0.3f && !indoors) { // a branch across it
        float x0 = b.x0 - uni(r, 0.1f, 0.6f) * bw, x1 = b.x1 + uni(r, 0.1f, 0.6f) * bw;
        float y0 = b.y0 + uni(r, -0.2f, 0.9f) * bh, y1 = b.y0 + uni(r, -0.2f, 0.9f) * bh;
        float width = uni(r, 0.03f, 0.08f) * big;
        Color bark = jitter_color(r, rgb(80, 62, 48), 0.35f), leaf = jitter_color(r, rgb(70, 120, 45), 0.35f);
        if (chance(r, 0.3f)) leaf = jitter_color(r, rgb(190, 120, 40), 0.25f); // autumn
        draw_line(im, x0, y0, x1, y1, width, bark);
        for (int k = 0; k < 5; k++) {
            float t = uni(r, 0.1f, 0.9f), tx = x0 + t * (x1 - x0), ty = y0 + t * (y1 - y0);
            float ex = tx + uni(r, -0.25f, 0.25f) * big, ey = ty + uni(r, -0.3f, 0.2f) * big;
            draw_line(im, tx, ty, ex, ey, 0.4f * width, bark);
            for (int j = 0; j < 6; j++) {
                Color shade = color_scale(leaf, uni(r, 0.75f, 1.2f));
                float angle = uni(r, 0, 3.14f);
                float ly = ey + uni(r, -0.08f, 0.08f) * big, lx = ex + uni(r, -0.08f, 0.08f) * big;
                draw_ellipse(im, lx, ly, 0.05f * big, 0.025f * big, angle, shade);
            }
        }
    } else if (pick < 0.55f) { // fence posts and rails outdoors, the bars of a cot or a chair indoors
        Color wood = indoors && chance(r, 0.5f) ? jitter_color(r, rgb(235, 232, 225), 0.05f)
                                                : jitter_color(r, rgb(130, 100, 70), 0.35f);
        int posts = 2 + (int)rng_below(r, 4);
        float step = uni(r, 0.25f, 0.5f) * bw, x = b.x0 + uni(r, -0.2f, 0.3f) * bw,
              w = uni(r, 0.04f, 0.09f) * big;
        float top = b.y0 + uni(r, -0.3f, 0.5f) * bh;
        for (int k = 0; k < posts; k++, x += step)
            draw_rect(im, x, top, x + w, cv->W, color_scale(wood, uni(r, 0.85f, 1.1f)));
        int rails = 1 + (int)rng_below(r, 2);
        for (int k = 0; k < rails; k++) {
            float y = top + uni(r, 0.1f, 0.8f) * (b.y1 - top);
            draw_rect(im, 0, y, cv->W, y + 0.6f * w, wood);
        }
    } else if (pick < 0.8f && !indoors) { // tall grass or reeds over the legs
        Color blade = jitter_color(r, scene == SNOW ? rgb(170, 160, 120) : rgb(100, 145, 60), 0.3f);
        for (int k = 0; k < 150; k++) {
            float x = b.x0 + uni(r, -0.2f, 1.2f) * bw, y = b.y1 + uni(r, -0.1f, 0.15f) * bh;
            Color shade = color_scale(blade, uni(r, 0.7f, 1.3f));
            float height = uni(r, 0.15f, 0.45f) * bh, lean = uni(r, -0.05f, 0.05f) * bh;
            draw_line(im, x, y, x + lean, y - height, 0.012f * big, shade);
        }
    } else if (!indoors) { // another animal passing in front, at one side
        float u = uni(r, 0.5f, 0.9f) * big, side = chance(r, 0.5f) ? b.x0 : b.x1;
        float y = b.y1 - uni(r, 0.1f, 0.4f) * bh, x = side + uni(r, -0.2f, 0.2f) * bw;
        paint_other_animal(cv, x, y, u);
    } else { // a cushion in the lap
        Color c = any_color(r);
        float angle = uni(r, -0.3f, 0.3f), ry = uni(r, 0.15f, 0.25f) * bh, rx = uni(r, 0.25f, 0.45f) * bw;
        float y = b.y1 - uni(r, 0, 0.3f) * bh, x = b.x0 + uni(r, 0.2f, 0.8f) * bw;
        draw_ellipse(im, x, y, rx, ry, angle, c);
    }
}

// A size drawn evenly on a log scale: as many between a and 2a as between 2a and 4a.
static float log_uni(Rng *r, float a, float b) {
    return expf(uni(r, logf(a), logf(b)));
}

// The window of the square canvas that the saved picture shows, in canvas pixels.
typedef struct {
    float x, y, w, h;
} Window;

// The labelled animal of a hard picture, and what crowds it. Real photos do not centre the subject or
// fill the frame with it: its size is drawn on a log scale from two fifths of the frame's short edge
// (a bear further off) to past the frame (a close-up, the body cut off), and the point kept in view is its
// middle when small and its head when close. Some bears have cubs beside them, some pictures hold
// another animal further back, and two in five subjects are partly hidden by something in front.
static SynthBox paint_hard_subject(Canvas *cv, SynthSubject kind, Scene scene, Window win) {
    Rng *r = cv->rng;
    enum { SIDE, FRONT, SITTING } pose = kind == SYNTH_TEDDY ? SITTING : chance(r, 0.6f) ? SIDE : FRONT;
    // The middle of the drawn animal and its head, relative to (cx, cy), and the geometric mean of its
    // width and height, all in units of its size: f is then how big it looks, whatever the pose.
    static const float middle[3][2] = {{0.05f, 0.07f}, {0, 0.16f}, {0, 0.06f}};
    static const float head[3][2] = {{0.6f, -0.1f}, {0, -0.05f}, {0, -0.15f}},
                       extent[3] = {1.0f, 0.88f, 0.75f};
    float f = log_uni(r, 0.4f, 1.25f), u = f * fminf(win.w, win.h) / extent[pose];
    float t = fminf(1, fmaxf(0, (f - 0.5f) / 0.5f));
    float ax = middle[pose][0] + t * (head[pose][0] - middle[pose][0]);
    float ay = middle[pose][1] + t * (head[pose][1] - middle[pose][1]);
    float cx = win.x + uni(r, 0.3f, 0.7f) * win.w - ax * u, cy = win.y + uni(r, 0.35f, 0.7f) * win.h - ay * u;

    if (scene != ROOM && chance(r, 0.2f)) { // something else alive, further back
        float size = uni(r, 0.3f, 0.7f) * u, y = win.y + uni(r, 0.3f, 0.7f) * win.h,
              x = win.x + uni(r, 0, 1) * win.w;
        paint_other_animal(cv, x, y, size);
    }
    if (kind != SYNTH_TEDDY && chance(r, 0.1f)) { // a mother with her cubs
        int cubs = 1 + (int)rng_below(r, 2);
        for (int k = 0; k < cubs; k++) {
            float cu = uni(r, 0.35f, 0.5f) * u, side = chance(r, 0.5f) ? -1.0f : 1.0f;
            paint_bear_side(cv, kind, cx + side * uni(r, 0.6f, 1.0f) * u, cy + 0.42f * (u - cu), cu,
                            (BearPose){0, 1});
        }
    }
    if (pose == SIDE) { // grazing or looking up, walking or lying down
        float head_drop = uni(r, -0.08f, 0.12f), legs = chance(r, 0.2f) ? 0.5f : 1;
        paint_bear_side(cv, kind, cx, cy, u, (BearPose){head_drop, legs});
    } else if (pose == FRONT)
        paint_bear_front(cv, kind, cx, cy, u);
    else
        paint_teddy(cv, cx, cy, u);
    SynthBox box = cv->fur_box;
    if (chance(r, 0.4f)) paint_foreground(cv, scene, box);
    return box;
}

bool synth_paint(SynthSubject subject, bool hard, int side, Rng *r, Image *out, SynthBox *box) {
    // The saved size. Painted at twice that on a square canvas and shrunk, which smooths edges; the hard
    // set's oblong pictures are a window of the canvas.
    int out_w = side, out_h = side;
    if (!hard) {
        out_w = out_h = chance(r, 0.05f) ? side * 3 / 2 : side; // a few larger pictures, as downloads have
    } else {
        float aspect = log_uni(r, 9.0f / 16, 16.0f / 9), long_side = side * log_uni(r, 0.6f, 2.0f);
        out_w = (int)(aspect >= 1 ? long_side : long_side * aspect);
        out_h = (int)(aspect >= 1 ? long_side / aspect : long_side);
        out_w = out_w < 24 ? 24 : out_w, out_h = out_h < 24 ? 24 : out_h;
    }
    int canvas = 2 * (out_w > out_h ? out_w : out_h);
    Canvas cv = {.W = (float)canvas, .rng = r, .hard = hard};
    *box = (SynthBox){0, 0, 0, 0};
    if (!image_alloc(&cv.img, canvas, canvas) || !image_alloc(&cv.mask, canvas, canvas)) {
        image_free(&cv.img);
        return false;
    }
    float W = cv.W;
    Window win = {0, 0, W, W};
    if (hard)
        win.w = 2.0f * out_w, win.h = 2.0f * out_h, win.x = uni(r, 0, W - win.w),
        win.y = uni(r, 0, W - win.h);
    Scene scene;
    float p = rng_uniform(r);
    if (hard) // bears by rivers, now and then indoors; teddies outdoors as often as not
        scene = subject == SYNTH_TEDDY ? (p < 0.45f  ? ROOM
                                          : p < 0.7f ? GRASS
                                          : p < 0.9f ? FOREST
                                                     : SNOW)
                                       : (p < 0.3f    ? FOREST
                                          : p < 0.55f ? GRASS
                                          : p < 0.72f ? SNOW
                                          : p < 0.95f ? RIVER
                                                      : ROOM);
    else if (subject == SYNTH_TEDDY)
        scene = p < 0.5f ? ROOM : p < 0.7f ? GRASS : p < 0.85f ? FOREST : SNOW;
    else if (subject == SYNTH_LANDSCAPE)
        scene = p < 0.4f ? FOREST : p < 0.8f ? GRASS : SNOW;
    else
        scene = p < 0.4f ? FOREST : p < 0.75f ? GRASS : p < 0.92f ? SNOW : ROOM;
    if (subject == SYNTH_DRAWING)
        paint_drawing(&cv);
    else
        paint_background(&cv, scene);
    if (hard && subject != SYNTH_DRAWING) paint_clutter(&cv, scene);

    SynthBox found = {0, 0, 0, 0}; // in canvas pixels
    if (subject == SYNTH_LANDSCAPE || subject == SYNTH_DRAWING) {
    } else if (hard) {
        found = paint_hard_subject(&cv, subject, scene, win);
    } else if (subject == SYNTH_BLACK || subject == SYNTH_GRIZZLY) {
        if (chance(r, 0.65f)) {
            float u = uni(r, 0.45f, 0.7f) * W, cy = W * uni(r, 0.42f, 0.58f), cx = W * uni(r, 0.36f, 0.46f);
            paint_bear_side(&cv, subject, cx, cy, u, (BearPose){0, 1});
        } else {
            float u = uni(r, 0.5f, 0.8f) * W, cy = W * uni(r, 0.3f, 0.42f), cx = W * uni(r, 0.42f, 0.58f);
            paint_bear_front(&cv, subject, cx, cy, u);
        }
        found = cv.fur_box;
    } else {
        float u = uni(r, 0.6f, 1.0f) * W, cy = W * uni(r, 0.4f, 0.5f), cx = W * uni(r, 0.4f, 0.6f);
        paint_teddy(&cv, cx, cy, u);
        found = cv.fur_box;
    }

    // Light: overall brightness, a warm or cool cast, and a gradient across the picture; the hard set
    // has dimmer, brighter and more tinted light.
    float gain = hard ? uni(r, 0.5f, 1.35f) : uni(r, 0.65f, 1.25f),
          warm = uni(r, -0.08f, 0.08f) * (hard ? 2 : 1), slope = uni(r, -0.25f, 0.25f) * (hard ? 1.6f : 1);
    bool mirror = chance(r, 0.5f); // facing left or right
    for (int y = 0; y < cv.img.height; y++)
        for (int x = 0; x < cv.img.width; x++) {
            uint8_t *px = cv.img.rgb + ((size_t)y * cv.img.width + x) * 3;
            float k = gain * (1 + slope * ((float)x / W - 0.5f));
            float c[3] = {px[0] * k * (1 + warm), px[1] * k, px[2] * k * (1 - warm)};
            for (int ch = 0; ch < 3; ch++) px[ch] = (uint8_t)(c[ch] < 0 ? 0 : c[ch] > 255 ? 255 : c[ch]);
        }
    if (mirror) {
        for (int y = 0; y < cv.img.height; y++)
            for (int x = 0; x < cv.img.width / 2; x++) {
                uint8_t *a = cv.img.rgb + ((size_t)y * cv.img.width + x) * 3;
                uint8_t *b = cv.img.rgb + ((size_t)y * cv.img.width + cv.img.width - 1 - x) * 3;
                for (int ch = 0; ch < 3; ch++) {
                    uint8_t t = a[ch];
                    a[ch] = b[ch], b[ch] = t;
                }
            }
        win.x = W - win.x - win.w;
        int x0 = found.x0;
        found.x0 = canvas - found.x1, found.x1 = canvas - x0;
    }
    bool ok = image_resized_crop(&cv.img, win.x, win.y, win.w, win.h, out_w, out_h, out);
    if (found.x1 > found.x0) { // the subject's box, in the saved picture's pixels
        float sx = out_w / win.w, sy = out_h / win.h;
        box->x0 = (int)fmaxf(0, floorf((found.x0 - win.x) * sx)),
        box->x1 = (int)fminf(out_w, ceilf((found.x1 - win.x) * sx));
        box->y0 = (int)fmaxf(0, floorf((found.y0 - win.y) * sy)),
        box->y1 = (int)fminf(out_h, ceilf((found.y1 - win.y) * sy));
        if (box->x1 <= box->x0 || box->y1 <= box->y0) *box = (SynthBox){0, 0, 0, 0}; // out of the frame
    }
    // Sensor noise, after shrinking so it stays at the pixel level.
    float sigma = hard ? uni(r, 1, 10) : uni(r, 1, 7);
    for (size_t i = 0; ok && i < (size_t)out_w * out_h * 3; i++) {
        float v = out->rgb[i] + sigma * rng_normal(r);
        out->rgb[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
    }
    image_free(&cv.img), image_free(&cv.mask);
    return ok;
}

bool synth_near_duplicate(Image *img, Rng *r) {
    float w = (float)img->width, h = (float)img->height;
    float x0 = uni(r, 0, 0.08f) * w, y0 = uni(r, 0, 0.08f) * h;
    float x1 = w - uni(r, 0, 0.08f) * w, y1 = h - uni(r, 0, 0.08f) * h, scale = uni(r, 0.6f, 1.25f);
    int out_w = (int)((x1 - x0) * scale), out_h = (int)((y1 - y0) * scale);
    Image copy;
    if (!image_resized_crop(img, x0, y0, x1 - x0, y1 - y0, out_w < 24 ? 24 : out_w, out_h < 24 ? 24 : out_h,
                            &copy))
        return false;
    float gain = uni(r, 0.9f, 1.1f);
    for (size_t i = 0; i < (size_t)copy.width * copy.height * 3; i++)
        copy.rgb[i] = (uint8_t)fminf(255, copy.rgb[i] * gain + 0.5f);
    image_free(img);
    *img = copy;
    return true;
}
