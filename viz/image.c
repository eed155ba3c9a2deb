// image.c — the only place sgdlab touches image file formats. The codecs are libpng, libjpeg-turbo,
// libwebp and giflib; this file is the careful glue: format sniffing, size limits, colour conversion to RGB8,
// and error handling that turns every codec failure into a message instead of an abort.
//
// libpng and libjpeg report fatal errors by calling an error function that must not return. The
// documented, safe answer is setjmp() in the function that called the library and longjmp() back to it
// from the error function, then destroy the codec state there. Variables changed between setjmp and
// longjmp are `volatile` so their values survive the jump.
#include "image.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gif_lib.h>
#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>

__attribute__((format(printf, 3, 4))) static bool fail(char *err, size_t err_size, const char *fmt, ...) {
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return false;
}

// ---------------------------------------------------------------------------------------------------
// Sniffing and allocation
// ---------------------------------------------------------------------------------------------------

ImageFormat image_sniff(const uint8_t *b, size_t n) {
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return IMAGE_PNG;
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return IMAGE_JPEG;
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) return IMAGE_WEBP;
    if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) return IMAGE_GIF;
    return IMAGE_UNKNOWN;
}

ImageFormat image_sniff_file(const char *path) {
    uint8_t head[12];
    FILE *f = fopen(path, "rb");
    if (!f) return IMAGE_UNKNOWN;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return image_sniff(head, n);
}

const char *image_format_name(ImageFormat f) {
    switch (f) {
    case IMAGE_PNG:
        return "PNG";
    case IMAGE_JPEG:
        return "JPEG";
    case IMAGE_WEBP:
        return "WEBP";
    case IMAGE_GIF:
        return "GIF";
    default:
        return "unknown";
    }
}

// limit NULL: the library's own IMAGE_MAX_PIXELS.
static bool size_ok(long long w, long long h, ImageLimit *limit, char *err, size_t err_size) {
    long long max_pixels = limit ? limit->max_pixels : IMAGE_MAX_PIXELS;
    if (w <= 0 || h <= 0) return fail(err, err_size, "image has no pixels (%lld x %lld)", w, h);
    if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || w * h > max_pixels) {
        if (limit) limit->exceeded = true;
        return fail(err, err_size, "image is %lld x %lld pixels; the limit is %d a side and %g megapixels", w,
                    h, IMAGE_MAX_SIDE, (double)max_pixels / 1e6);
    }
    return true;
}

bool image_alloc(Image *img, int width, int height) {
    *img = (Image){0};
    if (!size_ok(width, height, NULL, NULL, 0)) return false;
    img->rgb = calloc((size_t)width * height * 3, 1);
    if (!img->rgb) return false;
    img->width = width, img->height = height;
    return true;
}

void image_free(Image *img) {
    free(img->rgb);
    *img = (Image){0};
}

// Lay a pixel with alpha over white: out = a*c + (1-a)*255.
static uint8_t over_white(uint8_t c, uint8_t a) {
    return (uint8_t)((c * a + 255 * (255 - a) + 127) / 255);
}

// ---------------------------------------------------------------------------------------------------
// PNG
// ---------------------------------------------------------------------------------------------------

typedef struct {
    const uint8_t *data;
    size_t size, pos;
    char *err;
    size_t err_size;
} PngSource;

