// clean_window.c — the cleaner's SDL2 window: pages of pictures, worst first, each with its name,
// label, prediction, probability and loss, and buttons (or keys) to keep, delete or relabel it.
//
// A decision moves the file at once (through the journal, clean.h) and is remembered per picture, not
// per page: changing the split or the class shown only changes which pictures are on the pages, so no
// decision is ever dropped (fastai's widget lost them: fastbook #359, fastai #3084). `u` walks back.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anim.h"
#include "clean.h"
#include "image.h"
#include "trash.h"

enum {
    MAX_CLASS_BUTTONS = 5,
    WIDTH = 1280,
    HEIGHT = 860,
    HEADER = 46,
    FOOTER = 62,
    TEXT_LINE = 19,
    MAX_BUTTONS = 24 * 12 + 8
};

typedef enum { UNDECIDED, KEPT, DELETED, RELABELED } Decision;

// What a click on a button (or a key) does.
typedef enum {
    DO_SELECT,
    DO_KEEP,
    DO_DELETE,
    DO_RELABEL,
    DO_UNDO,
    DO_CONFIRM,
    DO_PREV,
    DO_SPLIT,
    DO_CLASS,
    DO_QUIT
} Do;

typedef struct {
    int x, y, w, h;
    Do what;
    int slot, cls;
} Button;

typedef struct {
    int pic; // ds index
    Decision decision;
    int cls;
    char *rel;     // where the file was before
    char *new_rel; // where the action put it
} Step;

typedef struct {
    int key, cls, x, y; // cls for a scripted r:CLASS, x y for a click
} Input;

typedef struct {
    const Interpretation *in;
    const CleanEntry *entries;
    int n_entries;
    const char *dir;
    const CleanWindowOptions *opt;
    Anim *anim;
    CleanJournal journal; // opened at the first decision, so a window only looked at writes nothing
    bool journal_open;

    Decision *decision; // per picture (ds index)
    int *cls;
    char **rel, **orig_rel;

    const char *split;
    int class_filter;
    int *view, n_view; // entries shown, in order
    int page, selected;
    Step *steps;
    int n_steps, cap_steps;

    int cached[24];
    Image images[24];
    Button buttons[MAX_BUTTONS];
    int n_buttons;
    char status[512];
    bool status_error, failed, quit;
} Window;

static const AnimColor BACKGROUND = {246, 246, 243}, INK = {25, 25, 25}, GREY = {120, 120, 120},
                       PANEL = {228, 228, 222}, KEEP = {40, 150, 60}, DELETE = {200, 40, 40},
                       RELABEL = {40, 90, 205}, SELECT = {255, 165, 0}, BUTTON = {210, 210, 204},
                       WHITE = {255, 255, 255};

// ---- the pictures on the pages ----

static void build_view(Window *w) {
    w->n_view = 0;
    for (int i = 0; i < w->n_entries; i++)
        if (clean_entry_shown(w->entries, i, w->split, w->class_filter)) w->view[w->n_view++] = i;
}

static int n_pages(const Window *w) {
    return w->n_view ? (w->n_view + w->opt->per_page - 1) / w->opt->per_page : 1;
}

static int on_page(const Window *w) { // pictures on the current page
    int left = w->n_view - w->page * w->opt->per_page;
    return left < 0 ? 0 : left < w->opt->per_page ? left : w->opt->per_page;
}

static int pic_at(const Window *w, int slot) {
    return w->entries[w->view[w->page * w->opt->per_page + slot]].s.index;
}

// After a filter change: the first page that still has an undecided picture, on that picture.
static void go_to_open_page(Window *w) {
    w->page = w->selected = 0;
    for (int v = 0; v < w->n_view; v++)
        if (w->decision[w->entries[w->view[v]].s.index] == UNDECIDED) {
            w->page = v / w->opt->per_page, w->selected = v % w->opt->per_page;
            return;
        }
}

// The status line under the pages, echoed on stdout (errors on stderr) so a scripted run can be read.
static void say(Window *w, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(Window *w, bool error, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->status, sizeof w->status, fmt, ap);
    va_end(ap);
    w->status_error = error;
    clean_print(error ? stderr : stdout, "%s%s", error ? "bears clean: " : "", w->status);
    if (error) w->failed = true;
}

