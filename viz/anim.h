// anim.h — a small SDL2 window for animations: points, lines and text in data coordinates.
//
// The lesson turns its line fit into an animation: one update per frame, 20 ms apart. This module
// is the drawing half of that, and knows nothing about training:
//     Anim *a = anim_open(&(AnimConfig){"fit", 800, 600, 50, NULL}, err, sizeof err);
//     anim_set_view(a, (AnimView){60, 60, 680, 480, -1, 1, -2, 6});   // pixel box <- data box
//     anim_clear(a, white); anim_point(a, x, y, 3, blue); anim_text(a, 10, 10, ANIM_TEXT_NORMAL, ...);
//     anim_present(a);                                                 // show, capture, keep the pace
// With frames_dir set it runs headless (SDL's offscreen driver, software renderer) and writes
// frames_dir/frame-0000.png, frame-0001.png, ... one per anim_present, as fast as it can. With
// SDL_VIDEODRIVER=offscreen in the environment it runs headless too, writing nothing (scripted tests).
#ifndef SGDLAB_ANIM_H
#define SGDLAB_ANIM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct Anim Anim;

typedef struct {
    unsigned char r, g, b;
} AnimColor;

typedef struct {
    const char *title;
    int width, height;      // window / frame size in pixels
    int fps;                // pace of a window; captured frames are never delayed
    const char *frames_dir; // non-NULL: headless, one PNG per frame in this (existing or new) folder
} AnimConfig;

// A pixel rectangle (x, y from the top left; w, h) showing the data box [x_min, x_max] x [y_min, y_max].
typedef struct {
    int x, y, w, h;
    float x_min, x_max, y_min, y_max;
} AnimView;

typedef enum { ANIM_TEXT_NORMAL, ANIM_TEXT_LARGE } AnimTextSize;

// Keys a lab can react to. Letters and digits come back as their character ('q', 'r', '1', ...).
enum {
    ANIM_KEY_NONE = 0,
    ANIM_KEY_CLOSE = 256, // the window's close button (or Ctrl-C)
    ANIM_KEY_ESCAPE,
    ANIM_KEY_UP,
    ANIM_KEY_DOWN,
    ANIM_KEY_LEFT,
    ANIM_KEY_RIGHT,
    ANIM_KEY_SPACE,
    ANIM_KEY_ENTER,
    ANIM_KEY_CLICK, // the left mouse button; anim_last_click says where
};

// Open a window (or a headless canvas when cfg->frames_dir is set). On failure returns NULL and
// writes a sentence into err, e.g. when there is no display to open a window on.
Anim *anim_open(const AnimConfig *cfg, char *err, size_t err_size);
void anim_close(Anim *a);
bool anim_is_headless(const Anim *a);
// Frames captured so far (headless): frame-0000.png ... frame-(n-1).png.
int anim_frames_written(const Anim *a);

void anim_clear(Anim *a, AnimColor c);
// Where data is drawn from now on; drawing is clipped to the view's pixel rectangle.
void anim_set_view(Anim *a, AnimView v);
// Where the data point (x, y) lands in pixels, for placing labels next to it.
void anim_to_pixel(const Anim *a, float x, float y, int *px, int *py);
// The view's outline and a light grid line at x = 0 and y = 0 when they are inside it.
void anim_axes(Anim *a, AnimColor frame, AnimColor grid);

// Data coordinates. Non-finite values are skipped, so a diverged run draws what it still can.
void anim_point(Anim *a, float x, float y, float radius_px, AnimColor c);
void anim_line(Anim *a, float x0, float y0, float x1, float y1, float width_px, AnimColor c);
void anim_polyline(Anim *a, const float *x, const float *y, int n, float width_px, AnimColor c);

// Pixel coordinates (top left origin), not clipped to the view: boxes, buttons and pictures.
void anim_rect(Anim *a, int x, int y, int w, int h, AnimColor c, bool filled);
// An RGB8 picture (width x height, rows of width*3 bytes) scaled into the box (x, y, w, h).
void anim_image(Anim *a, int x, int y, int w, int h, const unsigned char *rgb, int width, int height);
// How wide text would be drawn, in pixels (0 without the font), to shorten what does not fit.
int anim_text_width(Anim *a, AnimTextSize size, const char *text);

// Text at a pixel position (top left), printf-style. Without the font nothing is drawn.
void anim_text(Anim *a, int px, int py, AnimTextSize size, AnimColor c, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

// Finish a frame: write it when headless, show it in a window, then wait for the next frame time.
// Returns false when a frame file could not be written (the reason is printed).
bool anim_present(Anim *a);
// Write what has been drawn of this frame to a PNG (a screenshot); call it before anim_present.
bool anim_save_frame(Anim *a, const char *path);
// The next key pressed since the last call, or ANIM_KEY_NONE; *shift tells whether Shift was held.
int anim_poll_key(Anim *a, bool *shift);
// The pixel position of the last ANIM_KEY_CLICK.
void anim_last_click(const Anim *a, int *x, int *y);

#endif