static void png_read_memory(png_structp png, png_bytep out, size_t n) {
    PngSource *src = png_get_io_ptr(png);
    if (n > src->size - src->pos) png_error(png, "file is truncated");
    memcpy(out, src->data + src->pos, n);
    src->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg) {
    PngSource *src = png_get_error_ptr(png);
    fail(src->err, src->err_size, "PNG: %s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {} // e.g. a bad gamma chunk: harmless

static bool decode_png(const uint8_t *bytes, size_t n, ImageLimit *limit, Image *img, char *err,
                       size_t err_size) {
    // IHDR is always the first chunk: read the size from its fixed place and refuse a huge image before
    // libpng reads any further (its own limits would only trigger after all the chunks before IDAT).
    // A file whose first chunk is something else is corrupt, and those bytes are no size at all.
    if (n >= 16 && memcmp(bytes + 12, "IHDR", 4) != 0)
        return fail(err, err_size, "PNG: corrupt file (its first chunk is not the IHDR header)");
    if (n >= 24) {
        uint32_t w = (uint32_t)bytes[16] << 24 | bytes[17] << 16 | bytes[18] << 8 | bytes[19];
        uint32_t h = (uint32_t)bytes[20] << 24 | bytes[21] << 16 | bytes[22] << 8 | bytes[23];
        if (!size_ok(w, h, limit, err, err_size)) return false;
    }
    PngSource src = {bytes, n, 0, err, err_size};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return fail(err, err_size, "PNG: out of memory");
    }
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) { // every libpng error lands here, with err already filled in
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return false;
    }
    png_set_read_fn(png, &src, png_read_memory);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (!size_ok(w, h, limit, err, err_size)) png_longjmp(png, 1);

    // Ask libpng for 8-bit RGB or RGBA whatever the file holds.
    png_set_expand(png);   // palette -> RGB, grey below 8 bits -> 8 bits, tRNS transparency -> alpha
    png_set_scale_16(png); // 16 bits per channel -> 8, rounded
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info); // 3 (RGB) or 4 (RGBA)
    size_t row_bytes = png_get_rowbytes(png, info);
    pixels = malloc(row_bytes * h);
    rows = malloc(h * sizeof(png_bytep));
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    if (!image_alloc(img, (int)w, (int)h)) png_error(png, "out of memory");
    for (size_t i = 0; i < (size_t)w * h; i++) {
        const uint8_t *p = pixels + i * channels;
        uint8_t a = channels == 4 ? p[3] : 255;
        for (int c = 0; c < 3; c++) img->rgb[3 * i + c] = over_white(p[c], a);
    }
    free(pixels);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return true;
}

// ---------------------------------------------------------------------------------------------------
// JPEG
// ---------------------------------------------------------------------------------------------------

typedef struct {
    struct jpeg_error_mgr mgr; // first, so libjpeg's pointer to it is also a pointer to this struct
    jmp_buf jump;
    char *err;
    size_t err_size;
} JpegErrors;

static void jpeg_on_error(j_common_ptr cinfo) {
    JpegErrors *e = (JpegErrors *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    e->mgr.format_message(cinfo, msg);
    fail(e->err, e->err_size, "JPEG: %s", msg);
    longjmp(e->jump, 1);
}

// libjpeg only *warns* about a file that ends early and fills the rest with grey. A truncated download
// is exactly what `bears verify` must catch, so that one warning becomes an error; others (stray
// bytes before a marker, common in real photos) are ignored.
static void jpeg_on_message(j_common_ptr cinfo, int level) {
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) cinfo->err->error_exit(cinfo);
}

