// safetensors.c — the safetensors format with cJSON for the header; checks before trust.
// Read first: state_dict.c (what is saved).
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Tensor bytes are written and read as they sit in memory; the format says little-endian.
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors.c assumes a little-endian host");

// A header bigger than this is not a model of ours but a broken or hostile file (the reference
// implementation draws the same line at 100 MB).
#define MAX_HEADER_BYTES ((uint64_t)100 << 20)
// Far above any real model (ResNet-34 has 218 tensors) and small enough that a crafted header of
// hundreds of thousands of empty tensors is refused at once instead of being checked for minutes.
enum { MAX_TENSORS = 1 << 16, MAX_METADATA = 1024 };

static _Thread_local char message[1024];

__attribute__((format(printf, 1, 2))) static const char *fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return message;
}

static char *copy_string(const char *s) {
    char *c = strdup(s);
    if (!c) sgd_panic("out of memory copying a string");
    return c;
}

static void *checked_realloc(void *p, size_t bytes) {
    p = realloc(p, bytes);
    if (!p) sgd_panic("out of memory (%zu bytes)", bytes);
    return p;
}

// ---- metadata ----

void safetensors_meta_set(SafetensorsMeta *meta, const char *key, const char *value) {
    for (int i = 0; i < meta->count; i++)
        if (strcmp(meta->keys[i], key) == 0) {
            free(meta->values[i]);
            meta->values[i] = copy_string(value);
            return;
        }
    meta->keys = checked_realloc(meta->keys, sizeof(char *) * (size_t)(meta->count + 1));
    meta->values = checked_realloc(meta->values, sizeof(char *) * (size_t)(meta->count + 1));
    meta->keys[meta->count] = copy_string(key);
    meta->values[meta->count] = copy_string(value);
    meta->count++;
}

const char *safetensors_meta_get(const SafetensorsMeta *meta, const char *key) {
    for (int i = 0; i < meta->count; i++)
        if (strcmp(meta->keys[i], key) == 0) return meta->values[i];
    return NULL;
}

void safetensors_meta_free(SafetensorsMeta *meta) {
    for (int i = 0; i < meta->count; i++) free(meta->keys[i]), free(meta->values[i]);
    free(meta->keys), free(meta->values);
    memset(meta, 0, sizeof *meta);
}

// ---- saving ----

// The JSON header for the tensors laid out back to back in the given order.
static char *build_header(int n, const char *const *names, Tensor *const *tensors,
                          const SafetensorsMeta *meta) {
    cJSON *root = cJSON_CreateObject();
    if (meta && meta->count > 0) {
        cJSON *m = cJSON_CreateObject();
        for (int i = 0; i < meta->count; i++) cJSON_AddStringToObject(m, meta->keys[i], meta->values[i]);
        cJSON_AddItemToObject(root, "__metadata__", m);
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        cJSON *entry = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offsets = cJSON_CreateArray();
        cJSON_AddStringToObject(entry, "dtype", "F32");
        for (int d = 0; d < tensors[i]->rank; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber(tensors[i]->shape[d]));
        uint64_t bytes = tensors[i]->numel * sizeof(float);
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)(offset + bytes)));
        cJSON_AddItemToObject(entry, "shape", shape);
        cJSON_AddItemToObject(entry, "data_offsets", offsets);
        cJSON_AddItemToObject(root, names[i], entry);
        offset += bytes;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) sgd_panic("out of memory printing a safetensors header");
    return json;
}

