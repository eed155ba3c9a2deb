// anim.c — the SDL2 window behind the animated labs: data->pixel mapping, shapes, text, keys,
// a steady frame rate, and PNG frame capture through libpng.
#include "anim.h"
#include "files.h"

#include <SDL.h>
#include <SDL_ttf.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ANIM_FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

struct Anim {
    SDL_Window *window;
    SDL_Renderer *renderer;
    TTF_Font *font[2]; // ANIM_TEXT_NORMAL, ANIM_TEXT_LARGE; NULL when the font is missing
    int width, height;
    AnimView view;
    const char *frames_dir;
    bool headless; // an offscreen canvas: frames_dir, or SDL_VIDEODRIVER=offscreen asked for by hand
    int frame_index;
    int click_x, click_y;  // where the last ANIM_KEY_CLICK happened
    unsigned char *pixels; // one captured frame, RGB
    Uint64 frame_ms, next_frame_at;
};

static bool font_warned;

// Frames numbered from `first` on that an earlier, longer run left in the folder.
static int count_frames_from(const char *dir, int first) {
    char path[1024];
    struct stat st;
    int n = 0;
    for (int i = first; i < 100000; i++, n++) {
        snprintf(path, sizeof path, "%s/frame-%04d.png", dir, i);
        if (stat(path, &st) != 0) break;
    }
    return n;
}

Anim *anim_open(const AnimConfig *cfg, char *err, size_t err_size) {
    // Headless: SDL's offscreen video driver needs no display, and the software renderer needs no GPU.
    // A scripted run (a test) may ask for it with SDL_VIDEODRIVER=offscreen without writing frames.
    const char *asked = getenv("SDL_VIDEODRIVER");
    bool headless = cfg->frames_dir || (asked && strcmp(asked, "offscreen") == 0);
    if (headless) // pixels only: keep SDL from loading OpenGL/EGL for a window nobody will ever see
        SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    if (cfg->frames_dir) {
        SDL_setenv("SDL_VIDEODRIVER", "offscreen", 1);
        if (!make_dirs(cfg->frames_dir)) {
            if (errno == ENOTDIR)
                snprintf(err, err_size, "'%s' is a file, not a folder, so no frames can go in it",
                         cfg->frames_dir);
            else
                snprintf(err, err_size, "cannot create the frames folder '%s': %s", cfg->frames_dir,
                         strerror(errno));
            return NULL;
        }
    }
    // A window needs a display. Without one SDL quietly falls back to its offscreen driver, where a
    // window would run unseen forever, so say so instead (SDL_VIDEODRIVER picks e.g. kmsdrm by hand).
    else if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY") && !asked) {
        snprintf(err, err_size, "there is no display to open a window on (DISPLAY is not set)");
        return NULL;
    }
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        snprintf(err, err_size, "cannot start SDL video (%s)", SDL_GetError());
        return NULL;
    }
    const char *driver = SDL_GetCurrentVideoDriver();
    if (!headless && driver && (SDL_strcmp(driver, "offscreen") == 0 || SDL_strcmp(driver, "dummy") == 0)) {
        snprintf(err, err_size, "there is no display to open a window on (SDL found only its '%s' driver)",
                 driver);
        SDL_Quit();
        return NULL;
    }
    Anim *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, err_size, "out of memory");
        SDL_Quit();
        return NULL;
    }
    a->width = cfg->width, a->height = cfg->height, a->frames_dir = cfg->frames_dir, a->headless = headless;
    Uint32 window_flags = headless ? SDL_WINDOW_HIDDEN : SDL_WINDOW_SHOWN;
    a->window = SDL_CreateWindow(cfg->title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, cfg->width,
                                 cfg->height, window_flags);
    if (a->window) a->renderer = SDL_CreateRenderer(a->window, -1, headless ? SDL_RENDERER_SOFTWARE : 0);
    if (!a->window || !a->renderer) {
        snprintf(err, err_size, "cannot open a window (%s)", SDL_GetError());
        anim_close(a);
        return NULL;
    }
    if (!(a->pixels = malloc((size_t)a->width * a->height * 3))) {
        snprintf(err, err_size, "out of memory");
        anim_close(a);
        return NULL;
    }
    // Text is a help, not a requirement: without the font the animation still runs.
    if (TTF_Init() == 0) {
        a->font[ANIM_TEXT_NORMAL] = TTF_OpenFont(ANIM_FONT_PATH, 15);
        a->font[ANIM_TEXT_LARGE] = TTF_OpenFont(ANIM_FONT_PATH, 24);
    }
    if ((!a->font[0] || !a->font[1]) && !font_warned) {
        font_warned = true;
        fprintf(
            stderr,
            "warning: cannot load the font %s (apt-get install fonts-dejavu-core); drawing without text\n",
            ANIM_FONT_PATH);
    }
    a->frame_ms = cfg->fps > 0 ? (Uint64)(1000 / cfg->fps) : 0;
    a->next_frame_at = SDL_GetTicks64() + a->frame_ms;
    a->view = (AnimView){0, 0, a->width, a->height, 0, 1, 0, 1};
    return a;
}

