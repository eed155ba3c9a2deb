// safetensors.h — save and load named float32 tensors in the safetensors format.
//
// The format PyTorch users already read (safetensors.torch.load_file), and a simple one:
//     8 bytes    little-endian u64: the length H of the JSON header
//     H bytes    JSON: {"__metadata__": {"arch": "bearnet-s", ...},
//                       "stem.conv.weight": {"dtype": "F32", "shape": [16,3,3,3], "data_offsets": [0,1728]},
//                       ...}
//     the rest   the tensors' bytes, back to back; data_offsets count from the end of the header.
//
// Saving is atomic: the file is written to a temporary name in the same folder, flushed to disk
// (fsync) and renamed over the old one, so a crash or a full disk leaves the old model intact.
// Loading trusts nothing: the header length, the JSON, every dtype, shape and offset are checked
// against each other and against the file size before a single tensor byte is read.
//
// Errors are values, not crashes: functions return NULL on success or a message saying what is
// wrong ("model.safetensors: header length 9000 is larger than the file (120 bytes)"). The
// message lives until the next call of a safetensors function on the same thread.
//
//     SafetensorsMeta meta = {0};
//     safetensors_meta_set(&meta, "arch", "bearnet-s");
//     const char *err = safetensors_save("m.safetensors", n, names, tensors, &meta);
//     SafetensorsFile f;
//     if ((err = safetensors_load("m.safetensors", &f))) { fprintf(stderr, "%s\n", err); ... }
//     err = safetensors_copy_into(&f, n, names, tensors);   // checks every shape
//     safetensors_file_free(&f);
#ifndef SGDLAB_SAFETENSORS_H
#define SGDLAB_SAFETENSORS_H

#include "tensor.h"

// The "__metadata__" string map: format version, arch, class names, image size, normalisation...
typedef struct {
    int count;
    char **keys, **values;
} SafetensorsMeta;

// Set (or replace) key = value; both are copied.
void safetensors_meta_set(SafetensorsMeta *meta, const char *key, const char *value);
// The value for key, or NULL when absent.
const char *safetensors_meta_get(const SafetensorsMeta *meta, const char *key);
void safetensors_meta_free(SafetensorsMeta *meta);

// A loaded file: tensors in the file's header order, with their names, and the metadata.
typedef struct {
    int count;
    char **names;
    Tensor **tensors;
    SafetensorsMeta meta;
} SafetensorsFile;

// Write n tensors under the given names, with metadata (may be NULL), atomically.
const char *safetensors_save(const char *path, int n, const char *const *names, Tensor *const *tensors,
                             const SafetensorsMeta *meta);
// Read and check a whole file. On error *out is left empty (nothing to free).
const char *safetensors_load(const char *path, SafetensorsFile *out);
// The same checks on bytes already in memory (name is for messages): what the fuzzer feeds.
const char *safetensors_load_memory(const char *name, const void *bytes, size_t size, SafetensorsFile *out);
// The tensor called name, or NULL.
Tensor *safetensors_get(const SafetensorsFile *f, const char *name);
// Copy the file's tensors called names[i] into dst[i], after checking that every one exists
// with exactly dst[i]'s shape (a model of another size or arch is refused, nothing is copied).
const char *safetensors_copy_into(const SafetensorsFile *f, int n, const char *const *names,
                                  Tensor *const *dst);
void safetensors_file_free(SafetensorsFile *f);

#endif