// ---- decisions ----

static bool ensure_journal(Window *w) {
    char err[8192];
    if (w->journal_open) return true;
    w->journal_open = clean_journal_open(&w->journal, w->dir, "window", "", err, sizeof err);
    if (!w->journal_open) say(w, true, "%s", err);
    return w->journal_open;
}

static void push_step(Window *w, Step s) {
    if (w->n_steps == w->cap_steps) {
        w->cap_steps = w->cap_steps ? 2 * w->cap_steps : 64;
        w->steps = realloc(w->steps, sizeof(Step) * (size_t)w->cap_steps);
    }
    w->steps[w->n_steps++] = s;
}

static const char *folder_of(const char *rel, char *buf, size_t size) {
    rel += clean_split_length(rel);
    snprintf(buf, size, "%.*s", (int)strcspn(rel, "/"), rel);
    return buf;
}

// Put picture pic into the state `d` (cls for a relabel), moving its file as needed.
static void decide(Window *w, int pic, Decision d, int cls) {
    const char *const *classes = (const char *const *)w->in->model.classes;
    int label = w->in->ds.labels[pic];
    if (d == RELABELED && cls == label) d = KEPT; // back into its own folder is keeping it
    if (!ensure_journal(w)) return;
    char err[1024], moved[4096], folder[512];
    const char *now = w->rel[pic];
    bool ok;
    if (d == KEPT && strcmp(now, w->orig_rel[pic]) == 0) {
        ok = clean_keep(&w->journal, now, err, sizeof err);
        snprintf(moved, sizeof moved, "%s", now);
    } else if (d == KEPT) { // kept after all: back to its own class folder, under a free name
        char dest[4096], home[4096];
        snprintf(home, sizeof home, "%s/%.*s%s", w->dir, (int)clean_split_length(w->orig_rel[pic]),
                 w->orig_rel[pic], classes[label]);
        ok = free_path(home, path_base(w->orig_rel[pic]), dest, sizeof dest);
        snprintf(moved, sizeof moved, "%s", clean_relative(w->dir, dest));
        ok = ok && clean_move(&w->journal, "keep", now, moved, err, sizeof err);
    } else if (d == DELETED && strncmp(now, ".trash/", 7) == 0) {
        ok = true;
        snprintf(moved, sizeof moved, "%s", now);
    } else if (d == DELETED) {
        ok = clean_delete(&w->journal, now, moved, sizeof moved, err, sizeof err);
    } else if (strcmp(folder_of(now, folder, sizeof folder), classes[cls]) == 0) {
        ok = true;
        snprintf(moved, sizeof moved, "%s", now);
    } else {
        ok = clean_relabel(&w->journal, now, classes[cls], moved, sizeof moved, err, sizeof err);
    }
    if (!ok) {
        say(w, true, "%s", err);
        return;
    }
    push_step(w, (Step){pic, w->decision[pic], w->cls[pic], strdup(now), strdup(moved)});
    static const char *const verbs[] = {"", "kept", "deleted", "relabeled"};
    if (strcmp(now, moved) == 0)
        say(w, false, "%-9s %s", verbs[d], now);
    else
        say(w, false, "%-9s %s -> %s", verbs[d], now, moved);
    free(w->rel[pic]);
    w->rel[pic] = strdup(moved);
    w->decision[pic] = d, w->cls[pic] = cls;
}

static void undo(Window *w) {
    if (w->n_steps == 0) {
        say(w, false, "nothing to undo");
        return;
    }
    Step *s = &w->steps[w->n_steps - 1];
    char err[8192];
    if (!clean_move(&w->journal, "undo", s->new_rel, s->rel, err, sizeof err)) {
        say(w, true, "%s", err);
        return;
    }
    if (strcmp(s->rel, s->new_rel) == 0)
        say(w, false, "undone: the decision on %s", s->rel);
    else
        say(w, false, "undone: %s is back at %s", s->new_rel, s->rel);
    int pic = s->pic;
    free(w->rel[pic]);
    w->rel[pic] = s->rel;
    w->decision[pic] = s->decision, w->cls[pic] = s->cls;
    free(s->new_rel);
    w->n_steps--;
    // Show the picture that changed, wherever the pages are now.
    for (int v = 0; v < w->n_view; v++)
        if (w->entries[w->view[v]].s.index == pic) {
            w->page = v / w->opt->per_page, w->selected = v % w->opt->per_page;
            break;
        }
}