static bool decode_jpeg(const uint8_t *bytes, size_t n, ImageLimit *limit, Image *img, char *err,
                        size_t err_size) {
    struct jpeg_decompress_struct cinfo;
    JpegErrors errors = {.err = err, .err_size = err_size};
    cinfo.err = jpeg_std_error(&errors.mgr);
    errors.mgr.error_exit = jpeg_on_error;
    errors.mgr.emit_message = jpeg_on_message;
    uint8_t *volatile row = NULL;
    if (setjmp(errors.jump)) {
        free(row);
        image_free(img);
        jpeg_destroy_decompress(&cinfo);
        return false;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    if (!size_ok(cinfo.image_width, cinfo.image_height, limit, err, err_size)) longjmp(errors.jump, 1);
    // Print-shop JPEGs are CMYK (or YCCK, which libjpeg turns into CMYK); we convert those ourselves.
    bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, channels = cinfo.output_components;
    if (!image_alloc(img, w, h) || !(row = malloc((size_t)w * channels))) ERREXIT(&cinfo, JERR_OUT_OF_MEMORY);
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *out = img->rgb + (size_t)cinfo.output_scanline * w * 3;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        if (!cmyk) {
            memcpy(out, row, (size_t)w * 3);
            continue;
        }
        // Adobe (Photoshop) stores CMYK inverted: the byte is 255 - ink. Then R = (1 - C)(1 - K), etc.
        for (int x = 0; x < w; x++) {
            const uint8_t *p = row + 4 * x;
            int k = cinfo.saw_Adobe_marker ? p[3] : 255 - p[3];
            for (int c = 0; c < 3; c++) {
                int v = cinfo.saw_Adobe_marker ? p[c] : 255 - p[c];
                out[3 * x + c] = (uint8_t)((v * k + 127) / 255);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    free(row);
    jpeg_destroy_decompress(&cinfo);
    return true;
}

// ---------------------------------------------------------------------------------------------------
// WEBP (a whole-buffer API with return codes: no jumps needed)
// ---------------------------------------------------------------------------------------------------

// RGBA (as libwebp hands it over) laid over white into a new RGB image.
static bool rgba_over_white(const uint8_t *rgba, int w, int h, Image *img) {
    if (!image_alloc(img, w, h)) return false;
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (int c = 0; c < 3; c++) img->rgb[3 * i + c] = over_white(rgba[4 * i + c], rgba[4 * i + 3]);
    return true;
}

// An animated WEBP (common for search-page thumbnails): its first frame, composed on the canvas.
static bool decode_webp_animation(const uint8_t *bytes, size_t n, ImageLimit *limit, Image *img, char *err,
                                  size_t err_size) {
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options)) return fail(err, err_size, "WEBP: library version mismatch");
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    WebPData data = {bytes, n};
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&data, &options);
    if (!dec) return fail(err, err_size, "WEBP: animated, and its frames are truncated or corrupt");
    WebPAnimInfo info;
    uint8_t *rgba = NULL;
    int timestamp;
    bool ok = WebPAnimDecoderGetInfo(dec, &info) &&
              size_ok(info.canvas_width, info.canvas_height, limit, err, err_size);
    if (ok && !WebPAnimDecoderGetNext(dec, &rgba, &timestamp))
        ok = fail(err, err_size, "WEBP: animated, and its first frame does not decode");
    if (ok && !rgba_over_white(rgba, (int)info.canvas_width, (int)info.canvas_height, img))
        ok = fail(err, err_size, "WEBP: out of memory");
    WebPAnimDecoderDelete(dec); // owns rgba
    return ok;
}

static bool decode_webp(const uint8_t *bytes, size_t n, ImageLimit *limit, Image *img, char *err,
                        size_t err_size) {
    WebPBitstreamFeatures features;
    if (WebPGetFeatures(bytes, n, &features) != VP8_STATUS_OK)
        return fail(err, err_size, "WEBP: bad header or truncated file");
    if (!size_ok(features.width, features.height, limit, err, err_size)) return false;
    if (features.has_animation) return decode_webp_animation(bytes, n, limit, img, err, err_size);
    int w, h;
    uint8_t *rgba = WebPDecodeRGBA(bytes, n, &w, &h);
    if (!rgba) return fail(err, err_size, "WEBP: cannot decode (truncated or corrupt data)");
    bool ok = rgba_over_white(rgba, w, h, img);
    WebPFree(rgba);
    return ok || fail(err, err_size, "WEBP: out of memory");
}

// ---------------------------------------------------------------------------------------------------
// GIF (giflib, record by record: only the first picture is decoded, so an animation costs one frame)
// ---------------------------------------------------------------------------------------------------

typedef struct {
    const uint8_t *data;
    size_t size, pos;
} GifSource;

static int gif_read_memory(GifFileType *gif, GifByteType *out, int n) {
    GifSource *src = gif->UserData;
    size_t k = n < 0 ? 0 : (size_t)n;
    if (k > src->size - src->pos) k = src->size - src->pos; // a short read: giflib reports truncation
    memcpy(out, src->data + src->pos, k);
    src->pos += k;
    return (int)k;
}

