// fuzz_journal.c — the trash journal reader that `bears verify --restore` trusts to move files back: any
// bytes give entries of three strings or a message naming the line, never a crash.
#include <stdint.h>
#include <string.h>

#include "trash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    TrashEntry *entries;
    int count;
    char err[256];
    if (!trash_journal_parse((const char *)data, size, &entries, &count, err, sizeof err))
        return strncmp(err, "line ", 5) != 0 && strcmp(err, "out of memory") != 0;
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += strlen(entries[i].original) + strlen(entries[i].trashed_as) + strlen(entries[i].reason);
    trash_entries_free(entries, count);
    return total > size;
}
