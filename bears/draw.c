// draw.c — shapes are tested pixel by pixel inside their bounding box: slow in theory, but the pictures
// are 256 pixels a side and the code stays obvious.
#include "draw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float clamp255(float v) {
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

Color color_scale(Color c, float k) {
    return (Color){clamp255(c.r * k), clamp255(c.g * k), clamp255(c.b * k), c.a};
}

Color color_mix(Color c0, Color c1, float a) {
    return (Color){c0.r + a * (c1.r - c0.r), c0.g + a * (c1.g - c0.g), c0.b + a * (c1.b - c0.b),
                   c0.a + a * (c1.a - c0.a)};
}

void draw_pixel(Image *img, int x, int y, Color c) {
    if (x < 0 || y < 0 || x >= img->width || y >= img->height) return;
    uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
    float a = c.a < 0 ? 0 : c.a > 1 ? 1 : c.a;
    p[0] = (uint8_t)(clamp255(p[0] + a * (c.r - p[0])) + 0.5f);
    p[1] = (uint8_t)(clamp255(p[1] + a * (c.g - p[1])) + 0.5f);
    p[2] = (uint8_t)(clamp255(p[2] + a * (c.b - p[2])) + 0.5f);
}

void draw_fill(Image *img, Color c) {
    draw_rect(img, 0, 0, (float)img->width, (float)img->height, c);
}

void draw_vertical_gradient(Image *img, float y0, float y1, Color top, Color bottom) {
    for (int y = (int)floorf(y0); y < (int)ceilf(y1); y++) {
        Color c = color_mix(top, bottom, y1 > y0 ? (y + 0.5f - y0) / (y1 - y0) : 0);
        for (int x = 0; x < img->width; x++) draw_pixel(img, x, y, c);
    }
}

// The pixels whose centres may fall inside [x0, x1) x [y0, y1), clipped to the image.
typedef struct {
    int x0, y0, x1, y1;
} Box;

static Box clip_box(const Image *img, float x0, float y0, float x1, float y1) {
    Box b = {(int)floorf(x0), (int)floorf(y0), (int)ceilf(x1), (int)ceilf(y1)};
    if (b.x0 < 0) b.x0 = 0;
    if (b.y0 < 0) b.y0 = 0;
    if (b.x1 > img->width) b.x1 = img->width;
    if (b.y1 > img->height) b.y1 = img->height;
    return b;
}

void draw_rect(Image *img, float x0, float y0, float x1, float y1, Color c) {
    Box b = clip_box(img, x0, y0, x1, y1);
    for (int y = b.y0; y < b.y1; y++)
        for (int x = b.x0; x < b.x1; x++)
            if (x + 0.5f >= x0 && x + 0.5f < x1 && y + 0.5f >= y0 && y + 0.5f < y1) draw_pixel(img, x, y, c);
}

void draw_ellipse(Image *img, float cx, float cy, float rx, float ry, float angle, Color c) {
    if (rx <= 0 || ry <= 0) return;
    float r = rx > ry ? rx : ry, cs = cosf(angle), sn = sinf(angle);
    Box b = clip_box(img, cx - r, cy - r, cx + r, cy + r);
    for (int y = b.y0; y < b.y1; y++)
        for (int x = b.x0; x < b.x1; x++) {
            float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
            float u = (dx * cs + dy * sn) / rx, v = (-dx * sn + dy * cs) / ry; // into the ellipse's own axes
            if (u * u + v * v <= 1) draw_pixel(img, x, y, c);
        }
}

void draw_polygon(Image *img, const float *xy, int n, Color c) {
    if (n < 3) return;
    float x0 = xy[0], x1 = xy[0], y0 = xy[1], y1 = xy[1];
    for (int k = 1; k < n; k++) {
        x0 = fminf(x0, xy[2 * k]), x1 = fmaxf(x1, xy[2 * k]);
        y0 = fminf(y0, xy[2 * k + 1]), y1 = fmaxf(y1, xy[2 * k + 1]);
    }
    Box b = clip_box(img, x0, y0, x1, y1);
    for (int y = b.y0; y < b.y1; y++)
        for (int x = b.x0; x < b.x1; x++) {
            // Count edge crossings of a ray to the right: odd means inside.
            float px = x + 0.5f, py = y + 0.5f;
            bool inside = false;
            for (int i = 0, j = n - 1; i < n; j = i++) {
                float xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
                if ((yi > py) != (yj > py) && px < xi + (py - yi) * (xj - xi) / (yj - yi)) inside = !inside;
            }
            if (inside) draw_pixel(img, x, y, c);
        }
}

