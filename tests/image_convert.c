// image_convert.c — a test helper: re-encode a picture in another format, so tests can serve a WEBP
// made from a `bears synth` picture (synth writes PNG and JPEG only).
//     image_convert IN OUT png|jpeg|webp
#include <stdio.h>
#include <string.h>

#include "image.h"

int main(int argc, char **argv) {
    static const char *const names[] = {"png", "jpeg", "webp"};
    static const ImageFormat formats[] = {IMAGE_PNG, IMAGE_JPEG, IMAGE_WEBP};
    int k = 0;
    while (argc == 4 && k < 3 && strcmp(argv[3], names[k]) != 0) k++;
    if (argc != 4 || k == 3) {
        fprintf(stderr, "usage: image_convert IN OUT png|jpeg|webp\n");
        return 2;
    }
    Image img;
    char err[256];
    if (!image_load(argv[1], &img, err, sizeof err) ||
        !image_save(argv[2], &img, formats[k], 90, err, sizeof err)) {
        fprintf(stderr, "image_convert: %s\n", err);
        image_free(&img);
        return 1;
    }
    image_free(&img);
    return 0;
}
