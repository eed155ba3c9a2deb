// plot.h — plots through gnuplot, fed over a pipe with the data inline.
//
// Where a plot goes is the learner's choice (--plot window|png|none):
//   window  a gnuplot window that stays open after the program ends (needs a display and a
//           gnuplot with a GUI terminal, e.g. Debian's `gnuplot` package);
//   png     a file OUT_DIR/NAME.png (pngcairo), the default with no display;
//   none    nothing.
// Plotting never blocks and never fails a run: with no gnuplot installed the first plot prints one
// warning line and every plot after that is silently skipped.
#ifndef SGDLAB_PLOT_H
#define SGDLAB_PLOT_H

#include <stdbool.h>
#include <stdio.h>

typedef enum { PLOT_NONE, PLOT_PNG, PLOT_WINDOW } PlotTarget;

typedef struct {
    PlotTarget target;
    const char *out_dir; // where PNG files go (created when needed)
    const char *key;     // where the legend goes, in gnuplot's words; NULL: "top left"
} PlotConfig;

// "window" | "png" | "none" | "auto" (or NULL: auto = window when possible, else png).
PlotConfig plot_config(const char *target, const char *out_dir);

// One open plot. plot_open returns NULL when nothing should be drawn.
typedef struct {
    FILE *pipe;
    char path[512]; // the PNG being written, "" for a window
} Plot;

Plot *plot_open(const PlotConfig *cfg, const char *name, const char *title);
// Send one gnuplot command line (printf-style).
void plot_cmd(Plot *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Send n (x, y) rows then gnuplot's end-of-data marker "e": one '-' data block of a plot command.
void plot_data(Plot *p, const float *x, const float *y, int n);
// Finish: waits for gnuplot to write the file, prints "plot: PATH" and frees p.
void plot_close(Plot *p);

// A series of points for the ready-made plots below.
typedef struct {
    const char *label;
    const float *x, *y;
    int n;
    const char *style; // gnuplot style, e.g. "points pt 7 ps 0.5" or "lines lw 2"
} PlotSeries;

// Several series on one set of axes; log_x / log_y for loss curves and LR-finder curves. A log x axis
// gets one tic per power of ten, labelled as plot_log_tic_label says.
void plot_series(const PlotConfig *cfg, const char *name, const char *title, const char *xlabel,
                 const char *ylabel, bool log_x, bool log_y, const PlotSeries *series, int n_series);
// The label of the tic at 10^exponent, the way people write learning rates: 1e-7 ... 1e-4, then
// 0.001 ... 10000, then 1e5 ...
void plot_log_tic_label(int exponent, char *buf, size_t size);

// A surface z(x, y) seen from above: a heat map with contour lines, and paths drawn over it (e.g. the
// descent path over a loss surface). z holds nx * ny values, z[j * nx + i] at x_i, y_j on an even grid
// over [x_min, x_max] x [y_min, y_max]. log_z colours and contours log10(z), for losses.
typedef struct {
    const float *z;
    int nx, ny;
    float x_min, x_max, y_min, y_max;
    bool log_z;
    const char *z_label; // the colour bar's label, e.g. "log10(loss)"
} PlotGrid;

void plot_contour(const PlotConfig *cfg, const char *name, const char *title, const char *xlabel,
                  const char *ylabel, const PlotGrid *grid, const PlotSeries *paths, int n_paths);

// The same kind of surface as a 3-D bowl (gnuplot splot, seen from above at an angle) with paths
// drawn on it: point i of a path is (x[i], y[i], z[i]). In a window it turns with the mouse.
typedef struct {
    const char *label;
    const float *x, *y, *z;
    int n;
    const char *style; // e.g. "linespoints pt 7 ps 0.5 lw 2 lc rgb '#d62728'"
} PlotPath3d;

void plot_surface_3d(const PlotConfig *cfg, const char *name, const char *title, const char *xlabel,
                     const char *ylabel, const char *zlabel, const PlotGrid *grid, const PlotPath3d *paths,
                     int n_paths);

#endif
