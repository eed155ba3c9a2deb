// image.h — decode, encode, resize and crop RGB images (libpng, libjpeg-turbo, libwebp; giflib to read).
//
// The bear notebook starts from a folder of downloaded files, and downloaded files lie: a ".jpg" that is
// an HTML error page, a JPEG cut off half way, a 20000-pixel poster. So every decoder here
//   * finds the format from the first bytes of the file (its "magic"), never from the extension;
//   * returns RGB8 always: grey, palette, 16-bit and alpha images are converted (alpha is laid over
//     white, the way a browser shows a transparent PNG on a white page), CMYK JPEGs are converted;
//   * reads the first frame of an animated GIF or WEBP (what a thumbnail shows);
//   * refuses images over IMAGE_MAX_SIDE pixels a side or IMAGE_MAX_PIXELS in all, before allocating;
//   * reports failure as false plus a one-line reason in a buffer the caller passes, never by aborting.
//
//     char err[256];
//     Image img;
//     if (!image_load("bears/teddy/001.jpg", &img, err, sizeof err)) printf("bad: %s\n", err);
//     ...
//     image_free(&img);
//
// viz knows nothing of tensors: turning pixels into float (N,3,H,W) batches lives in bears/dataset.c.
#ifndef SGDLAB_IMAGE_H
#define SGDLAB_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { IMAGE_MAX_SIDE = 16384 };
#define IMAGE_MAX_PIXELS     100000000LL   // 100 megapixels
#define IMAGE_MAX_FILE_BYTES (256LL << 20) // larger files are refused before reading

// An RGB8 image: rgb has width*height*3 bytes, row by row, R G B per pixel. A zeroed Image is empty.
typedef struct {
    int width, height;
    uint8_t *rgb;
} Image;

typedef enum { IMAGE_UNKNOWN = 0, IMAGE_PNG, IMAGE_JPEG, IMAGE_WEBP, IMAGE_GIF } ImageFormat;

// The format named by the first bytes of a file (at least 12 bytes needed for WEBP).
ImageFormat image_sniff(const uint8_t *bytes, size_t n);
// Read the first bytes of a file and sniff them. IMAGE_UNKNOWN for empty, unreadable or other files.
ImageFormat image_sniff_file(const char *path);
const char *image_format_name(ImageFormat f); // "PNG", "JPEG", "WEBP", "GIF", "unknown"

// A new black image (calloc); false when the size is invalid or memory runs out.
bool image_alloc(Image *img, int width, int height);
void image_free(Image *img); // frees rgb and zeroes the struct; safe on an empty Image

// Decode a whole file / a memory buffer. On failure img is left empty and err holds the reason.
bool image_load(const char *path, Image *img, char *err, size_t err_size);
bool image_decode(const uint8_t *bytes, size_t n, Image *img, char *err, size_t err_size);
// The same under a lower pixel limit (bears serve --max-pixels), checked against the header's size
// before any pixel is decoded; limit->exceeded tells that refusal from a broken file. NULL: the default.
typedef struct {
    long long max_pixels;
    bool exceeded;
} ImageLimit;
bool image_decode_limited(const uint8_t *bytes, size_t n, ImageLimit *limit, Image *img, char *err,
                          size_t err_size);
// The format of what image_load() decoded is also useful (verify --max-size keeps it).
bool image_load_format(const char *path, Image *img, ImageFormat *format, char *err, size_t err_size);

// Encode (PNG, JPEG or WEBP; GIF is read, never written). JPEG and WEBP take a quality in [1, 100].
bool image_save_png(const char *path, const Image *img, char *err, size_t err_size);
bool image_save_jpeg(const char *path, const Image *img, int quality, char *err, size_t err_size);
bool image_save_webp(const char *path, const Image *img, int quality, char *err, size_t err_size);
bool image_save(const char *path, const Image *img, ImageFormat format, int quality, char *err,
                size_t err_size);

// Resample src to width x height into dst (allocated here). Bilinear when enlarging; when shrinking,
// the bilinear kernel is widened to cover every source pixel (area-like averaging), so thin fur
// strokes blur instead of flickering in and out (aliasing).
bool image_resize(const Image *src, int width, int height, Image *dst);
// The rectangle (x, y, w, h) of src, resampled to out_w x out_h: the building block of the
// "random resized crop" augmentation. The caller picks the rectangle (randomly or not); it may reach
// past the edges, where the nearest edge pixel is repeated. Needs w, h > 0.
bool image_resized_crop(const Image *src, float x, float y, float w, float h, int out_w, int out_h,
                        Image *dst);
// The largest centred square of src, resampled to size x size (what validation and predict see).
bool image_center_square(const Image *src, int size, Image *dst);

#endif