void anim_close(Anim *a) {
    if (!a) return;
    // Never deleted (they may be someone's), but never passed off as this run's either.
    int stale = a->frames_dir && a->frame_index > 0 ? count_frames_from(a->frames_dir, a->frame_index) : 0;
    if (stale)
        fprintf(stderr,
                "note: %s also holds %d older frame%s (frame-%04d.png on) from an earlier, longer run; they "
                "are not from this one\n",
                a->frames_dir, stale, stale == 1 ? "" : "s", a->frame_index);
    for (int i = 0; i < 2; i++)
        if (a->font[i]) TTF_CloseFont(a->font[i]);
    if (TTF_WasInit()) TTF_Quit();
    if (a->renderer) SDL_DestroyRenderer(a->renderer);
    if (a->window) SDL_DestroyWindow(a->window);
    free(a->pixels);
    free(a);
    SDL_Quit();
}

bool anim_is_headless(const Anim *a) {
    return a->headless;
}

int anim_frames_written(const Anim *a) {
    return a->frame_index;
}

static void set_color(Anim *a, AnimColor c) {
    SDL_SetRenderDrawColor(a->renderer, c.r, c.g, c.b, 255);
}

void anim_clear(Anim *a, AnimColor c) {
    SDL_RenderSetClipRect(a->renderer, NULL);
    set_color(a, c);
    SDL_RenderClear(a->renderer);
}

void anim_set_view(Anim *a, AnimView v) {
    a->view = v;
}

static void clip_to_view(Anim *a) {
    SDL_Rect r = {a->view.x, a->view.y, a->view.w, a->view.h};
    SDL_RenderSetClipRect(a->renderer, &r);
}

static float to_px(const AnimView *v, float x) {
    return v->x + (x - v->x_min) / (v->x_max - v->x_min) * v->w;
}
static float to_py(const AnimView *v, float y) {
    return v->y + v->h - (y - v->y_min) / (v->y_max - v->y_min) * v->h;
}

void anim_to_pixel(const Anim *a, float x, float y, int *px, int *py) {
    *px = (int)lroundf(to_px(&a->view, x));
    *py = (int)lroundf(to_py(&a->view, y));
}

void anim_axes(Anim *a, AnimColor frame, AnimColor grid) {
    const AnimView *v = &a->view;
    SDL_RenderSetClipRect(a->renderer, NULL);
    set_color(a, grid);
    if (v->x_min < 0 && v->x_max > 0) {
        int px = (int)to_px(v, 0);
        SDL_RenderDrawLine(a->renderer, px, v->y, px, v->y + v->h - 1);
    }
    if (v->y_min < 0 && v->y_max > 0) {
        int py = (int)to_py(v, 0);
        SDL_RenderDrawLine(a->renderer, v->x, py, v->x + v->w - 1, py);
    }
    set_color(a, frame);
    SDL_RenderDrawRect(a->renderer, &(SDL_Rect){v->x, v->y, v->w, v->h});
}