const char *safetensors_save(const char *path, int n, const char *const *names, Tensor *const *tensors,
                             const SafetensorsMeta *meta) {
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], "__metadata__") == 0)
            return fail("%s: '__metadata__' cannot name a tensor", path);
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return fail("%s: two tensors are both called '%s'", path, names[i]);
    }
    char *json = build_header(n, names, tensors, meta);
    // Pad the header with spaces (allowed by the format) so the data starts 8-byte aligned.
    size_t json_len = strlen(json), header_len = (json_len + 7) & ~(size_t)7;
    unsigned char len_bytes[8];
    for (int b = 0; b < 8; b++) len_bytes[b] = (unsigned char)((uint64_t)header_len >> (8 * b));

    // Write everything to a temporary file beside the target, then rename it into place.
    size_t tmp_size = strlen(path) + 16;
    char *tmp = sgd_malloc(tmp_size);
    snprintf(tmp, tmp_size, "%s.tmp-XXXXXX", path);
    const char *err = NULL;
    FILE *f = NULL;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        err = fail("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        goto done;
    }
    fchmod(fd, 0644); // mkstemp makes it private (0600); a model file is for reading
    f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        err = fail("%s: %s", tmp, strerror(errno));
        goto done;
    }
    bool ok = fwrite(len_bytes, 1, 8, f) == 8 && fwrite(json, 1, json_len, f) == json_len;
    for (size_t i = json_len; ok && i < header_len; i++) ok = fputc(' ', f) != EOF;
    for (int i = 0; ok && i < n; i++)
        ok = fwrite(tensors[i]->data, sizeof(float), tensors[i]->numel, f) == tensors[i]->numel;
    // fflush hands the bytes to the kernel, fsync makes the kernel put them on the disk: only
    // then may the rename replace the old file.
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved_errno = errno;
    ok = (fclose(f) == 0) && ok;
    f = NULL;
    if (!ok) {
        err = fail("%s: writing failed: %s (the previous file, if any, is untouched)", path,
                   strerror(saved_errno ? saved_errno : errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        err = fail("%s: cannot rename the temporary file into place: %s", path, strerror(errno));
        goto done;
    }
    // Make the rename itself durable: fsync the folder that holds the new name.
    {
        char *dir = copy_string(path), *slash = strrchr(dir, '/');
        const char *folder = ".";
        if (slash) {
            slash[slash == dir ? 1 : 0] = '\0'; // "/m.safetensors" lives in "/"
            folder = dir;
        }
        int dfd = open(folder, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) fsync(dfd), close(dfd);
        free(dir);
    }
done:
    if (err) unlink(tmp);
    free(tmp);
    free(json);
    return err;
}

// ---- loading ----

typedef struct {
    const char *name;
    int rank, shape[TENSOR_MAX_RANK];
    uint64_t begin, end;
    bool skip; // checked, then not loaded: PyTorch's int64 batch-norm counter (below)
} Entry;

// A JSON number that is a whole number in [0, max].
static bool json_whole(const cJSON *item, double max, uint64_t *out) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= max && v == floor(v))) return false;
    *out = (uint64_t)v;
    return true;
}

static int by_begin(const void *a, const void *b) {
    uint64_t x = ((const Entry *)a)->begin, y = ((const Entry *)b)->begin;
    return x < y ? -1 : x > y;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const Entry *)a)->name, ((const Entry *)b)->name);
}

static void shape_string(char *buf, size_t size, int rank, const int *shape) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < rank && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %d" : "%d", shape[d]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

// Check one tensor's entry and fill e; data_size is the number of bytes after the header.
static const char *parse_entry(const char *path, const cJSON *item, uint64_t data_size, Entry *e) {
    e->name = item->string;
    if (!cJSON_IsObject(item)) return fail("%s: tensor '%s' is not a JSON object", path, e->name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dtype)) return fail("%s: tensor '%s' has no dtype", path, e->name);
    // timm's and torchvision's files keep each batch norm's num_batches_tracked, an I64 count that
    // training never reads (momentum is fixed): its bytes are checked like any tensor's, then skipped.
    size_t tail = strlen(".num_batches_tracked"), name_len = strlen(e->name);
    e->skip = strcmp(dtype->valuestring, "I64") == 0 && name_len > tail &&
              strcmp(e->name + name_len - tail, ".num_batches_tracked") == 0;
    if (strcmp(dtype->valuestring, "F32") != 0 && !e->skip)
        return fail("%s: tensor '%s' has dtype %s; only F32 is supported", path, e->name, dtype->valuestring);
    uint64_t element = e->skip ? 8 : sizeof(float);
    if (!cJSON_IsArray(shape)) return fail("%s: tensor '%s' has no shape list", path, e->name);
    e->rank = cJSON_GetArraySize(shape);
    if (e->rank > TENSOR_MAX_RANK)
        return fail("%s: tensor '%s' has rank %d; at most %d is supported", path, e->name, e->rank,
                    TENSOR_MAX_RANK);
    // numel grows one axis at a time and stays below 2^60 (far above any file), so the product
    // of four 31-bit sizes cannot overflow; the byte count is compared with the offsets below.
    uint64_t numel = 1;
    for (int d = 0; d < e->rank; d++) {
        uint64_t size;
        if (!json_whole(cJSON_GetArrayItem(shape, d), INT32_MAX, &size))
            return fail("%s: tensor '%s' has a shape entry that is not a size", path, e->name);
        e->shape[d] = (int)size;
        if (size && numel > ((uint64_t)1 << 60) / size)
            return fail("%s: tensor '%s' has an impossibly large shape", path, e->name);
        numel *= size;
    }
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_whole(cJSON_GetArrayItem(offsets, 0), 9007199254740992.0, &e->begin) ||
        !json_whole(cJSON_GetArrayItem(offsets, 1), 9007199254740992.0, &e->end) || e->begin > e->end)
        return fail("%s: tensor '%s' needs data_offsets [begin, end] with begin <= end", path, e->name);
    if (e->end > data_size)
        return fail("%s: tensor '%s' data_offsets [%llu, %llu] run past the end of the data (%llu bytes)",
                    path, e->name, (unsigned long long)e->begin, (unsigned long long)e->end,
                    (unsigned long long)data_size);
    if (e->end - e->begin != numel * element) {
        char s[96];
        shape_string(s, sizeof s, e->rank, e->shape);
        return fail("%s: tensor '%s' of shape %s needs %llu bytes but data_offsets span %llu", path, e->name,
                    s, (unsigned long long)(numel * element), (unsigned long long)(e->end - e->begin));
    }
    return NULL;
}

