// test_image.c — viz/image: round trips, every PNG colour type comes back as RGB8, bad files are refused
// with a message (never an abort), and resampling keeps what it should.
//
// The odd PNGs (grey, palette + transparency, 16-bit, RGBA, interlaced) and a CMYK JPEG are written
// here with libpng / libjpeg directly, because viz/image only ever writes plain RGB.
#include <stdio.h> // before jpeglib.h, which uses FILE and size_t
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "check.h"
#include "image.h"

static char dir[64];
static char path_buf[128];

static const char *path_in_dir(const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

static void write_bytes(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(bytes, 1, n, f);
    fclose(f);
}

// Write any PNG colour type from raw rows (packed as libpng expects them for that type and depth).
static void write_raw_png(const char *path, int w, int h, int depth, int color_type, int interlace,
                          const uint8_t *data, int row_bytes, const png_color *palette, int n_palette,
                          const uint8_t *trans, int n_trans) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, n_palette);
    if (trans) png_set_tRNS(png, info, trans, n_trans, NULL);
    png_write_info(png, info);
    if (data) {
        png_bytep *rows = malloc(sizeof(png_bytep) * h);
        for (int y = 0; y < h; y++) rows[y] = (png_bytep)data + (size_t)y * row_bytes;
        png_write_image(png, rows);
        png_write_end(png, NULL);
        free(rows);
    }
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static bool pixel_is(const Image *img, int x, int y, int r, int g, int b, int tol) {
    const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
    return abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
}

static void make_pattern(Image *img, int w, int h) {
    image_alloc(img, w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 255 / (w - 1)), p[1] = (uint8_t)(y * 255 / (h - 1)),
            p[2] = (uint8_t)((x + y) % 2 ? 200 : 40);
        }
}

static double mean_abs_diff(const Image *a, const Image *b) {
    double s = 0;
    size_t n = (size_t)a->width * a->height * 3;
    for (size_t i = 0; i < n; i++) s += abs(a->rgb[i] - b->rgb[i]);
    return s / n;
}

static void test_round_trips(void) {
    Image src, back;
    char err[256];
    make_pattern(&src, 37, 23); // odd sizes catch row-stride mistakes
    CHECK(image_save_png(path_in_dir("rt.png"), &src, err, sizeof err), "save png: %s", err);
    CHECK(image_load(path_in_dir("rt.png"), &back, err, sizeof err), "load png: %s", err);
    CHECK(back.width == 37 && back.height == 23, "png size %dx%d", back.width, back.height);
    CHECK(back.rgb && memcmp(back.rgb, src.rgb, 37 * 23 * 3) == 0, "PNG is lossless: pixels differ");
    image_free(&back);

    // JPEG smooths the 1-pixel checkerboard in blue, so compare a smooth image.
    for (size_t i = 2; i < 37 * 23 * 3; i += 3) src.rgb[i] = 90;
    CHECK(image_save_jpeg(path_in_dir("rt.jpg"), &src, 95, err, sizeof err), "save jpeg: %s", err);
    CHECK(image_load(path_in_dir("rt.jpg"), &back, err, sizeof err), "load jpeg: %s", err);
    CHECK(back.width == 37 && back.height == 23, "jpeg size %dx%d", back.width, back.height);
    double d = back.rgb ? mean_abs_diff(&src, &back) : 999;
    CHECK(d < 4, "jpeg q95 mean abs difference %.2f", d);
    image_free(&back);

    CHECK(image_save_webp(path_in_dir("rt.webp"), &src, 95, err, sizeof err), "save webp: %s", err);
    ImageFormat format = IMAGE_UNKNOWN;
    CHECK(image_load_format(path_in_dir("rt.webp"), &back, &format, err, sizeof err), "load webp: %s", err);
    CHECK(format == IMAGE_WEBP, "format %s", image_format_name(format));
    d = back.rgb ? mean_abs_diff(&src, &back) : 999;
    CHECK(d < 6, "webp q95 mean abs difference %.2f", d);
    image_free(&back);

    // The format comes from the bytes: a PNG named .jpg is still a PNG.
    CHECK(image_save_png(path_in_dir("png-named.jpg"), &src, err, sizeof err), "save: %s", err);
    CHECK(image_sniff_file(path_in_dir("png-named.jpg")) == IMAGE_PNG, "sniffed by magic bytes");
    CHECK(image_load(path_in_dir("png-named.jpg"), &back, err, sizeof err), "load png named .jpg: %s", err);
    image_free(&back);
    image_free(&src);
}

