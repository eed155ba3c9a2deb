// synth.c — `bears synth DIR`: the default data set, painted instead of downloaded.
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
// Like a real download it also contains the mess the lesson cleans up, and writes down where, in
// DIR/PLANTED.csv (path,problem,true_class), so tests can check that verify / interpret find it:
//   unreadable  a truncated JPEG, an HTML error page saved as .jpg, an empty file;
//   not_bear    a landscape with no bear, a child's drawing of a house or a flower;
//   mislabeled  a picture of one class saved in another class's folder (about 1%).
//
// Every picture has its own random stream (seed, picture number), so the output is the same for a seed
// whatever the number of threads.
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "draw.h"
#include "rng.h"
#include "trash.h"

static const char *const class_names[3] = {"black", "grizzly", "teddy"}; // sorted, as the dataset sees them
typedef enum { BLACK, GRIZZLY, TEDDY, LANDSCAPE, DRAWING } Subject;
typedef enum { GOOD, UNREADABLE, NOT_BEAR, MISLABELED } Problem;
static const char *const problem_names[4] = {"", "unreadable", "not_bear", "mislabeled"};

static float uni(Rng *rng, float a, float b) {
    return a + (b - a) * rng_uniform(rng);
}
static bool chance(Rng *rng, float p) {
    return rng_uniform(rng) < p;
}
static Color jitter_color(Rng *rng, Color c, float amount) {
    float k = uni(rng, 1 - amount, 1 + amount);
    return color_scale((Color){c.r * uni(rng, 0.93f, 1.07f), c.g, c.b * uni(rng, 0.93f, 1.07f), c.a}, k);
}

// The picture being painted (twice the output size) and a mask of where fur is, for the texture pass.
typedef struct {
    Image img, mask;
    float W; // canvas side in pixels
    Rng *rng;
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
    int top = cv->img.height, bottom = 0;
    for (int y = 0; y < cv->img.height; y++)
        for (int x = 0; x < cv->img.width; x++)
            if (cv->mask.rgb[((size_t)y * cv->img.width + x) * 3]) top = y < top ? y : top, bottom = y;
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
}

// ---- backgrounds ----

typedef enum { FOREST, GRASS, SNOW, ROOM } Scene;

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
            draw_rect(im, x, 0, x + w, horizon + uni(r, 0.1f, 0.3f) * W,
                      jitter_color(r, rgb(75, 55, 40), 0.35f));
        }
        for (int k = 0; k < 14; k++)
            draw_ellipse(im, uni(r, 0, W), uni(r, -0.1f, 0.35f) * W, uni(r, 0.08f, 0.2f) * W,
                         uni(r, 0.05f, 0.12f) * W, 0,
                         with_alpha(jitter_color(r, rgb(50, 95, 45), 0.3f), 0.8f));
        draw_vertical_gradient(im, horizon + 0.15f * W, W, floor, color_scale(floor, 0.8f));
        break;
    }
    case GRASS: {
        Color sky = jitter_color(r, rgb(135, 180, 225), 0.15f),
              field = jitter_color(r, rgb(95, 150, 60), 0.25f);
        draw_vertical_gradient(im, 0, horizon, sky, color_mix(sky, WHITE, 0.5f));
        draw_ellipse(im, uni(r, 0, W), horizon, uni(r, 0.4f, 0.8f) * W, uni(r, 0.05f, 0.12f) * W, 0,
                     jitter_color(r, rgb(90, 125, 80), 0.2f)); // a far hill
        draw_vertical_gradient(im, horizon, W, color_scale(field, 0.9f), field);
        for (int k = 0; k < 500; k++) { // blades of grass
            float x = uni(r, 0, W), y = uni(r, horizon, W);
            draw_line(im, x, y, x + uni(r, -3, 3), y - uni(r, 3, 10) * W / 256, 1.2f * W / 256,
                      with_alpha(color_scale(field, uni(r, 0.6f, 1.3f)), 0.7f));
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
        if (chance(r, 0.4f)) // a sofa or a bed behind
            draw_rect(im, uni(r, -0.2f, 0.3f) * W, horizon, uni(r, 0.7f, 1.2f) * W, horizon + 0.3f * W,
                      jitter_color(r, rgb(120, 60, 60), 0.5f));
        break;
    }
    }
}

// ---- the animals. Coordinates are in units of the animal's size u around (cx, cy), facing right. ----