// The first frame's pixels drawn onto the canvas (white where the frame is transparent or absent).
static bool gif_draw_frame(GifFileType *gif, int transparent, Image *img, char *err, size_t err_size) {
    const GifImageDesc *d = &gif->Image;
    const ColorMapObject *map = d->ColorMap ? d->ColorMap : gif->SColorMap;
    if (!map) return fail(err, err_size, "GIF: corrupt file (no colour table)");
    if (d->Width <= 0 || d->Height <= 0 || d->Width > IMAGE_MAX_SIDE || d->Height > IMAGE_MAX_SIDE)
        return fail(err, err_size, "GIF: corrupt file (a frame of %d x %d pixels)", d->Width, d->Height);
    GifPixelType *line = malloc((size_t)d->Width);
    if (!line) return fail(err, err_size, "GIF: out of memory");
    // Interlaced GIFs store rows in four passes: every 8th from 0, every 8th from 4, every 4th from 2, odd.
    static const int first[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    int passes = d->Interlace ? 4 : 1;
    bool ok = true;
    for (int pass = 0; ok && pass < passes; pass++)
        for (int y = d->Interlace ? first[pass] : 0; ok && y < d->Height;
             y += d->Interlace ? step[pass] : 1) {
            if (DGifGetLine(gif, line, d->Width) == GIF_ERROR) {
                ok = fail(err, err_size, "GIF: %s", GifErrorString(gif->Error));
                break;
            }
            int row = d->Top + y;
            for (int x = 0; x < d->Width && row < img->height; x++) {
                int col = d->Left + x, px = line[x];
                if (col >= img->width || px == transparent || px >= map->ColorCount) continue;
                uint8_t *out = img->rgb + ((size_t)row * img->width + col) * 3;
                out[0] = map->Colors[px].Red, out[1] = map->Colors[px].Green, out[2] = map->Colors[px].Blue;
            }
        }
    free(line);
    return ok;
}

static bool decode_gif(const uint8_t *bytes, size_t n, ImageLimit *limit, Image *img, char *err,
                       size_t err_size) {
    GifSource src = {bytes, n, 0};
    int error = 0;
    GifFileType *gif = DGifOpen(&src, gif_read_memory, &error);
    if (!gif) return fail(err, err_size, "GIF: %s", GifErrorString(error));
    bool ok = size_ok(gif->SWidth, gif->SHeight, limit, err, err_size), drawn = false;
    if (ok && !image_alloc(img, gif->SWidth, gif->SHeight)) ok = fail(err, err_size, "GIF: out of memory");
    if (ok) memset(img->rgb, 255, (size_t)img->width * img->height * 3);
    int transparent = NO_TRANSPARENT_COLOR;
    while (ok && !drawn) {
        GifRecordType type;
        if (DGifGetRecordType(gif, &type) == GIF_ERROR) {
            ok = fail(err, err_size, "GIF: %s", GifErrorString(gif->Error));
        } else if (type == TERMINATE_RECORD_TYPE) {
            ok = fail(err, err_size, "GIF: the file holds no picture");
        } else if (type == EXTENSION_RECORD_TYPE) {
            // The graphics control block before a frame names its transparent colour; skip the rest.
            int code;
            GifByteType *ext;
            if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR) ok = false;
            if (ok && code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4) {
                GraphicsControlBlock gcb;
                if (DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK) transparent = gcb.TransparentColor;
            }
            while (ok && ext)
                if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR) ok = false;
            if (!ok) fail(err, err_size, "GIF: %s", GifErrorString(gif->Error));
        } else if (type == IMAGE_DESC_RECORD_TYPE) {
            ok = DGifGetImageDesc(gif) != GIF_ERROR ||
                 fail(err, err_size, "GIF: %s", GifErrorString(gif->Error));
            ok = ok && gif_draw_frame(gif, transparent, img, err, err_size);
            drawn = ok;
        }
    }
    DGifCloseFile(gif, &error);
    if (!ok) image_free(img);
    return ok;
}