static void test_png_conversions(void) {
    Image img;
    char err[256];
    // 8-bit grey: 0 and 200 become (0,0,0) and (200,200,200).
    uint8_t grey[2 * 2] = {0, 200, 200, 0};
    write_raw_png(path_in_dir("grey.png"), 2, 2, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, grey, 2, NULL, 0,
                  NULL, 0);
    CHECK(image_load(path_in_dir("grey.png"), &img, err, sizeof err), "grey: %s", err);
    CHECK(img.rgb && pixel_is(&img, 1, 0, 200, 200, 200, 0) && pixel_is(&img, 0, 0, 0, 0, 0, 0),
          "grey -> rgb");
    image_free(&img);

    // 1-bit grey: bits 1,0 in one byte -> white, black.
    uint8_t bits[1] = {0x80};
    write_raw_png(path_in_dir("grey1.png"), 2, 1, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, bits, 1, NULL,
                  0, NULL, 0);
    CHECK(image_load(path_in_dir("grey1.png"), &img, err, sizeof err), "grey1: %s", err);
    CHECK(img.rgb && pixel_is(&img, 0, 0, 255, 255, 255, 0) && pixel_is(&img, 1, 0, 0, 0, 0, 0),
          "1-bit grey expanded");
    image_free(&img);

    // Palette with a transparent entry: index 1 is red, index 0 is fully transparent -> white.
    png_color palette[2] = {{0, 0, 255}, {255, 0, 0}};
    uint8_t trans[1] = {0};
    uint8_t indices[2] = {0, 1};
    write_raw_png(path_in_dir("palette.png"), 2, 1, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, indices, 2,
                  palette, 2, trans, 1);
    CHECK(image_load(path_in_dir("palette.png"), &img, err, sizeof err), "palette: %s", err);
    CHECK(img.rgb && pixel_is(&img, 1, 0, 255, 0, 0, 0), "palette index 1 -> red");
    CHECK(img.rgb && pixel_is(&img, 0, 0, 255, 255, 255, 0), "transparent palette entry -> white");
    image_free(&img);

    // RGBA: opaque green stays green, half-transparent black becomes mid grey, transparent -> white.
    uint8_t rgba[3 * 4] = {0, 255, 0, 255, 0, 0, 0, 128, 9, 9, 9, 0};
    write_raw_png(path_in_dir("rgba.png"), 3, 1, 8, PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE, rgba, 12, NULL,
                  0, NULL, 0);
    CHECK(image_load(path_in_dir("rgba.png"), &img, err, sizeof err), "rgba: %s", err);
    CHECK(img.rgb && pixel_is(&img, 0, 0, 0, 255, 0, 0), "opaque pixel kept");
    CHECK(img.rgb && pixel_is(&img, 1, 0, 127, 127, 127, 1), "alpha 128 over white");
    CHECK(img.rgb && pixel_is(&img, 2, 0, 255, 255, 255, 0), "alpha 0 -> white");
    image_free(&img);

    // 16-bit RGB, big-endian samples: 0xFFFF -> 255, 0x8080 -> 128, 0 -> 0.
    uint8_t rgb16[6] = {0xFF, 0xFF, 0x80, 0x80, 0x00, 0x00};
    write_raw_png(path_in_dir("rgb16.png"), 1, 1, 16, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rgb16, 6, NULL,
                  0, NULL, 0);
    CHECK(image_load(path_in_dir("rgb16.png"), &img, err, sizeof err), "16-bit: %s", err);
    CHECK(img.rgb && pixel_is(&img, 0, 0, 255, 128, 0, 0), "16-bit scaled to 8");
    image_free(&img);

    // Interlaced (Adam7) RGB decodes to the same pixels.
    Image src;
    make_pattern(&src, 9, 7);
    write_raw_png(path_in_dir("interlaced.png"), 9, 7, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, src.rgb,
                  27, NULL, 0, NULL, 0);
    CHECK(image_load(path_in_dir("interlaced.png"), &img, err, sizeof err), "interlaced: %s", err);
    CHECK(img.rgb && memcmp(img.rgb, src.rgb, 9 * 7 * 3) == 0, "interlaced pixels");
    image_free(&img);
    image_free(&src);
}

