// png_probe — reads lab02's first and last frames (with libpng) and measures how the fitted line moved.
//
//   png-probe FIRST.png LAST.png FIT_R FIT_G FIT_B TRUE_R TRUE_G TRUE_B
// In each column, the pixels of the fit colour give the fitted line's row there, and the pixels of the
// true line's colour in the first frame give the true line's row. Prints, on one line:
//   differ=N            pixels that differ between the two frames
//   first=D last=D      mean |fit row - true row| over the columns where both are seen
//   near_first=N        fit-coloured pixels within 3 rows of the first frame's true-line pixels, in the
//   near_last=N         first frame and in the last: the region where the true line is drawn
// Exit 1 when a file is not a readable PNG of the same size as the other.
#include <math.h>
#include <png.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int w, h;
    unsigned char *rgb;
} Image;

static int read_png(const char *path, Image *im) {
    png_image img = {.version = PNG_IMAGE_VERSION};
    if (!png_image_begin_read_from_file(&img, path)) {
        fprintf(stderr, "%s: not a readable PNG (%s)\n", path, img.message);
        return 0;
    }
    img.format = PNG_FORMAT_RGB;
    im->w = (int)img.width, im->h = (int)img.height;
    im->rgb = malloc(PNG_IMAGE_SIZE(img));
    if (!im->rgb || !png_image_finish_read(&img, NULL, im->rgb, 0, NULL)) {
        fprintf(stderr, "%s: cannot decode (%s)\n", path, img.message);
        png_image_free(&img);
        return 0;
    }
    return 1;
}

static int is(const unsigned char *p, const int *c) {
    return abs(p[0] - c[0]) <= 6 && abs(p[1] - c[1]) <= 6 && abs(p[2] - c[2]) <= 6;
}

// Mean row of the pixels of colour c in column x, or -1 when there are none.
static double column_row(const Image *im, int x, const int *c) {
    double sum = 0;
    int n = 0;
    for (int y = 0; y < im->h; y++)
        if (is(im->rgb + 3 * ((size_t)y * im->w + x), c)) sum += y, n++;
    return n ? sum / n : -1;
}

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: png-probe FIRST LAST FIT_R FIT_G FIT_B TRUE_R TRUE_G TRUE_B\n");
        return 2;
    }
    int fit[3], truth[3];
    for (int i = 0; i < 3; i++) fit[i] = atoi(argv[3 + i]), truth[i] = atoi(argv[6 + i]);
    Image first = {0}, last = {0};
    if (!read_png(argv[1], &first) || !read_png(argv[2], &last) || first.w != last.w || first.h != last.h) {
        free(first.rgb), free(last.rgb);
        return 1;
    }
    long differ = 0, near_first = 0, near_last = 0;
    for (size_t i = 0; i < (size_t)first.w * first.h; i++) {
        const unsigned char *a = first.rgb + 3 * i, *b = last.rgb + 3 * i;
        differ += a[0] != b[0] || a[1] != b[1] || a[2] != b[2];
    }
    for (int y = 0; y < first.h; y++)
        for (int x = 0; x < first.w; x++) {
            bool near_true = false;
            for (int dy = -3; dy <= 3 && !near_true; dy++)
                if (y + dy >= 0 && y + dy < first.h)
                    near_true = is(first.rgb + 3 * ((size_t)(y + dy) * first.w + x), truth);
            if (!near_true) continue;
            size_t i = 3 * ((size_t)y * first.w + x);
            near_first += is(first.rgb + i, fit), near_last += is(last.rgb + i, fit);
        }
    double d_first = 0, d_last = 0;
    int columns = 0;
    for (int x = 0; x < first.w; x++) {
        double t = column_row(&first, x, truth), f0 = column_row(&first, x, fit),
               f1 = column_row(&last, x, fit);
        if (t < 0 || f0 < 0 || f1 < 0) continue;
        d_first += fabs(f0 - t), d_last += fabs(f1 - t), columns++;
    }
    printf("differ=%ld first=%.1f last=%.1f near_first=%ld near_last=%ld columns=%d\n", differ,
           columns ? d_first / columns : -1, columns ? d_last / columns : -1, near_first, near_last, columns);
    free(first.rgb), free(last.rgb);
    return 0;
}