void anim_point(Anim *a, float x, float y, float radius_px, AnimColor c) {
    if (!isfinite(x) || !isfinite(y)) return;
    const AnimView *v = &a->view;
    float cx = to_px(v, x), cy = to_py(v, y);
    if (cx < v->x - radius_px || cx > v->x + v->w + radius_px || cy < v->y - radius_px ||
        cy > v->y + v->h + radius_px)
        return;
    // A filled circle as a fan of triangles around the centre.
    enum { SEGMENTS = 24 };
    SDL_Vertex vert[SEGMENTS + 1];
    int index[SEGMENTS * 3];
    SDL_Color col = {c.r, c.g, c.b, 255};
    vert[0] = (SDL_Vertex){{cx, cy}, col, {0, 0}};
    for (int i = 0; i < SEGMENTS; i++) {
        float t = 2.0f * (float)M_PI * (float)i / SEGMENTS;
        vert[i + 1] = (SDL_Vertex){{cx + radius_px * cosf(t), cy + radius_px * sinf(t)}, col, {0, 0}};
        index[3 * i] = 0, index[3 * i + 1] = i + 1, index[3 * i + 2] = (i + 1) % SEGMENTS + 1;
    }
    clip_to_view(a);
    SDL_RenderGeometry(a->renderer, NULL, vert, SEGMENTS + 1, index, SEGMENTS * 3);
}

// Liang-Barsky: cut the segment to the data box so that a line flying off to 1e30 after a divergence
// never turns into pixel coordinates the renderer cannot hold. False when nothing is left.
static bool clip_segment(const AnimView *v, float *x0, float *y0, float *x1, float *y1) {
    double t0 = 0, t1 = 1, dx = (double)*x1 - *x0, dy = (double)*y1 - *y0;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {(double)*x0 - v->x_min, (double)v->x_max - *x0, (double)*y0 - v->y_min,
                   (double)v->y_max - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0) return false;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0 && t > t0) t0 = t;
        if (p[i] > 0 && t < t1) t1 = t;
    }
    if (t0 > t1) return false;
    float ax = (float)(*x0 + t0 * dx), ay = (float)(*y0 + t0 * dy);
    *x1 = (float)(*x0 + t1 * dx), *y1 = (float)(*y0 + t1 * dy);
    *x0 = ax, *y0 = ay;
    return true;
}

void anim_line(Anim *a, float x0, float y0, float x1, float y1, float width_px, AnimColor c) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    if (!clip_segment(&a->view, &x0, &y0, &x1, &y1)) return;
    float px0 = to_px(&a->view, x0), py0 = to_py(&a->view, y0);
    float px1 = to_px(&a->view, x1), py1 = to_py(&a->view, y1);
    // A thick line is a thin rectangle: offset both ends by half the width across the line.
    float dx = px1 - px0, dy = py1 - py0, len = sqrtf(dx * dx + dy * dy);
    float half = width_px > 1 ? width_px / 2 : 0.5f;
    float nx = len > 0 ? -dy / len * half : 0, ny = len > 0 ? dx / len * half : half;
    SDL_Color col = {c.r, c.g, c.b, 255};
    SDL_Vertex vert[4] = {{{px0 + nx, py0 + ny}, col, {0, 0}},
                          {{px0 - nx, py0 - ny}, col, {0, 0}},
                          {{px1 - nx, py1 - ny}, col, {0, 0}},
                          {{px1 + nx, py1 + ny}, col, {0, 0}}};
    int index[6] = {0, 1, 2, 0, 2, 3};
    clip_to_view(a);
    SDL_RenderGeometry(a->renderer, NULL, vert, 4, index, 6);
}

void anim_polyline(Anim *a, const float *x, const float *y, int n, float width_px, AnimColor c) {
    for (int i = 0; i + 1 < n; i++) anim_line(a, x[i], y[i], x[i + 1], y[i + 1], width_px, c);
}

void anim_text(Anim *a, int px, int py, AnimTextSize size, AnimColor c, const char *fmt, ...) {
    TTF_Font *font = a->font[size];
    if (!font) return;
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!text[0]) return;
    SDL_Surface *surface = TTF_RenderUTF8_Blended(font, text, (SDL_Color){c.r, c.g, c.b, 255});
    if (!surface) return;
    SDL_Texture *texture = SDL_CreateTextureFromSurface(a->renderer, surface);
    if (texture) {
        SDL_RenderSetClipRect(a->renderer, NULL);
        SDL_RenderCopy(a->renderer, texture, NULL, &(SDL_Rect){px, py, surface->w, surface->h});
        SDL_DestroyTexture(texture);
    }
    SDL_FreeSurface(surface);
}

void anim_rect(Anim *a, int x, int y, int w, int h, AnimColor c, bool filled) {
    SDL_RenderSetClipRect(a->renderer, NULL);
    set_color(a, c);
    SDL_Rect r = {x, y, w, h};
    if (filled)
        SDL_RenderFillRect(a->renderer, &r);
    else
        SDL_RenderDrawRect(a->renderer, &r);
}