// ---------------------------------------------------------------------------------------------------
// Decoding entry points
// ---------------------------------------------------------------------------------------------------

// "not an image" messages say what the file seems to be, so a learner sees the HTML error page.
static bool unknown_format(const uint8_t *b, size_t n, char *err, size_t err_size) {
    if (n >= 2 && memcmp(b, "BM", 2) == 0)
        return fail(err, err_size, "a BMP image (sgdlab reads PNG, JPEG, WEBP and GIF)");
    char shown[33];
    size_t k = 0, printable = 0;
    for (; k < n && k < 32; k++) {
        printable += isprint(b[k]) || isspace(b[k]);
        shown[k] = isprint(b[k]) ? (char)b[k] : ' ';
    }
    shown[k] = '\0';
    if (printable == k) return fail(err, err_size, "not an image: it is text (\"%s\")", shown);
    char hex[3 * 4 + 1] = ""; // the bytes that are there, at most four: a 1-byte file shows one
    for (size_t i = 0; i < n && i < 4; i++) snprintf(hex + 3 * i, sizeof hex - 3 * i, " %02x", b[i]);
    return fail(err, err_size, "not an image: unknown format (%s%s)",
                n < 4 ? "the whole file:" : "first bytes", hex);
}

bool image_decode(const uint8_t *bytes, size_t n, Image *img, char *err, size_t err_size) {
    return image_decode_limited(bytes, n, NULL, img, err, err_size);
}

bool image_decode_limited(const uint8_t *bytes, size_t n, ImageLimit *limit, Image *img, char *err,
                          size_t err_size) {
    *img = (Image){0};
    if (n == 0) return fail(err, err_size, "empty file (0 bytes)");
    switch (image_sniff(bytes, n)) {
    case IMAGE_PNG:
        return decode_png(bytes, n, limit, img, err, err_size);
    case IMAGE_JPEG:
        return decode_jpeg(bytes, n, limit, img, err, err_size);
    case IMAGE_WEBP:
        return decode_webp(bytes, n, limit, img, err, err_size);
    case IMAGE_GIF:
        return decode_gif(bytes, n, limit, img, err, err_size);
    default:
        return unknown_format(bytes, n, err, err_size);
    }
}

bool image_load_format(const char *path, Image *img, ImageFormat *format, char *err, size_t err_size) {
    *img = (Image){0};
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, err_size, "cannot open: %s", strerror(errno));
    // The size comes from fstat, and only a regular file has one: a folder or /dev/zero is said to be
    // what it is instead of "8796093022207 MB" or "an empty file".
    struct stat st;
    bool stat_ok = fstat(fileno(f), &st) == 0;
    if (!stat_ok || !S_ISREG(st.st_mode)) {
        int saved = errno;
        fclose(f);
        if (!stat_ok) return fail(err, err_size, "cannot read: %s", strerror(saved));
        return fail(err, err_size,
                    S_ISDIR(st.st_mode) ? "is a folder, not a picture"
                                        : "not a regular file (a device, pipe or socket)");
    }
    long long size = st.st_size;
    if (size > IMAGE_MAX_FILE_BYTES) {
        fclose(f);
        return fail(err, err_size, "file is %lld MB; the limit is %lld MB", size >> 20,
                    IMAGE_MAX_FILE_BYTES >> 20);
    }
    uint8_t *bytes = malloc(size ? (size_t)size : 1);
    size_t got = bytes ? fread(bytes, 1, (size_t)size, f) : 0;
    fclose(f);
    bool ok = bytes && got == (size_t)size;
    if (!ok)
        fail(err, err_size, bytes ? "cannot read the whole file" : "out of memory");
    else
        ok = image_decode(bytes, got, img, err, err_size);
    if (ok && format) *format = image_sniff(bytes, got);
    free(bytes);
    return ok;
}