// Enter: what is still undecided on this page is kept, and the next page comes.
static void confirm_page(Window *w) {
    for (int slot = 0; slot < on_page(w); slot++)
        if (w->decision[pic_at(w, slot)] == UNDECIDED) decide(w, pic_at(w, slot), KEPT, 0);
    if (w->page + 1 < n_pages(w)) {
        w->page++, w->selected = 0;
    } else {
        snprintf(w->status, sizeof w->status, "that was the last page: q quits, p goes back");
        w->status_error = false;
    }
}

static void act(Window *w, Do what, int slot, int cls) {
    if (slot >= 0 && slot < on_page(w)) w->selected = slot;
    bool has_pic = w->selected < on_page(w);
    int pic = has_pic ? pic_at(w, w->selected) : -1;
    switch (what) {
    case DO_SELECT:
        return;
    case DO_KEEP:
    case DO_DELETE:
    case DO_RELABEL:
        if (!has_pic) return;
        if (what == DO_RELABEL && cls < 0) { // r: relabel to what the model predicts
            cls = w->entries[w->view[w->page * w->opt->per_page + w->selected]].s.predicted;
            if (cls == w->in->ds.labels[pic]) {
                say(w, false, "the model agrees with the label %s; relabel with a number key (1-%d)",
                    w->in->model.classes[cls], w->in->model.n_classes);
                return;
            }
        }
        decide(w, pic, what == DO_KEEP ? KEPT : what == DO_DELETE ? DELETED : RELABELED, cls);
        if (w->selected + 1 < on_page(w)) w->selected++;
        return;
    case DO_UNDO:
        undo(w);
        return;
    case DO_CONFIRM:
        confirm_page(w);
        return;
    case DO_PREV:
        if (w->page > 0) w->page--, w->selected = 0;
        return;
    case DO_SPLIT:
        w->split = strcmp(w->split, "valid") == 0   ? "train"
                   : strcmp(w->split, "train") == 0 ? "all"
                                                    : "valid";
        build_view(w), go_to_open_page(w);
        return;
    case DO_CLASS:
        w->class_filter = w->class_filter + 1 < w->in->model.n_classes ? w->class_filter + 1 : -1;
        build_view(w), go_to_open_page(w);
        return;
    case DO_QUIT:
        w->quit = true;
        return;
    }
}

// ---- drawing ----

// Columns for a page of n pictures on a wide window (8: 4 x 2), the rows then filled evenly (4: 2 x 2).
static int grid_columns(int n) {
    int cols = n <= 3 ? n : (int)ceil(sqrt(n * 1.6)), rows = (n + cols - 1) / cols;
    return (n + rows - 1) / rows;
}

static void add_button(Window *w, int x, int y, int bw, int bh, Do what, int slot, int cls, AnimColor fill,
                       const char *label) {
    if (w->n_buttons == MAX_BUTTONS) return;
    w->buttons[w->n_buttons++] = (Button){x, y, bw, bh, what, slot, cls};
    anim_rect(w->anim, x, y, bw, bh, fill, true);
    anim_rect(w->anim, x, y, bw, bh, GREY, false);
    int tw = anim_text_width(w->anim, ANIM_TEXT_NORMAL, label);
    anim_text(w->anim, x + (bw - tw) / 2, y + (bh - 18) / 2, ANIM_TEXT_NORMAL, INK, "%s", label);
}