void anim_image(Anim *a, int x, int y, int w, int h, const unsigned char *rgb, int width, int height) {
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear"); // smooth when a picture is scaled to its box
    SDL_Texture *t =
        SDL_CreateTexture(a->renderer, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STATIC, width, height);
    if (!t) return;
    if (SDL_UpdateTexture(t, NULL, rgb, width * 3) == 0) {
        SDL_RenderSetClipRect(a->renderer, NULL);
        SDL_RenderCopy(a->renderer, t, NULL, &(SDL_Rect){x, y, w, h});
    }
    SDL_DestroyTexture(t);
}

int anim_text_width(Anim *a, AnimTextSize size, const char *text) {
    int w = 0, h = 0;
    if (!a->font[size] || !text[0] || TTF_SizeUTF8(a->font[size], text, &w, &h) != 0) return 0;
    return w;
}

// One RGB frame to a PNG file with libpng; false (and a message) on any error.
static bool write_png(const char *path, const unsigned char *rgb, int width, int height) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "error: libpng could not write %s\n", path);
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int row = 0; row < height; row++) png_write_row(png, rgb + (size_t)row * width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        fprintf(stderr, "error: cannot finish %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

bool anim_save_frame(Anim *a, const char *path) {
    SDL_RenderSetClipRect(a->renderer, NULL);
    if (SDL_RenderReadPixels(a->renderer, NULL, SDL_PIXELFORMAT_RGB24, a->pixels, a->width * 3) != 0) {
        fprintf(stderr, "error: cannot read the frame back (%s)\n", SDL_GetError());
        return false;
    }
    return write_png(path, a->pixels, a->width, a->height);
}

bool anim_present(Anim *a) {
    bool ok = true;
    if (a->frames_dir) {
        // Read the frame back before presenting: after SDL_RenderPresent the back buffer is undefined.
        char path[1024];
        snprintf(path, sizeof path, "%s/frame-%04d.png", a->frames_dir, a->frame_index);
        ok = anim_save_frame(a, path);
        if (ok) a->frame_index++; // counts only frames on disk (see anim_frames_written)
    }
    SDL_RenderPresent(a->renderer);
    if (!a->headless && a->frame_ms) {
        // Keep a steady pace: aim at fixed frame times instead of sleeping a fixed amount after each
        // frame, so the time spent drawing does not slow the animation down. Far behind: start afresh.
        Uint64 now = SDL_GetTicks64();
        if (now < a->next_frame_at)
            SDL_Delay((Uint32)(a->next_frame_at - now));
        else if (now > a->next_frame_at + 4 * a->frame_ms)
            a->next_frame_at = now;
        a->next_frame_at += a->frame_ms;
    }
    return ok;
}

int anim_poll_key(Anim *a, bool *shift) {
    SDL_Event e;
    while (SDL_PollEvent(&e)) {
        if (e.type == SDL_QUIT) return ANIM_KEY_CLOSE;
        if (e.type == SDL_MOUSEBUTTONDOWN && e.button.button == SDL_BUTTON_LEFT) {
            a->click_x = e.button.x, a->click_y = e.button.y;
            return ANIM_KEY_CLICK;
        }
        if (e.type != SDL_KEYDOWN) continue;
        if (shift) *shift = (e.key.keysym.mod & KMOD_SHIFT) != 0;
        SDL_Keycode k = e.key.keysym.sym;
        switch (k) {
        case SDLK_ESCAPE:
            return ANIM_KEY_ESCAPE;
        case SDLK_UP:
            return ANIM_KEY_UP;
        case SDLK_DOWN:
            return ANIM_KEY_DOWN;
        case SDLK_LEFT:
            return ANIM_KEY_LEFT;
        case SDLK_RIGHT:
            return ANIM_KEY_RIGHT;
        case SDLK_SPACE:
            return ANIM_KEY_SPACE;
        case SDLK_RETURN:
        case SDLK_KP_ENTER:
            return ANIM_KEY_ENTER;
        default:
            // SDL's letter and digit keycodes are their characters
            if ((k >= SDLK_a && k <= SDLK_z) || (k >= SDLK_0 && k <= SDLK_9)) return (int)k;
        }
    }
    return ANIM_KEY_NONE;
}

void anim_last_click(const Anim *a, int *x, int *y) {
    *x = a->click_x, *y = a->click_y;
}