// A CMYK JPEG in the Adobe convention (bytes are 255 - ink): no ink is white, full K is black.
static void test_cmyk_jpeg(void) {
    FILE *f = fopen(path_in_dir("cmyk.jpg"), "wb");
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = 16, c.image_height = 8, c.input_components = 4, c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t row[16 * 4];
    for (int x = 0; x < 16; x++) {
        uint8_t ink_k = x < 8 ? 0 : 255; // left half no ink, right half full black
        uint8_t *p = row + 4 * x;
        p[0] = p[1] = p[2] = 255, p[3] = (uint8_t)(255 - ink_k);
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);

    Image img;
    char err[256];
    CHECK(image_load(path_in_dir("cmyk.jpg"), &img, err, sizeof err), "cmyk: %s", err);
    CHECK(img.rgb && pixel_is(&img, 1, 4, 255, 255, 255, 6), "no ink -> white");
    CHECK(img.rgb && pixel_is(&img, 14, 4, 0, 0, 0, 6), "full black ink -> black");
    image_free(&img);
}

// Every bad file gives false, an empty Image and a message that says what is wrong.
static void expect_refused(const char *name, const char *needle) {
    Image img = {7, 7, (uint8_t *)&img}; // garbage in, so we see that failure empties it
    char err[256] = "";
    bool ok = image_load(path_in_dir(name), &img, err, sizeof err);
    CHECK(!ok, "%s should be refused", name);
    CHECK(img.rgb == NULL && img.width == 0, "%s: image left empty", name);
    CHECK(strstr(err, needle) != NULL, "%s: message '%s' should mention '%s'", name, err, needle);
    if (ok) image_free(&img);
}

static void test_bad_files(void) {
    Image src;
    char err[256];
    make_pattern(&src, 64, 48);
    image_save_png(path_in_dir("full.png"), &src, err, sizeof err);
    image_save_jpeg(path_in_dir("full.jpg"), &src, 90, err, sizeof err);
    image_save_webp(path_in_dir("full.webp"), &src, 90, err, sizeof err);
    image_free(&src);
    const char *formats[3] = {"png", "jpg", "webp"};
    for (int k = 0; k < 3; k++) { // cut each file to 60% of its length, as a dropped download would
        char name[32], cut[32];
        snprintf(name, sizeof name, "full.%s", formats[k]);
        snprintf(cut, sizeof cut, "cut.%s", formats[k]);
        FILE *f = fopen(path_in_dir(name), "rb");
        uint8_t buf[1 << 16];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f) fclose(f);
        write_bytes(path_in_dir(cut), buf, n * 6 / 10);
    }
    expect_refused("cut.png", "PNG");
    expect_refused("cut.jpg", "JPEG");
    expect_refused("cut.webp", "WEBP");

    const char *html = "<!DOCTYPE html><html><body>404 Not Found</body></html>\n";
    write_bytes(path_in_dir("page.jpg"), html, strlen(html));
    expect_refused("page.jpg", "text");
    write_bytes(path_in_dir("empty.jpg"), "", 0);
    expect_refused("empty.jpg", "empty");
    expect_refused("no-such-file.png", "cannot open");
    write_bytes(path_in_dir("gif.png"), "GIF89a\x01\x00\x01\x00", 10); // a GIF cut inside its header
    expect_refused("gif.png", "GIF");
    // The probe's 1-byte files: the message shows the one byte there is (ASan caught a read of b[1]).
    write_bytes(path_in_dir("one-ff.jpg"), "\xff", 1);
    expect_refused("one-ff.jpg", "the whole file: ff");
    write_bytes(path_in_dir("one-00.jpg"), "", 1);
    expect_refused("one-00.jpg", "the whole file: 00");
    // A PNG whose first chunk is not IHDR has no size at those bytes: say corrupt, not "1627415260 x ...".
    write_bytes(path_in_dir("no-ihdr.png"), "\x89PNG\r\n\x1a\n\0\0\0\x0dtEXtabcdefghijklmnop", 33);
    expect_refused("no-ihdr.png", "first chunk is not the IHDR");
    // Not regular files: said as what they are.
    expect_refused(".", "is a folder");
    Image img;
    CHECK(!image_load("/dev/zero", &img, err, sizeof err) && strstr(err, "not a regular file"),
          "/dev/zero: '%s'", err);

    // A header that claims 20000 x 20000 pixels is refused before any pixel memory is allocated.
    write_raw_png(path_in_dir("huge.png"), 20000, 20000, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0,
                  NULL, 0, NULL, 0);
    expect_refused("huge.png", "limit");
    write_raw_png(path_in_dir("tall.png"), 10, 17000, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0,
                  NULL, 0, NULL, 0);
    expect_refused("tall.png", "limit");
}

