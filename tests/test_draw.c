// test_draw.c — the contact sheet (bears show, interpret's top losses) keeps each picture's shape: an
// oblong picture is scaled to fit its tile and centred on white, never stretched into a square.
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "draw.h"

// A red picture w x h; the sheet is white, so the red pixels of its tile are the picture.
static void red_extent(int w, int h, int tile, int *red_w, int *red_h) {
    Image pic, sheet;
    CHECK(image_alloc(&pic, w, h), "alloc %dx%d", w, h);
    for (size_t i = 0; i < (size_t)w * h; i++)
        pic.rgb[3 * i] = 255, pic.rgb[3 * i + 1] = pic.rgb[3 * i + 2] = 0;
    CHECK(draw_contact_sheet(&pic, NULL, 1, 1, tile, &sheet), "sheet of one %dx%d picture", w, h);
    int x0 = sheet.width, x1 = -1, y0 = sheet.height, y1 = -1;
    for (int y = 0; y < sheet.height; y++)
        for (int x = 0; x < sheet.width; x++) {
            const unsigned char *p = sheet.rgb + ((size_t)y * sheet.width + x) * 3;
            if (p[0] > 200 && p[1] < 60 && p[2] < 60) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
        }
    *red_w = x1 - x0 + 1, *red_h = y1 - y0 + 1;
    // centred: as much white on either side (within a pixel) inside the tile
    int pad = 6; // draw.c's PAD: the tile starts there
    CHECK(abs((x0 - pad) - (pad + tile - 1 - x1)) <= 1 && abs((y0 - pad) - (pad + tile - 1 - y1)) <= 1,
          "%dx%d in a %d tile: red spans x %d..%d, y %d..%d, not centred", w, h, tile, x0, x1, y0, y1);
    image_free(&pic), image_free(&sheet);
}

int main(void) {
    int w, h;
    red_extent(200, 100, 64, &w, &h); // landscape 2:1
    CHECK(w == 64 && h == 32, "200x100 in a 64 tile is %dx%d, want 64x32", w, h);
    red_extent(90, 300, 60, &w, &h); // portrait 3:10
    CHECK(w == 18 && h == 60, "90x300 in a 60 tile is %dx%d, want 18x60", w, h);
    red_extent(50, 50, 64, &w, &h); // square, upscaled
    CHECK(w == 64 && h == 64, "50x50 in a 64 tile is %dx%d, want 64x64", w, h);
    red_extent(1000, 1, 32, &w, &h); // a 1-pixel line still shows
    CHECK(w == 32 && h == 1, "1000x1 in a 32 tile is %dx%d, want 32x1", w, h);
    return check_done("test_draw");
}