bool image_load(const char *path, Image *img, char *err, size_t err_size) {
    return image_load_format(path, img, NULL, err, err_size);
}

// ---------------------------------------------------------------------------------------------------
// Encoding. A failed save removes its own half-written output (never a file it did not create).
// ---------------------------------------------------------------------------------------------------

static bool valid_image(const Image *img, char *err, size_t err_size) {
    if (!img->rgb || !size_ok(img->width, img->height, NULL, err, err_size))
        return fail(err, err_size, "nothing to save: empty image");
    return true;
}

bool image_save_png(const char *path, const Image *img, char *err, size_t err_size) {
    if (!valid_image(img, err, err_size)) return false;
    FILE *f = fopen(path, "wb");
    if (!f) return fail(err, err_size, "cannot write %s: %s", path, strerror(errno));
    PngSource ctx = {.err = err, .err_size = err_size}; // only its err fields are used when writing
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        fclose(f);
        remove(path);
        return fail(err, err_size, "PNG: out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        remove(path);
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img->height; y++) png_write_row(png, img->rgb + (size_t)y * img->width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        remove(path);
        return fail(err, err_size, "cannot write %s: %s", path, strerror(errno));
    }
    return true;
}

bool image_save_jpeg(const char *path, const Image *img, int quality, char *err, size_t err_size) {
    if (!valid_image(img, err, err_size)) return false;
    FILE *f = fopen(path, "wb");
    if (!f) return fail(err, err_size, "cannot write %s: %s", path, strerror(errno));
    struct jpeg_compress_struct cinfo;
    JpegErrors errors = {.err = err, .err_size = err_size};
    cinfo.err = jpeg_std_error(&errors.mgr);
    errors.mgr.error_exit = jpeg_on_error;
    if (setjmp(errors.jump)) {
        jpeg_destroy_compress(&cinfo);
        fclose(f);
        remove(path);
        return false;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)img->width;
    cinfo.image_height = (JDIMENSION)img->height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : quality > 100 ? 100 : quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = img->rgb + (size_t)cinfo.next_scanline * img->width * 3;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(f) != 0) {
        remove(path);
        return fail(err, err_size, "cannot write %s: %s", path, strerror(errno));
    }
    return true;
}