// GIF (giflib) and animated WEBP: the first frame, transparency over white, interlaced rows in place.
static void test_gif_and_animation(void) {
    char path[600], err[256];
    Image img;
    const char *first_frames[] = {"anim-blue-first.gif", "anim-blue-first.webp"};
    for (int k = 0; k < 2; k++) { // 12 x 10, blue with a red disc in frame 1; frames 2-3 are green, red
        snprintf(path, sizeof path, "%s/%s", SGDLAB_TEST_DATA, first_frames[k]);
        bool ok = image_load(path, &img, err, sizeof err);
        CHECK(ok && img.width == 12 && img.height == 10, "%s: %s, %d x %d", first_frames[k], ok ? "ok" : err,
              img.width, img.height);
        if (ok) {
            CHECK(pixel_is(&img, 0, 0, 0, 0, 255, 8), "%s: corner is frame 1's blue", first_frames[k]);
            CHECK(pixel_is(&img, 6, 5, 200, 40, 30, 40), "%s: centre is frame 1's red disc", first_frames[k]);
        }
        image_free(&img);
    }
    const char *halves[] = {"half-transparent.gif", "half-transparent-interlaced.gif"};
    for (int k = 0; k < 2; k++) { // 8 x 8: left half transparent (index 0), right half blue
        snprintf(path, sizeof path, "%s/%s", SGDLAB_TEST_DATA, halves[k]);
        ImageFormat format = IMAGE_UNKNOWN;
        bool ok = image_load_format(path, &img, &format, err, sizeof err);
        CHECK(ok && format == IMAGE_GIF, "%s: %s", halves[k], ok ? image_format_name(format) : err);
        int right = 0;
        for (int y = 0; ok && y < 8; y++) {
            CHECK(pixel_is(&img, 1, y, 255, 255, 255, 0), "%s: transparent row %d laid over white", halves[k],
                  y);
            right += pixel_is(&img, 6, y, 0, 0, 255, 0);
        }
        CHECK(right == 8, "%s: %d of 8 rows blue on the right (interlaced rows in their place)", halves[k],
              right);
        image_free(&img);
    }
}

static void test_resample(void) {
    Image flat, out;
    image_alloc(&flat, 40, 30);
    memset(flat.rgb, 77, 40 * 30 * 3);
    CHECK(image_resize(&flat, 13, 57, &out), "resize flat");
    bool all77 = true;
    for (int i = 0; i < 13 * 57 * 3; i++) all77 &= out.rgb[i] == 77;
    CHECK(all77, "a flat image stays flat when resized up and down");
    image_free(&out);
    image_free(&flat);

    // Shrinking a 1-pixel black/white checkerboard by 4 averages it to grey (no aliasing to black or white).
    Image checker;
    image_alloc(&checker, 64, 64);
    for (int i = 0; i < 64 * 64; i++) memset(checker.rgb + 3 * i, ((i % 64) + (i / 64)) % 2 ? 255 : 0, 3);
    CHECK(image_resize(&checker, 16, 16, &out), "shrink checker");
    CHECK(pixel_is(&out, 7, 7, 128, 128, 128, 8), "checkerboard shrinks to grey");
    image_free(&out);

    // The centre square of a wide image: a 64x32 image whose left and right quarters are red.
    Image wide;
    image_alloc(&wide, 64, 32);
    for (int i = 0; i < 64 * 32; i++) wide.rgb[3 * i] = (i % 64) < 16 || (i % 64) >= 48 ? 255 : 0;
    CHECK(image_center_square(&wide, 8, &out), "centre square");
    CHECK(out.width == 8 && out.height == 8 && pixel_is(&out, 0, 4, 0, 0, 0, 0) &&
              pixel_is(&out, 7, 4, 0, 0, 0, 0),
          "centre square excludes the red sides");
    image_free(&out);
    CHECK(image_resized_crop(&wide, 0, 0, 16, 32, 4, 8, &out) && pixel_is(&out, 2, 3, 255, 0, 0, 0),
          "a crop of the left quarter is red");
    image_free(&out);
    CHECK(!image_resized_crop(&wide, 0, 0, 0, 32, 4, 8, &out) && !out.rgb, "an empty crop is refused");
    image_free(&wide);
    image_free(&checker);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/sgdlab-test-image-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    test_round_trips();
    test_png_conversions();
    test_cmyk_jpeg();
    test_bad_files();
    test_gif_and_animation();
    test_resample();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir); // our own scratch folder
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done("test_image");
}