static const char *parse_metadata(const char *path, const cJSON *item, SafetensorsMeta *meta) {
    if (!cJSON_IsObject(item)) return fail("%s: __metadata__ is not a JSON object", path);
    if (cJSON_GetArraySize(item) > MAX_METADATA)
        return fail("%s: __metadata__ has %d entries; at most %d are read", path, cJSON_GetArraySize(item),
                    MAX_METADATA);
    for (const cJSON *m = item->child; m; m = m->next) {
        if (!cJSON_IsString(m)) return fail("%s: metadata '%s' is not a string", path, m->string);
        safetensors_meta_set(meta, m->string, m->valuestring);
    }
    return NULL;
}

// Everything that can be checked without reading tensor data: entries sorted by offset on return.
static const char *parse_header(const char *path, const char *json, size_t len, uint64_t data_size,
                                Entry **entries, int *count, SafetensorsMeta *meta) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!root)
        return fail("%s: the header is not valid JSON (error near byte %td)", path,
                    (cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - json : 0) + 8);
    const char *err = NULL;
    for (const char *p = end; p < json + len && !err; p++) // only padding may follow the JSON
        if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r')
            err = fail("%s: text after the JSON header", path);
    if (!err && !cJSON_IsObject(root)) err = fail("%s: the header is not a JSON object", path);
    int n = 0, items = err ? 0 : cJSON_GetArraySize(root);
    if (items > MAX_TENSORS + 1)
        err = fail("%s: the header lists %d entries; sgdlab reads at most %d tensors", path, items,
                   MAX_TENSORS);
    *entries = err ? NULL : checked_realloc(NULL, sizeof(Entry) * (size_t)(items + 1));
    for (const cJSON *item = err ? NULL : root->child; item && !err; item = item->next) {
        if (strcmp(item->string, "__metadata__") == 0) {
            err = parse_metadata(path, item, meta);
            continue;
        }
        Entry *e = &(*entries)[n];
        err = parse_entry(path, item, data_size, e);
        if (!err) e->name = copy_string(e->name), n++; // the name outlives the JSON tree
    }
    // A name twice is refused: sorted by name, twins are neighbours (O(n log n), not every pair).
    if (!err && n > 1) {
        qsort(*entries, (size_t)n, sizeof(Entry), by_name);
        for (int i = 1; i < n && !err; i++)
            if (strcmp((*entries)[i - 1].name, (*entries)[i].name) == 0)
                err = fail("%s: tensor '%s' appears twice", path, (*entries)[i].name);
    }
    cJSON_Delete(root);
    // Laid end to end from 0 to the end of the file: no gaps, no overlaps.
    if (!err && n > 0) qsort(*entries, (size_t)n, sizeof(Entry), by_begin);
    uint64_t at = 0;
    for (int i = 0; i < n && !err; i++) {
        if ((*entries)[i].begin != at)
            err = fail("%s: tensor '%s' starts at byte %llu of the data, expected %llu (tensors overlap or "
                       "leave a gap)",
                       path, (*entries)[i].name, (unsigned long long)(*entries)[i].begin,
                       (unsigned long long)at);
        at = (*entries)[i].end;
    }
    if (!err && at != data_size)
        err = fail("%s: the tensors cover %llu bytes but the file holds %llu after the header", path,
                   (unsigned long long)at, (unsigned long long)data_size);
    *count = n;
    return err;
}

void safetensors_file_free(SafetensorsFile *f) {
    for (int i = 0; i < f->count; i++) {
        free(f->names[i]);
        tensor_free(f->tensors[i]);
    }
    free(f->names), free(f->tensors);
    safetensors_meta_free(&f->meta);
    memset(f, 0, sizeof *f);
}

