// test_safetensors.c — round trip, atomic save, and every refusal of a bad file with its message.
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "safetensors.h"

static char dir[512];

static const char *in_dir(const char *name) {
    static char path[4][600];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

// A file written byte by byte: header length (or a lie about it), header text, data bytes.
static void write_raw(const char *path, const char *header, unsigned long long claimed_len,
                      size_t data_bytes) {
    FILE *f = fopen(path, "wb");
    unsigned long long len = claimed_len ? claimed_len : strlen(header);
    for (int b = 0; b < 8; b++) fputc((int)((len >> (8 * b)) & 0xff), f);
    fputs(header, f);
    for (size_t i = 0; i < data_bytes; i++) fputc(0, f);
    fclose(f);
}

// Loading `path` must fail with a message containing `expected`, and leave nothing to free.
static void expect_refused(const char *what, const char *path, const char *expected) {
    SafetensorsFile f;
    const char *err = safetensors_load(path, &f);
    CHECK(err && strstr(err, expected), "%s: expected an error containing '%s', got '%s'", what, expected,
          err ? err : "(loaded fine)");
    CHECK(f.count == 0 && f.tensors == NULL, "%s: a refused load leaves an empty file struct", what);
    if (err) printf("refused %-22s %s\n", what, err);
}

static int count_temp_files(void) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

static void test_round_trip(Rng *rng) {
    Tensor *a = tensor_normal(SHAPE(2, 3, 4, 5), 0, 1, rng), *b = tensor_normal(SHAPE(7), 0, 1, rng);
    Tensor *scalar = tensor_from(0, NULL, (float[]){42.5f});
    SafetensorsMeta meta = {0};
    safetensors_meta_set(&meta, "arch", "bearnet-s");
    safetensors_meta_set(&meta, "classes", "black,grizzly,teddy");
    safetensors_meta_set(&meta, "arch", "bearnet-s v2"); // replaces, not duplicates
    const char *path = in_dir("round.safetensors");
    const char *err = safetensors_save(path, 3, (const char *[]){"layer.weight", "layer.bias", "step"},
                                       (Tensor *[]){a, b, scalar}, &meta);
    CHECK(err == NULL, "save: %s", err);
    SafetensorsFile f;
    err = safetensors_load(path, &f);
    CHECK(err == NULL, "load: %s", err);
    if (!err) {
        CHECK(f.count == 3, "3 tensors, got %d", f.count);
        Tensor *a2 = safetensors_get(&f, "layer.weight"), *b2 = safetensors_get(&f, "layer.bias");
        Tensor *s2 = safetensors_get(&f, "step");
        CHECK(a2 && tensor_same_shape(a, a2) && memcmp(a->data, a2->data, 4 * a->numel) == 0,
              "weight bit for bit");
        CHECK(b2 && tensor_same_shape(b, b2) && memcmp(b->data, b2->data, 4 * b->numel) == 0,
              "bias bit for bit");
        CHECK(s2 && s2->rank == 0 && s2->data[0] == 42.5f, "a rank-0 tensor survives");
        CHECK(safetensors_get(&f, "nope") == NULL, "absent names give NULL");
        const char *arch = safetensors_meta_get(&f.meta, "arch"),
                   *cls = safetensors_meta_get(&f.meta, "classes");
        CHECK(f.meta.count == 2 && arch && strcmp(arch, "bearnet-s v2") == 0, "arch metadata: %s", arch);
        CHECK(cls && strcmp(cls, "black,grizzly,teddy") == 0, "class metadata: %s", cls);

        // The model-side check: a tensor of another shape is refused and nothing is copied.
        Tensor *dst_ok = tensor_zeros(SHAPE(7)), *dst_bad = tensor_zeros(SHAPE(3, 4, 4, 5));
        err = safetensors_copy_into(&f, 2, (const char *[]){"layer.bias", "layer.weight"},
                                    (Tensor *[]){dst_ok, dst_bad});
        CHECK(err && strstr(err, "has shape [2, 3, 4, 5] in the file but the model expects [3, 4, 4, 5]"),
              "shape mismatch message: %s", err);
        CHECK(dst_ok->data[0] == 0.0f, "a refused copy copies nothing");
        err = safetensors_copy_into(&f, 1, (const char *[]){"missing.weight"}, (Tensor *[]){dst_ok});
        CHECK(err && strstr(err, "no tensor 'missing.weight'"), "missing tensor message: %s", err);
        err = safetensors_copy_into(&f, 1, (const char *[]){"layer.bias"}, (Tensor *[]){dst_ok});
        CHECK(err == NULL && dst_ok->data[6] == b->data[6], "copy_into copies: %s", err);
        tensor_free(dst_ok), tensor_free(dst_bad);
        safetensors_file_free(&f);
    }
    // The header is padded so the data starts 8-byte aligned.
    struct stat st;
    stat(path, &st);
    CHECK((st.st_size - 4 * (2 * 3 * 4 * 5 + 7 + 1)) % 8 == 0, "header + length is a multiple of 8");
    CHECK(count_temp_files() == 0, "no temporary file is left behind");
    err = safetensors_save(path, 2, (const char *[]){"x", "x"}, (Tensor *[]){a, b}, NULL);
    CHECK(err && strstr(err, "both called 'x'"), "duplicate names refused: %s", err);
    safetensors_meta_free(&meta);
    tensor_free(a), tensor_free(b), tensor_free(scalar);
}

// A save that fails halfway (here: the file size limit is hit) must leave the old file as it was.
static void test_atomic_save(Rng *rng) {
    const char *path = in_dir("atomic.safetensors");
    Tensor *small = tensor_normal(SHAPE(4), 0, 1, rng), *big = tensor_zeros(SHAPE(100000));
    CHECK(safetensors_save(path, 1, (const char *[]){"w"}, &small, NULL) == NULL, "first save");
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_IGN); // a write past the limit then fails with EFBIG instead of killing us
    setrlimit(RLIMIT_FSIZE, &(struct rlimit){64 * 1024, old.rlim_max});
    const char *err = safetensors_save(path, 1, (const char *[]){"w"}, &big, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(err && strstr(err, "writing failed") && strstr(err, "untouched"), "failed save reports: %s", err);
    SafetensorsFile f;
    err = safetensors_load(path, &f);
    CHECK(err == NULL && f.count == 1 && f.tensors[0]->numel == 4 &&
              memcmp(f.tensors[0]->data, small->data, 16) == 0,
          "the old file is intact after a failed save: %s", err ? err : "ok");
    if (!err) safetensors_file_free(&f);
    CHECK(count_temp_files() == 0, "the failed save removed its temporary file");
    err = safetensors_save("/nonexistent-dir/m.safetensors", 1, (const char *[]){"w"}, &small, NULL);
    CHECK(err && strstr(err, "cannot create a temporary file"), "unwritable folder: %s", err);
    tensor_free(small), tensor_free(big);
}

static void test_refusals(void) {
    expect_refused("missing file", in_dir("does-not-exist.safetensors"), "No such file");
    FILE *f = fopen(in_dir("short"), "wb");
    fputs("abc", f);
    fclose(f);
    expect_refused("shorter than 8 bytes", in_dir("short"), "too short for the 8-byte header length");

    write_raw(in_dir("hlen"), "{}", 9000, 0);
    expect_refused("header length > file", in_dir("hlen"),
                   "header length 9000 is larger than the file (10 bytes)");

    write_raw(in_dir("json"), "{\"w\": {\"dtype\": \"F32\", \"shape\": [2", 0, 8);
    expect_refused("bad JSON", in_dir("json"), "not valid JSON");

    write_raw(in_dir("dtype"), "{\"w\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 0, 8);
    expect_refused("wrong dtype", in_dir("dtype"), "dtype F16; only F32 is supported");

    write_raw(in_dir("past"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}}", 0, 8);
    expect_refused("offsets past the end", in_dir("past"),
                   "data_offsets [0, 400] run past the end of the data (8 bytes)");

    write_raw(in_dir("shape"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0, 8);
    expect_refused("shape vs byte length", in_dir("shape"),
                   "of shape [3] needs 12 bytes but data_offsets span 8");

    write_raw(in_dir("overlap"),
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
              0, 12);
    expect_refused("overlapping offsets", in_dir("overlap"), "tensors overlap or leave a gap");

    write_raw(in_dir("gap"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0, 8);
    expect_refused("bytes left over", in_dir("gap"), "the tensors cover 4 bytes but the file holds 8");

    write_raw(in_dir("negative"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 0, 4);
    expect_refused("negative size", in_dir("negative"), "shape entry that is not a size");

    write_raw(in_dir("huge"),
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,8,8],\"data_offsets\":[0,4]}}", 0,
              4);
    expect_refused("overflowing shape", in_dir("huge"), "impossibly large shape");

    write_raw(in_dir("meta"), "{\"__metadata__\":{\"size\":64}}", 0, 0);
    expect_refused("non-string metadata", in_dir("meta"), "metadata 'size' is not a string");

    write_raw(in_dir("dup"),
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
              0, 8);
    expect_refused("duplicate names", in_dir("dup"), "tensor 'a' appears twice");

    // A good file cut short: its last tensor's bytes are missing.
    Tensor *t = tensor_ones(SHAPE(10));
    safetensors_save(in_dir("cut"), 1, (const char *[]){"t"}, &t, NULL);
    struct stat st;
    stat(in_dir("cut"), &st);
    CHECK(truncate(in_dir("cut"), st.st_size - 6) == 0, "truncate");
    expect_refused("truncated file", in_dir("cut"), "run past the end of the data (34 bytes)");
    CHECK(truncate(in_dir("cut"), 20) == 0, "truncate"); // cut inside the header
    expect_refused("truncated in header", in_dir("cut"), "is larger than the file (20 bytes)");
    tensor_free(t);
}

// timm's ResNets keep each batch norm's num_batches_tracked as an I64 scalar: checked and skipped, so
// the file loads; I64 under any other name is still refused.
static void test_num_batches_tracked(void) {
    // the counter sits between two F32 tensors, so skipping it must land exactly on the next one
    write_raw(in_dir("timm"),
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"bn1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
              0, 0);
    FILE *f = fopen(in_dir("timm"), "ab");
    float a = 1.5f, b = -2.0f;
    long long counter = 12345;
    fwrite(&a, 4, 1, f), fwrite(&counter, 8, 1, f), fwrite(&b, 4, 1, f);
    fclose(f);
    SafetensorsFile file;
    const char *err = safetensors_load(in_dir("timm"), &file);
    CHECK(err == NULL && file.count == 2, "a file with num_batches_tracked loads, without it: %s, %d tensors",
          err ? err : "ok", err ? 0 : file.count);
    if (!err) {
        Tensor *ta = safetensors_get(&file, "a"), *tb = safetensors_get(&file, "b");
        CHECK(ta && tb && ta->data[0] == a && tb->data[0] == b, "the tensors around it read right");
        CHECK(!safetensors_get(&file, "bn1.num_batches_tracked"), "the counter itself is not kept");
        safetensors_file_free(&file);
    }
    write_raw(in_dir("i64"), "{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 0, 8);
    expect_refused("I64 by another name", in_dir("i64"), "dtype I64; only F32 is supported");
    write_raw(in_dir("i64short"),
              "{\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]}}", 0, 4);
    expect_refused("a counter of 4 bytes", in_dir("i64short"), "needs 8 bytes but data_offsets span 4");
}

// A header of n empty tensors t0..t{n-1}; when twin, the last one repeats the first one's name.
static void write_many_empty(const char *path, int n, bool twin) {
    size_t cap = (size_t)n * 64 + 16, used = 0;
    char *h = malloc(cap);
    used += (size_t)snprintf(h, cap, "{");
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(h + used, cap - used,
                                 "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
                                 i ? "," : "", twin && i == n - 1 ? 0 : i);
    snprintf(h + used, cap - used, "}");
    write_raw(path, h, 0, 0);
    free(h);
}

// The probe's crafted model: 300,000 empty tensors hung the loader for minutes in its all-pairs name
// check. Now the count is bounded first, and names are checked after one sort.
static void test_many_tensors(void) {
    write_many_empty(in_dir("many"), 300000, false);
    expect_refused("300,000 tensors", in_dir("many"), "at most 65536 tensors");
    write_many_empty(in_dir("many-ok"), 60000, false);
    SafetensorsFile f;
    const char *err = safetensors_load(in_dir("many-ok"), &f);
    CHECK(!err && f.count == 60000, "60,000 empty tensors load: %s, %d", err ? err : "ok", f.count);
    safetensors_file_free(&f);
    write_many_empty(in_dir("many-twin"), 60000, true);
    expect_refused("twin among 60,000", in_dir("many-twin"), "tensor 't0' appears twice");
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", SGDLAB_TEST_TMP);
    for (char *p = dir + 1; *p; p++) // mkdir -p
        if (*p == '/') *p = '\0', mkdir(dir, 0755), *p = '/';
    mkdir(dir, 0755);
    Rng rng;
    rng_seed(&rng, 1, 0);
    test_round_trip(&rng);
    test_many_tensors();
    test_atomic_save(&rng);
    test_refusals();
    test_num_batches_tracked();
    return check_done("test_safetensors");
}
