// draw.h — a tiny painter on viz Images: filled shapes with alpha, thick lines, 5x7 pixel text, and a
// labelled contact sheet.
//
// `bears synth` paints its bears with these shapes; `bears show` (and later the top-losses grid and the
// cleaner's contact sheet) writes class names under pictures with draw_text. Shapes have hard edges:
// synth paints at twice the final size and shrinks the picture, which smooths every edge at once.
#ifndef SGDLAB_BEARS_DRAW_H
#define SGDLAB_BEARS_DRAW_H

#include <stdbool.h>

#include "image.h"

// A colour in 0..255 per channel and an opacity a in 0..1 (1 covers, 0.3 tints).
typedef struct {
    float r, g, b, a;
} Color;

static inline Color rgb(float r, float g, float b) {
    return (Color){r, g, b, 1};
}
static inline Color with_alpha(Color c, float a) {
    return (Color){c.r, c.g, c.b, a};
}
// c scaled by k (k < 1 darker, k > 1 lighter), clamped.
Color color_scale(Color c, float k);
// The colour a of the way from c0 to c1.
Color color_mix(Color c0, Color c1, float a);

// Blend c over one pixel (the only function that writes pixels; everything else calls it).
void draw_pixel(Image *img, int x, int y, Color c);
void draw_fill(Image *img, Color c);
// Top colour to bottom colour over the rows y0..y1 (sky, ground, walls).
void draw_vertical_gradient(Image *img, float y0, float y1, Color top, Color bottom);
void draw_rect(Image *img, float x0, float y0, float x1, float y1, Color c);
// An ellipse centred at (cx, cy) with radii rx, ry, turned by angle radians.
void draw_ellipse(Image *img, float cx, float cy, float rx, float ry, float angle, Color c);
// A polygon of n points xy[2k], xy[2k+1] (even-odd rule, so it may be concave).
void draw_polygon(Image *img, const float *xy, int n, Color c);
// A line with round ends, `width` pixels thick.
void draw_line(Image *img, float x0, float y0, float x1, float y1, float width, Color c);

// 5x7 pixel capitals, digits and a little punctuation, each pixel drawn as a scale x scale block.
// Lower case is drawn as upper case; characters without a glyph show as '?'.
void draw_text(Image *img, int x, int y, int scale, const char *text, Color c);
int draw_text_width(const char *text, int scale);
enum { DRAW_GLYPH_W = 5, DRAW_GLYPH_H = 7 };

// A contact sheet: n pictures shown tile x tile pixels in `cols` columns, each with its caption
// underneath (NULL captions allowed). Pictures are shrunk or enlarged to fit. Writes a new image into out.
bool draw_contact_sheet(const Image *pictures, const char *const *captions, int n, int cols, int tile,
                        Image *out);

#endif