// Text that fits in `width` pixels, shortened in the middle ("black/00…07.jpg") when it does not.
static void fit_text(Window *w, const char *text, int width, char *out, size_t size) {
    snprintf(out, size, "%s", text);
    size_t n = strlen(text);
    for (size_t cut = 1; cut < n && anim_text_width(w->anim, ANIM_TEXT_NORMAL, out) > width; cut++) {
        size_t keep = (n - cut) / 2;
        snprintf(out, size, "%.*s\xe2\x80\xa6%s", (int)keep, text, text + n - (n - cut - keep));
    }
    for (char *c = out; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' '; // a name with a newline, drawn on one line
}

static const Image *picture(Window *w, int slot) {
    int pic = pic_at(w, slot);
    if (w->cached[slot] != pic) {
        char err[256];
        image_free(&w->images[slot]);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", w->dir, w->rel[pic]);
        w->cached[slot] = image_load(path, &w->images[slot], err, sizeof err) ? pic : -1;
    }
    return w->cached[slot] == pic ? &w->images[slot] : NULL;
}

static void draw_tile(Window *w, int slot, int x, int y, int cw, int ch) {
    const Interpretation *in = w->in;
    const CleanEntry *e = &w->entries[w->view[w->page * w->opt->per_page + slot]];
    int pic = e->s.index, side = ch - 12 - 3 * TEXT_LINE - 36, C = in->model.n_classes;
    if (side > cw - 16) side = cw - 16;
    int px = x + (cw - side) / 2, py = y + 6;
    Decision d = w->decision[pic];
    AnimColor mark = d == KEPT ? KEEP : d == DELETED ? DELETE : d == RELABELED ? RELABEL : PANEL;
    anim_rect(w->anim, px - 4, py - 4, side + 8, side + 8, mark, true);
    for (int k = 7; slot == w->selected && k <= 9; k++)
        anim_rect(w->anim, px - k, py - k, side + 2 * k, side + 2 * k, SELECT, false);
    if (w->n_buttons < MAX_BUTTONS)
        w->buttons[w->n_buttons++] = (Button){px, py, side, side, DO_SELECT, slot, -1};
    const Image *img = picture(w, slot);
    anim_rect(w->anim, px, py, side, side, WHITE, true);
    if (img) { // the whole picture, its shape kept, centred in the square
        float k = fminf((float)side / img->width, (float)side / img->height);
        int iw = (int)(img->width * k), ih = (int)(img->height * k);
        anim_image(w->anim, px + (side - iw) / 2, py + (side - ih) / 2, iw, ih, img->rgb, img->width,
                   img->height);
    } else {
        anim_text(w->anim, px + 10, py + side / 2, ANIM_TEXT_NORMAL, DELETE, "cannot read the file");
    }
    if (d != UNDECIDED) {
        char tag[128];
        snprintf(tag, sizeof tag, "%s", d == KEPT ? "kept" : d == DELETED ? "deleted" : "relabeled: ");
        if (d == RELABELED) strncat(tag, in->model.classes[w->cls[pic]], sizeof tag - strlen(tag) - 1);
        int tw = anim_text_width(w->anim, ANIM_TEXT_LARGE, tag);
        anim_rect(w->anim, px, py, tw + 12, 32, mark, true);
        anim_text(w->anim, px + 6, py + 2, ANIM_TEXT_LARGE, WHITE, "%s", tag);
    }
    char text[512];
    int ty = py + side + 6, tx = x + 8, tw = cw - 16;
    fit_text(w, w->rel[pic], tw, text, sizeof text);
    anim_text(w->anim, tx, ty, ANIM_TEXT_NORMAL, INK, "%s", text);
    bool wrong = e->s.predicted != e->s.label;
    anim_text(w->anim, tx, ty + TEXT_LINE, ANIM_TEXT_NORMAL, wrong ? DELETE : INK, "label %s, predicted %s",
              in->model.classes[e->s.label], in->model.classes[e->s.predicted]);
    if (e->pair)
        anim_text(w->anim, tx, ty + 2 * TEXT_LINE, ANIM_TEXT_NORMAL, GREY, "pair %d  cosine %.4f  %s",
                  e->pair, e->similarity, e->s.valid ? "valid" : "train");
    else
        anim_text(w->anim, tx, ty + 2 * TEXT_LINE, ANIM_TEXT_NORMAL, GREY, "p=%.3f  loss %.2f  %s",
                  e->s.prob_predicted, e->s.loss, e->s.valid ? "valid" : "train");
    // keep, delete, and one button per other class (with many classes, the number keys only)
    int n_buttons = 2 + (C <= MAX_CLASS_BUTTONS + 1 ? C - 1 : 0), by = ty + 3 * TEXT_LINE + 4, gap = 4;
    int bw = (tw - gap * (n_buttons - 1)) / n_buttons, bx = tx;
    add_button(w, bx, by, bw, 24, DO_KEEP, slot, -1, d == KEPT ? KEEP : BUTTON, "keep");
    bx += bw + gap;
    add_button(w, bx, by, bw, 24, DO_DELETE, slot, -1, d == DELETED ? DELETE : BUTTON, "delete");
    for (int c = 0; c < C; c++) {
        if (c == e->s.label || n_buttons == 2) continue;
        bx += bw + gap;
        char label[128];
        snprintf(label, sizeof label, "%d:%s", c + 1, in->model.classes[c]);
        fit_text(w, label, bw - 4, text, sizeof text);
        add_button(w, bx, by, bw, 24, DO_RELABEL, slot, c,
                   d == RELABELED && w->cls[pic] == c ? RELABEL : BUTTON, text);
    }
}

static void render(Window *w) {
    Anim *a = w->anim;
    const Interpretation *in = w->in;
    w->n_buttons = 0;
    anim_clear(a, BACKGROUND);
    int counts[4] = {0};
    for (int i = 0; i < in->ds.n; i++) counts[w->decision[i]]++;
    anim_rect(a, 0, 0, WIDTH, HEADER, PANEL, true);
    anim_text(a, 12, 10, ANIM_TEXT_LARGE, INK, "page %d/%d", w->page + 1, n_pages(w));
    anim_text(a, 170, 15, ANIM_TEXT_NORMAL, INK,
              "%d pictures shown: split %s, class %s, %s   |   %d kept, %d deleted, %d relabeled", w->n_view,
              w->split, w->class_filter < 0 ? "all" : in->model.classes[w->class_filter],
              w->entries[0].pair ? "duplicate pairs" : "worst first", counts[KEPT], counts[DELETED],
              counts[RELABELED]);
    int per = w->opt->per_page, cols = grid_columns(per), rows = (per + cols - 1) / cols;
    int cw = WIDTH / cols, ch = (HEIGHT - HEADER - FOOTER) / rows;
    for (int slot = 0; slot < on_page(w); slot++)
        draw_tile(w, slot, (slot % cols) * cw, HEADER + 8 + (slot / cols) * ch, cw, ch);
    if (w->n_view == 0)
        anim_text(a, 40, HEADER + 40, ANIM_TEXT_LARGE, GREY,
                  "no pictures for this split and class (s, c change them)");
    int fy = HEIGHT - FOOTER;
    anim_rect(a, 0, fy, WIDTH, FOOTER, PANEL, true);
    char split_label[64], class_label[128];
    snprintf(split_label, sizeof split_label, "split: %s (s)", w->split);
    snprintf(class_label, sizeof class_label, "class: %s (c)",
             w->class_filter < 0 ? "all" : in->model.classes[w->class_filter]);
    add_button(w, 10, fy + 6, 150, 26, DO_CONFIRM, -1, -1, BUTTON, "confirm page (enter)");
    add_button(w, 168, fy + 6, 120, 26, DO_PREV, -1, -1, BUTTON, "previous (p)");
    add_button(w, 296, fy + 6, 90, 26, DO_UNDO, -1, -1, BUTTON, "undo (u)");
    add_button(w, 394, fy + 6, 150, 26, DO_SPLIT, -1, -1, BUTTON, split_label);
    add_button(w, 552, fy + 6, 170, 26, DO_CLASS, -1, -1, BUTTON, class_label);
    add_button(w, 730, fy + 6, 80, 26, DO_QUIT, -1, -1, BUTTON, "quit (q)");
    anim_text(a, 820, fy + 10, ANIM_TEXT_NORMAL, GREY,
              "arrows select  k keep  d delete  r relabel as predicted");
    anim_text(a, 820, fy + 28, ANIM_TEXT_NORMAL, GREY, "1-%d relabel to that class  f screenshot",
              in->model.n_classes);
    char line[600];
    fit_text(w, w->status, WIDTH - 20, line, sizeof line);
    anim_text(a, 10, fy + 40, ANIM_TEXT_NORMAL, w->status_error ? DELETE : INK, "%s", line);
}

// ---- input ----

static void handle(Window *w, Input in) {
    int cols = grid_columns(w->opt->per_page);
    switch (in.key) {
    case ANIM_KEY_CLOSE:
    case ANIM_KEY_ESCAPE:
    case 'q':
        return act(w, DO_QUIT, -1, -1);
    case ANIM_KEY_LEFT:
        if (w->selected > 0) w->selected--;
        return;
    case ANIM_KEY_RIGHT:
        if (w->selected + 1 < on_page(w)) w->selected++;
        return;
    case ANIM_KEY_UP:
        if (w->selected >= cols) w->selected -= cols;
        return;
    case ANIM_KEY_DOWN:
        if (w->selected + cols < on_page(w)) w->selected += cols;
        return;
    case ANIM_KEY_ENTER:
    case ANIM_KEY_SPACE:
        return act(w, DO_CONFIRM, -1, -1);
    case 'k':
        return act(w, DO_KEEP, -1, -1);
    case 'd':
        return act(w, DO_DELETE, -1, -1);
    case 'r':
        return act(w, DO_RELABEL, -1, in.cls);
    case 'u':
        return act(w, DO_UNDO, -1, -1);
    case 'p':
        return act(w, DO_PREV, -1, -1);
    case 's':
        return act(w, DO_SPLIT, -1, -1);
    case 'c':
        return act(w, DO_CLASS, -1, -1);
    case 'f': {
        char path[4096];
        render(w); // the frame as it stands, without the previous screenshot's message
        // clean.png, clean-1.png, ...: a screenshot never replaces a file
        if (make_dirs(w->opt->out_dir) && free_path(w->opt->out_dir, "clean.png", path, sizeof path) &&
            anim_save_frame(w->anim, path))
            say(w, false, "screenshot: %s", path);
        else
            say(w, true, "cannot save a screenshot in %s", w->opt->out_dir);
        return;
    }
    case ANIM_KEY_CLICK:
        for (int b = w->n_buttons - 1; b >= 0; b--) {
            const Button *k = &w->buttons[b];
            if (in.x >= k->x && in.x < k->x + k->w && in.y >= k->y && in.y < k->y + k->h)
                return act(w, k->what, k->slot, k->cls);
        }
        return;
    default:
        if (in.key >= '1' && in.key <= '9' && in.key - '1' < w->in->model.n_classes)
            return act(w, DO_RELABEL, -1, in.key - '1');
    }
}

// "d,k,r:grizzly,enter,u,click:200:300" into inputs; false (with err) on a token it does not know.
static bool parse_keys(const char *keys, const Interpretation *in, Input **out, int *n, char *err,
                       size_t err_size) {
    static const struct {
        const char *name;
        int key;
    } named[] = {{"enter", ANIM_KEY_ENTER}, {"space", ANIM_KEY_SPACE}, {"left", ANIM_KEY_LEFT},
                 {"right", ANIM_KEY_RIGHT}, {"up", ANIM_KEY_UP},       {"down", ANIM_KEY_DOWN},
                 {"esc", ANIM_KEY_ESCAPE}};
    *n = 0;
    *out = malloc(sizeof(Input) * (strlen(keys) + 1));
    char *copy = strdup(keys), *save = NULL;
    bool ok = *out && copy;
    for (char *t = strtok_r(copy, ",", &save); ok && t; t = strtok_r(NULL, ",", &save)) {
        Input k = {ANIM_KEY_NONE, -1, 0, 0};
        char tail;
        if (strlen(t) == 1 && strchr("kdrupscqf123456789", t[0])) k.key = t[0];
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
            if (strcmp(t, named[i].name) == 0) k.key = named[i].key;
        if (strncmp(t, "r:", 2) == 0)
            for (int c = 0; c < in->model.n_classes; c++)
                if (strcmp(t + 2, in->model.classes[c]) == 0) k.key = 'r', k.cls = c;
        if (sscanf(t, "click:%d:%d%c", &k.x, &k.y, &tail) == 2) k.key = ANIM_KEY_CLICK;
        if (k.key == ANIM_KEY_NONE) {
            snprintf(
                err, err_size,
                "--keys: '%s' is not a key (k d r r:CLASS u p s c q f 1-9 enter space left right up down esc "
                "click:X:Y)",
                t);
            ok = false;
        }
        (*out)[(*n)++] = k;
    }
    free(copy);
    return ok;
}

int clean_window(const Interpretation *in, const CleanEntry *entries, int n, const char *dir,
                 const CleanWindowOptions *opt) {
    char err[8192];
    Input *script = NULL;
    int n_script = 0;
    if (opt->keys && !parse_keys(opt->keys, in, &script, &n_script, err, sizeof err)) {
        clean_print(stderr, "bears clean: %s", err);
        free(script);
        return 2;
    }
    if (n == 0) {
        clean_print(stdout, "clean: nothing to show (no pictures%s)", entries ? " pass the filters" : "");
        free(script);
        return 0;
    }
    AnimConfig config = {"bears clean", WIDTH, HEIGHT, 30, opt->frames_dir};
    Window w = {.in = in, .entries = entries, .n_entries = n, .dir = dir, .opt = opt};
    w.anim = anim_open(&config, err, sizeof err);
    if (!w.anim) {
        clean_print(stderr, "bears clean: %s; use --export FILE to clean without a window", err);
        free(script);
        return 1;
    }
    if (anim_is_headless(w.anim) && !script) { // nobody can press a key in a window that is not shown
        clean_print(stderr,
                    "bears clean: a headless window (--frames, SDL_VIDEODRIVER=offscreen) needs --keys");
        anim_close(w.anim);
        return 2;
    }
    int N = in->ds.n;
    w.decision = calloc((size_t)N, sizeof(Decision));
    w.cls = calloc((size_t)N, sizeof(int));
    w.rel = calloc((size_t)N, sizeof(char *));
    w.orig_rel = calloc((size_t)N, sizeof(char *));
    w.view = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < N; i++)
        w.rel[i] = strdup(clean_relative(dir, in->ds.paths[i])), w.orig_rel[i] = strdup(w.rel[i]);
    for (int s = 0; s < 24; s++) w.cached[s] = -1;
    w.split = opt->split, w.class_filter = opt->class_filter;
    build_view(&w);
    go_to_open_page(&w);
    snprintf(w.status, sizeof w.status,
             "%d pictures; the model's worst first. Nothing is deleted: files go to %s/.trash", n, dir);
    for (int next = 0; !w.quit;) {
        render(&w);
        if (!anim_present(w.anim)) {
            w.failed = true;
            break;
        }
        if (script) { // one scripted input per frame, then done
            if (next == n_script) break;
            handle(&w, script[next++]);
            continue;
        }
        bool shift;
        for (int key; !w.quit && (key = anim_poll_key(w.anim, &shift)) != ANIM_KEY_NONE;) {
            Input k = {key, -1, 0, 0};
            if (key == ANIM_KEY_CLICK) anim_last_click(w.anim, &k.x, &k.y);
            handle(&w, k);
        }
    }
    int counts[4] = {0};
    for (int i = 0; i < N; i++) counts[w.decision[i]]++;
    if (w.journal_open)
        clean_print(stdout,
                    "clean: %d kept, %d deleted (in %s/.trash), %d relabeled; journal %s/%s; undo with: "
                    "bears clean --undo-all %s",
                    counts[KEPT], counts[DELETED], dir, counts[RELABELED], dir, CLEAN_JOURNAL, dir);
    else
        clean_print(stdout, "clean: nothing decided, nothing moved");
    if (w.journal_open && !clean_journal_close(&w.journal, err, sizeof err)) {
        clean_print(stderr, "bears clean: %s", err);
        w.failed = true;
    }
    anim_close(w.anim);
    for (int i = 0; i < N; i++) free(w.rel[i]), free(w.orig_rel[i]);
    for (int s = 0; s < w.n_steps; s++) free(w.steps[s].rel), free(w.steps[s].new_rel);
    for (int s = 0; s < 24; s++) image_free(&w.images[s]);
    free(w.decision), free(w.cls), free(w.rel), free(w.orig_rel), free(w.view), free(w.steps), free(script);
    return w.failed ? 1 : 0;
}