// Read and check a safetensors image of file_size bytes from f, which is at its start.
static const char *load_stream(const char *path, FILE *f, uint64_t file_size, SafetensorsFile *out) {
    memset(out, 0, sizeof *out);
    const char *err = NULL;
    char *json = NULL;
    Entry *entries = NULL;
    int count = 0;
    unsigned char len_bytes[8];
    uint64_t header_len = 0;
    if (file_size < 8 || fread(len_bytes, 1, 8, f) != 8) {
        err = fail("%s: %llu bytes is too short for the 8-byte header length", path,
                   (unsigned long long)file_size);
        goto done;
    }
    // torch.save writes a zip archive (before PyTorch 1.6, a pickle that opens with its protocol byte):
    // what a user who downloaded torchvision's weights has in hand before converting them.
    if (memcmp(len_bytes, "PK\3\4", 4) == 0 || memcmp(len_bytes, "\x80\x02\x8a\x0a", 4) == 0) {
        err = fail("%s: this is a PyTorch file (torch.save's .pth), not safetensors; torchvision's ResNet "
                   "weights convert with /usr/bin/python3 scripts/torchvision_to_safetensors.py FILE.pth "
                   "FILE.safetensors",
                   path);
        goto done;
    }
    for (int b = 0; b < 8; b++) header_len |= (uint64_t)len_bytes[b] << (8 * b);
    if (header_len > file_size - 8) {
        err =
            fail("%s: header length %llu is larger than the file (%llu bytes): truncated or not safetensors",
                 path, (unsigned long long)header_len, (unsigned long long)file_size);
        goto done;
    }
    if (header_len > MAX_HEADER_BYTES) {
        err = fail("%s: header length %llu is over the %llu-byte limit", path, (unsigned long long)header_len,
                   (unsigned long long)MAX_HEADER_BYTES);
        goto done;
    }
    json = sgd_malloc(header_len + 1);
    if (fread(json, 1, header_len, f) != header_len) {
        err = fail("%s: cannot read the header: %s", path, strerror(errno));
        goto done;
    }
    json[header_len] = '\0';
    err = parse_header(path, json, header_len, file_size - 8 - header_len, &entries, &count, &out->meta);
    if (err) goto done;

    // Every check passed: now, and only now, read the data (in file order: one forward sweep).
    out->names = sgd_calloc((size_t)count + 1, sizeof(char *));
    out->tensors = sgd_calloc((size_t)count + 1, sizeof(Tensor *));
    for (int i = 0; i < count; i++) {
        if (entries[i].skip) {
            if (fseek(f, (long)(entries[i].end - entries[i].begin), SEEK_CUR) != 0) {
                err = fail("%s: cannot skip tensor '%s': %s", path, entries[i].name, strerror(errno));
                goto done;
            }
            continue;
        }
        Tensor *t = tensor_zeros(entries[i].rank, entries[i].shape);
        int k = out->count++;
        out->names[k] = (char *)entries[i].name;
        out->tensors[k] = t;
        entries[i].name = NULL; // now owned by out
        if (fread(t->data, sizeof(float), t->numel, f) != t->numel) {
            err = fail("%s: cannot read tensor '%s': %s", path, out->names[k],
                       ferror(f) ? strerror(errno) : "file shrank");
            goto done;
        }
    }
done:
    for (int i = 0; i < count; i++) free((char *)entries[i].name);
    free(entries);
    free(json);
    if (err) safetensors_file_free(out);
    return err;
}

const char *safetensors_load(const char *path, SafetensorsFile *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return fail("%s: %s", path, strerror(errno));
    struct stat st;
    const char *err = fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)
                          ? fail("%s: not a regular file", path)
                          : load_stream(path, f, (uint64_t)st.st_size, out);
    fclose(f);
    return err;
}

const char *safetensors_load_memory(const char *name, const void *bytes, size_t size, SafetensorsFile *out) {
    memset(out, 0, sizeof *out);
    if (size < 8) return fail("%s: %zu bytes is too short for the 8-byte header length", name, size);
    FILE *f = fmemopen((void *)bytes, size, "rb");
    if (!f) return fail("%s: %s", name, strerror(errno));
    const char *err = load_stream(name, f, size, out);
    fclose(f);
    return err;
}

Tensor *safetensors_get(const SafetensorsFile *f, const char *name) {
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->names[i], name) == 0) return f->tensors[i];
    return NULL;
}

const char *safetensors_copy_into(const SafetensorsFile *f, int n, const char *const *names,
                                  Tensor *const *dst) {
    for (int i = 0; i < n; i++) {
        const Tensor *src = safetensors_get(f, names[i]);
        if (!src) return fail("the file has no tensor '%s'", names[i]);
        if (!tensor_same_shape(src, dst[i])) {
            char a[64], b[64];
            return fail("tensor '%s' has shape %s in the file but the model expects %s", names[i],
                        tensor_shape_str(src, a, sizeof a), tensor_shape_str(dst[i], b, sizeof b));
        }
    }
    for (int i = 0; i < n; i++) {
        const Tensor *src = safetensors_get(f, names[i]);
        memcpy(dst[i]->data, src->data, sizeof(float) * src->numel);
    }
    return NULL;
}
