// fuzz_image.c — the decoders (PNG, JPEG, WEBP, GIF, sniffed from the bytes) on untrusted bytes, then
// what every decoded picture goes through next: the centre square for validation and predict, and a
// random-resized crop for training. A bad file must come back as false and a message, never a crash.
#include <stdint.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Image img, out;
    char err[256];
    if (!image_decode(data, size, &img, err, sizeof err)) return strlen(err) == 0; // a reason is always given
    if (image_center_square(&img, 24, &out)) image_free(&out);
    // The crop's rectangle from the picture's own size, reaching past the edges as augmentation may.
    float w = img.width * 0.7f + 1, h = img.height * 0.4f + 1;
    if (image_resized_crop(&img, -0.25f * w, img.height - h / 2, w, h, 17, 9, &out)) image_free(&out);
    image_free(&img);
    return 0;
}