void draw_line(Image *img, float x0, float y0, float x1, float y1, float width, Color c) {
    float h = width / 2, dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    Box b = clip_box(img, fminf(x0, x1) - h, fminf(y0, y1) - h, fmaxf(x0, x1) + h, fmaxf(y0, y1) + h);
    for (int y = b.y0; y < b.y1; y++)
        for (int x = b.x0; x < b.x1; x++) {
            float px = x + 0.5f - x0, py = y + 0.5f - y0;
            float t = len2 > 0 ? (px * dx + py * dy) / len2 : 0; // nearest point of the segment
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            float ex = px - t * dx, ey = py - t * dy;
            if (ex * ex + ey * ey <= h * h) draw_pixel(img, x, y, c);
        }
}

// ---- text: one byte per glyph row, the low 5 bits are the pixels, most significant bit on the left ----
static const char glyph_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/:%()?,=+># ";
static const uint8_t glyph_rows[][DRAW_GLYPH_H] = {
    {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}, // A B
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}, // C D
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}, // E F
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, // G H
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}, // I J
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}, // K L
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, // M N
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}, // O P
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}, // Q R
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, // S T
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}, // U V
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}, // W X
    {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}, // Y Z
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}, // 0 1
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}, // 2 3
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}, // 4 5
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, // 6 7
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}, // 8 9
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}, {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}, // . -
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}, {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}, // _ /
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}, {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, // : %
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, // ( )
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}, {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}, // ? ,
    {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}, {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}, // = +
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}, {0x0A, 0x1F, 0x0A, 0x0A, 0x1F, 0x0A, 0x00}, // > #
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},                                             // space
};

static const uint8_t *glyph(char ch) {
    if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
    const char *at = ch ? strchr(glyph_chars, ch) : NULL;
    return glyph_rows[at ? at - glyph_chars : strchr(glyph_chars, '?') - glyph_chars];
}

int draw_text_width(const char *text, int scale) {
    int n = (int)strlen(text);
    return n ? (n * (DRAW_GLYPH_W + 1) - 1) * scale : 0;
}

void draw_text(Image *img, int x, int y, int scale, const char *text, Color c) {
    for (; *text; text++, x += (DRAW_GLYPH_W + 1) * scale) {
        const uint8_t *rows = glyph(*text);
        for (int gy = 0; gy < DRAW_GLYPH_H; gy++)
            for (int gx = 0; gx < DRAW_GLYPH_W; gx++)
                if (rows[gy] & (0x10 >> gx))
                    draw_rect(img, (float)(x + gx * scale), (float)(y + gy * scale),
                              (float)(x + (gx + 1) * scale), (float)(y + (gy + 1) * scale), c);
    }
}

bool draw_contact_sheet(const Image *pictures, const char *const *captions, int n, int cols, int tile,
                        Image *out) {
    enum { PAD = 6, SCALE = 2 };
    const int caption_h = DRAW_GLYPH_H * SCALE + 2 * PAD;
    if (n <= 0 || cols <= 0 || tile <= 0) return false;
    int rows = (n + cols - 1) / cols;
    if (!image_alloc(out, PAD + cols * (tile + PAD), PAD + rows * (tile + caption_h))) return false;
    draw_fill(out, rgb(255, 255, 255));
    for (int i = 0; i < n; i++) {
        int x = PAD + (i % cols) * (tile + PAD), y = PAD + (i / cols) * (tile + caption_h);
        // The whole picture, its shape kept (an oblong one centred on white), so that a learner sees
        // what is in the file rather than a squashed version of it.
        const Image *p = &pictures[i];
        Image fitted;
        if (p->rgb && p->width > 0 && p->height > 0) {
            int w = p->width >= p->height ? tile : (int)((long long)tile * p->width / p->height);
            int h = p->width >= p->height ? (int)((long long)tile * p->height / p->width) : tile;
            w = w < 1 ? 1 : w, h = h < 1 ? 1 : h;
            if (image_resize(p, w, h, &fitted)) {
                int x0 = x + (tile - w) / 2, y0 = y + (tile - h) / 2;
                for (int r = 0; r < h; r++)
                    memcpy(out->rgb + ((size_t)(y0 + r) * out->width + x0) * 3,
                           fitted.rgb + (size_t)r * w * 3, (size_t)w * 3);
                image_free(&fitted);
            }
        }
        if (!captions || !captions[i]) continue;
        // Shorten a caption that would spill into the next tile.
        char text[64];
        snprintf(text, sizeof text, "%s", captions[i]);
        while (text[0] && draw_text_width(text, SCALE) > tile) text[strlen(text) - 1] = '\0';
        draw_text(out, x + (tile - draw_text_width(text, SCALE)) / 2, y + tile + PAD, SCALE, text,
                  rgb(20, 20, 20));
    }
    return true;
}