bool image_save_webp(const char *path, const Image *img, int quality, char *err, size_t err_size) {
    if (!valid_image(img, err, err_size)) return false;
    uint8_t *out = NULL;
    size_t n = WebPEncodeRGB(img->rgb, img->width, img->height, img->width * 3, (float)quality, &out);
    if (n == 0) return fail(err, err_size, "WEBP: encoding failed");
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(out, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = false;
    WebPFree(out);
    if (!ok) {
        if (f) remove(path);
        return fail(err, err_size, "cannot write %s: %s", path, strerror(errno));
    }
    return true;
}

bool image_save(const char *path, const Image *img, ImageFormat format, int quality, char *err,
                size_t err_size) {
    switch (format) {
    case IMAGE_PNG:
        return image_save_png(path, img, err, err_size);
    case IMAGE_JPEG:
        return image_save_jpeg(path, img, quality, err, err_size);
    case IMAGE_WEBP:
        return image_save_webp(path, img, quality, err, err_size);
    default:
        return fail(err, err_size, "cannot save as %s (sgdlab writes PNG, JPEG and WEBP)",
                    image_format_name(format));
    }
}

// ---------------------------------------------------------------------------------------------------
// Resampling: separable, a triangle (bilinear) kernel widened by the shrink factor.
// ---------------------------------------------------------------------------------------------------

// For each of n_out outputs along one axis: n_taps source indices (clamped to the image) and weights.
typedef struct {
    int n_taps;
    int *index;    // n_out * n_taps
    float *weight; // n_out * n_taps, each output's weights sum to 1
} Taps;

static bool make_taps(Taps *t, int n_src, float start, float span, int n_out) {
    // Taps stay inside the crop window (and the image), so a crop never picks up colour from outside.
    int lo = (int)floorf(start), hi = (int)ceilf(start + span) - 1;
    lo = lo < 0 ? 0 : lo > n_src - 1 ? n_src - 1 : lo;
    hi = hi > n_src - 1 ? n_src - 1 : hi < lo ? lo : hi;
    float scale = span / (float)n_out;    // source pixels per output pixel
    float radius = scale > 1 ? scale : 1; // shrinking: cover every source pixel under the output pixel
    t->n_taps = (int)ceilf(2 * radius) + 2;
    t->index = malloc(sizeof(int) * n_out * t->n_taps);
    t->weight = malloc(sizeof(float) * n_out * t->n_taps);
    if (!t->index || !t->weight) return false;
    for (int o = 0; o < n_out; o++) {
        float centre = start + (o + 0.5f) * scale; // in source pixel units; pixel j spans [j, j+1)
        int first = (int)floorf(centre - radius - 0.5f);
        float total = 0;
        int *idx = t->index + o * t->n_taps;
        float *w = t->weight + o * t->n_taps;
        for (int k = 0; k < t->n_taps; k++) {
            int j = first + k;
            float d = fabsf(j + 0.5f - centre) / radius;
            w[k] = d < 1 ? 1 - d : 0;
            idx[k] = j < lo ? lo : j > hi ? hi : j; // past an edge: repeat the edge pixel
            total += w[k];
        }
        for (int k = 0; k < t->n_taps; k++) w[k] = total > 0 ? w[k] / total : 1.0f / t->n_taps;
    }
    return true;
}

static void free_taps(Taps *t) {
    free(t->index), free(t->weight);
}

bool image_resized_crop(const Image *src, float x, float y, float w, float h, int out_w, int out_h,
                        Image *dst) {
    *dst = (Image){0};
    if (!src->rgb || !(w > 0) || !(h > 0) || !image_alloc(dst, out_w, out_h)) return false;
    Taps tx = {0}, ty = {0};
    float *rows = NULL; // the source rows filtered horizontally: src->height x out_w x 3
    bool ok = make_taps(&tx, src->width, x, w, out_w) && make_taps(&ty, src->height, y, h, out_h) &&
              (rows = malloc(sizeof(float) * src->height * out_w * 3));
    if (!ok) {
        image_free(dst);
    } else {
        for (int r = 0; r < src->height; r++) {
            const uint8_t *in = src->rgb + (size_t)r * src->width * 3;
            for (int o = 0; o < out_w; o++) {
                float acc[3] = {0, 0, 0};
                for (int k = 0; k < tx.n_taps; k++) {
                    const uint8_t *p = in + 3 * tx.index[o * tx.n_taps + k];
                    float wk = tx.weight[o * tx.n_taps + k];
                    acc[0] += wk * p[0], acc[1] += wk * p[1], acc[2] += wk * p[2];
                }
                memcpy(rows + ((size_t)r * out_w + o) * 3, acc, sizeof acc);
            }
        }
        for (int o = 0; o < out_h; o++)
            for (int i = 0; i < out_w * 3; i++) {
                float acc = 0;
                for (int k = 0; k < ty.n_taps; k++)
                    acc += ty.weight[o * ty.n_taps + k] *
                           rows[(size_t)ty.index[o * ty.n_taps + k] * out_w * 3 + i];
                dst->rgb[(size_t)o * out_w * 3 + i] = (uint8_t)(acc < 0 ? 0 : acc > 255 ? 255 : acc + 0.5f);
            }
    }
    free(rows);
    free_taps(&tx), free_taps(&ty);
    return ok;
}

bool image_resize(const Image *src, int width, int height, Image *dst) {
    return image_resized_crop(src, 0, 0, (float)src->width, (float)src->height, width, height, dst);
}

bool image_center_square(const Image *src, int size, Image *dst) {
    int side = src->width < src->height ? src->width : src->height;
    return image_resized_crop(src, (src->width - side) / 2.0f, (src->height - side) / 2.0f, (float)side,
                              (float)side, size, size, dst);
}