static Color bear_fur(Rng *r, Subject kind) {
    if (kind == BLACK) // mostly black, a quarter cinnamon: real black bears come in brown too
        return chance(r, 0.75f) ? jitter_color(r, rgb(38, 33, 30), 0.35f)
                                : jitter_color(r, rgb(125, 80, 48), 0.25f);
    // Grizzlies: from dark chocolate to pale blonde.
    return color_mix(rgb(70, 48, 32), rgb(175, 135, 90), rng_uniform(r));
}

static void paint_bear_side(Canvas *cv, Subject kind, float cx, float cy, float u) {
    Rng *r = cv->rng;
    bool grizzly = kind == GRIZZLY;
    Color fur = bear_fur(r, kind), far = color_scale(fur, 0.75f);
    float ground = cy + 0.42f * u, leg_w = (grizzly ? 0.14f : 0.115f) * u, stride = uni(r, -0.06f, 0.06f) * u;
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
    float hx = cx + 0.55f * u, hy = cy + (grizzly ? 0.03f : -0.1f) * u;
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
    fur_texture(cv, 2.0f, grizzly ? 0.25f : 0.18f, grizzly ? rgb(225, 205, 170) : fur, grizzly ? 0.6f : 0);
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

static void paint_bear_front(Canvas *cv, Subject kind, float cx, float cy, float u) {
    Rng *r = cv->rng;
    bool grizzly = kind == GRIZZLY;
    Color fur = bear_fur(r, kind), shade = color_scale(fur, 0.8f);
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
    fur_texture(cv, 2.0f, grizzly ? 0.25f : 0.18f, grizzly ? rgb(225, 205, 170) : fur, grizzly ? 0.6f : 0);
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
    Color fur = jitter_color(r, plush[rng_below(r, 8)], 0.1f);
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
    if (chance(r, 0.7f)) { // a bow at the neck
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

// One picture of `subject`, side x side pixels (painted at twice that and shrunk, which smooths edges).
static bool paint(Subject subject, int side, Rng *r, Image *out) {
    Canvas cv = {.W = 2.0f * side, .rng = r};
    if (!image_alloc(&cv.img, 2 * side, 2 * side) || !image_alloc(&cv.mask, 2 * side, 2 * side)) {
        image_free(&cv.img);
        return false;
    }
    float W = cv.W;
    Scene scene;
    float p = rng_uniform(r);
    if (subject == TEDDY)
        scene = p < 0.5f ? ROOM : p < 0.7f ? GRASS : p < 0.85f ? FOREST : SNOW;
    else if (subject == LANDSCAPE)
        scene = p < 0.4f ? FOREST : p < 0.8f ? GRASS : SNOW;
    else
        scene = p < 0.4f ? FOREST : p < 0.75f ? GRASS : p < 0.92f ? SNOW : ROOM;
    if (subject == DRAWING)
        paint_drawing(&cv);
    else
        paint_background(&cv, scene);

    if (subject == BLACK || subject == GRIZZLY) {
        if (chance(r, 0.65f)) {
            float u = uni(r, 0.45f, 0.7f) * W;
            paint_bear_side(&cv, subject, W * uni(r, 0.36f, 0.46f), W * uni(r, 0.42f, 0.58f), u);
        } else {
            float u = uni(r, 0.5f, 0.8f) * W;
            paint_bear_front(&cv, subject, W * uni(r, 0.42f, 0.58f), W * uni(r, 0.3f, 0.42f), u);
        }
    } else if (subject == TEDDY) {
        paint_teddy(&cv, W * uni(r, 0.4f, 0.6f), W * uni(r, 0.4f, 0.5f), uni(r, 0.6f, 1.0f) * W);
    }

    // Light: overall brightness, a warm or cool cast, and a gradient across the picture.
    float gain = uni(r, 0.65f, 1.25f), warm = uni(r, -0.08f, 0.08f), slope = uni(r, -0.25f, 0.25f);
    bool mirror = chance(r, 0.5f); // facing left or right
    for (int y = 0; y < cv.img.height; y++)
        for (int x = 0; x < cv.img.width; x++) {
            uint8_t *px = cv.img.rgb + ((size_t)y * cv.img.width + x) * 3;
            float k = gain * (1 + slope * ((float)x / W - 0.5f));
            float c[3] = {px[0] * k * (1 + warm), px[1] * k, px[2] * k * (1 - warm)};
            for (int ch = 0; ch < 3; ch++) px[ch] = (uint8_t)(c[ch] < 0 ? 0 : c[ch] > 255 ? 255 : c[ch]);
        }
    if (mirror)
        for (int y = 0; y < cv.img.height; y++)
            for (int x = 0; x < cv.img.width / 2; x++) {
                uint8_t *a = cv.img.rgb + ((size_t)y * cv.img.width + x) * 3;
                uint8_t *b = cv.img.rgb + ((size_t)y * cv.img.width + cv.img.width - 1 - x) * 3;
                for (int ch = 0; ch < 3; ch++) {
                    uint8_t t = a[ch];
                    a[ch] = b[ch], b[ch] = t;
                }
            }
    bool ok = image_resize(&cv.img, side, side, out);
    // Sensor noise, after shrinking so it stays at the pixel level.
    float sigma = uni(r, 1, 7);
    for (size_t i = 0; ok && i < (size_t)side * side * 3; i++) {
        float v = out->rgb[i] + sigma * rng_normal(r);
        out->rgb[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
    }
    image_free(&cv.img), image_free(&cv.mask);
    return ok;
}

// ---- the data set ----

typedef struct {
    int folder; // the class folder it is saved in
    int number; // file number inside the folder
    Subject subject;
    Problem problem;
    int unreadable_kind; // 0 truncated JPEG, 1 HTML saved as .jpg, 2 empty file
    bool png;
    char rel[64];
} Slot;

static const char *html_page =
    "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
    "<body><h1>Not Found</h1><p>The requested image was not found on this server.</p>"
    "</body></html>\n";

static bool write_slot(const char *dir, const Slot *s, int side, uint64_t seed, int index, char *err,
                       size_t err_size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, s->rel);
    if (s->problem == UNREADABLE && s->unreadable_kind > 0) {
        FILE *f = fopen(path, "wb");
        bool ok = f && (s->unreadable_kind == 2 || fputs(html_page, f) >= 0);
        if (f && fclose(f) != 0) ok = false;
        if (!ok) snprintf(err, err_size, "cannot write %s/%s", dir, s->rel);
        return ok;
    }
    Rng r;
    rng_seed(&r, seed, 1000 + (uint64_t)index); // the picture's own stream
    Image img;
    int size = chance(&r, 0.05f) ? side * 3 / 2 : side; // a few larger pictures, as downloads have
    if (!paint(s->subject, size, &r, &img)) {
        snprintf(err, err_size, "out of memory painting %s", s->rel);
        return false;
    }
    bool ok = s->png ? image_save_png(path, &img, err, err_size)
                     : image_save_jpeg(path, &img, 70 + (int)rng_below(&r, 26), err, err_size);
    image_free(&img);
    if (ok && s->problem == UNREADABLE) { // a download cut off half way
        struct stat st;
        ok = stat(path, &st) == 0 && truncate(path, st.st_size / 2) == 0;
        if (!ok) snprintf(err, err_size, "cannot truncate %s/%s", dir, s->rel);
    }
    return ok;
}

int cmd_synth(int argc, char **argv) {
    int per_class = 800, seed = 42, side = 128;
    Flag flags[] = {
        {"--per-class", FLAG_INT, &per_class, 4, 100000, false, NULL, "files in each class folder"},
        {"--seed", FLAG_INT, &seed, 0, 2147483647, false, NULL, "random seed (same seed, same pictures)"},
        {"--size", FLAG_INT, &side, 32, 1024, false, NULL,
         "side of the pictures in pixels (a few are 1.5x larger)"},
    };
    Cli cli = {"bears synth",
               "paint the default bear data set into DIR/black, DIR/grizzly, DIR/teddy",
               "download_images(): a few hundred pictures per class, some of them broken or wrong",
               "DIR",
               "bears synth data/bears --per-class 800",
               flags,
               sizeof flags / sizeof flags[0]};
    const char *dir = NULL;
    if (cli_parse(&cli, argc, argv, &dir, 1) != 1)
        cli_usage_error(&cli, "needs the folder to create, e.g. data/bears");

    // Never paint over somebody's files: DIR must be new, or hold nothing but empty class folders (a file
    // beside them, PLANTED.csv included, would be replaced; the manifest is also opened exclusively below).
    DataListing existing;
    char err[512];
    if (data_list(dir, &existing, err, sizeof err)) {
        bool used = existing.n_files > 0;
        data_listing_free(&existing);
        if (used) {
            fprintf(stderr, "bears synth: '%s' already holds pictures; give a new folder\n", dir);
            return 1;
        }
    }
    DIR *top = opendir(dir);
    for (struct dirent *e; top && (e = readdir(top));) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) continue;
        fprintf(stderr, "bears synth: '%s' already holds %s; give a new folder\n", dir, e->d_name);
        closedir(top);
        return 1;
    }
    if (top) closedir(top);
    for (int c = 0; c < 3; c++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, class_names[c]);
        if (!make_dirs(path)) {
            fprintf(stderr, "bears synth: cannot create the folder '%s'\n", path);
            return 1;
        }
    }

    // Plan every file first with one generator, so the plan does not depend on threads.
    int total = 3 * per_class;
    int n_unreadable = total / 150 > 3 ? total / 150 : 3, n_not_bear = total / 300 > 2 ? total / 300 : 2;
    int n_mislabeled = total / 100 > 1 ? total / 100 : 1;
    Rng plan;
    rng_seed(&plan, (uint64_t)seed, 0);
    Slot *slots = calloc(total, sizeof(Slot));
    int *order = malloc(sizeof(int) * total);
    for (int i = 0; i < total; i++) {
        slots[i] =
            (Slot){.folder = i / per_class, .number = i % per_class + 1, .subject = (Subject)(i / per_class)};
        slots[i].png = chance(&plan, 0.3f);
        order[i] = i;
    }
    rng_shuffle(&plan, order, total);
    for (int k = 0; k < n_unreadable + n_not_bear + n_mislabeled; k++) {
        Slot *s = &slots[order[k]];
        if (k < n_unreadable) {
            s->problem = UNREADABLE, s->unreadable_kind = k % 3;
            s->png = false; // the truncated file is a JPEG, the others are named .jpg
        } else if (k < n_unreadable + n_not_bear) {
            s->problem = NOT_BEAR, s->subject = chance(&plan, 0.5f) ? LANDSCAPE : DRAWING;
        } else {
            s->problem = MISLABELED, s->subject = (Subject)((s->folder + 1 + (int)rng_below(&plan, 2)) % 3);
        }
    }
    for (int i = 0; i < total; i++)
        snprintf(slots[i].rel, sizeof slots[i].rel, "%s/%04d.%s", class_names[slots[i].folder],
                 slots[i].number, slots[i].png ? "png" : "jpg");

    double t0 = omp_get_wtime();
    int failures = 0;
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : failures)
    for (int i = 0; i < total; i++) {
        char message[512];
        if (!write_slot(dir, &slots[i], side, (uint64_t)seed, i, message, sizeof message)) {
#pragma omp critical
            fprintf(stderr, "bears synth: %s\n", message);
            failures++;
        }
    }

    char manifest[4096];
    snprintf(manifest, sizeof manifest, "%s/PLANTED.csv", dir);
    FILE *f = fopen(manifest, "wx"); // "x": fails rather than replace a file that appeared meanwhile
    bool manifest_ok = f && fprintf(f, "path,problem,true_class\n") > 0;
    for (int i = 0; manifest_ok && i < total; i++)
        if (slots[i].problem != GOOD)
            manifest_ok =
                fprintf(f, "%s,%s,%s\n", slots[i].rel, problem_names[slots[i].problem],
                        slots[i].problem == MISLABELED ? class_names[slots[i].subject] : "none") > 0;
    if (f && fclose(f) != 0) manifest_ok = false;
    if (!manifest_ok) {
        fprintf(stderr, "bears synth: cannot write %s: %s\n", manifest, strerror(errno));
        failures++;
    }
    int n_png = 0;
    for (int i = 0; i < total; i++) n_png += slots[i].png;
    printf("synth: %d files in %s/{black,grizzly,teddy} (%d per class; %d PNG, %d JPEG) in %.1f s\n", total,
           dir, per_class, n_png, total - n_png, omp_get_wtime() - t0);
    printf("synth: planted %d unreadable files, %d pictures that are not bears and %d mislabeled ones; "
           "they are listed in %s\n",
           n_unreadable, n_not_bear, n_mislabeled, manifest);
    free(slots), free(order);
    if (failures) fprintf(stderr, "bears synth: %d files could not be written\n", failures);
    return failures ? 1 : 0;
}
