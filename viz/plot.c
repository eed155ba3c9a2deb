// plot.c — a thin pipe to gnuplot. Everything gnuplot needs goes down the pipe as text.
#include "plot.h"
#include "files.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool gnuplot_checked, gnuplot_present;

static bool have_gnuplot(void) {
    if (!gnuplot_checked) {
        gnuplot_checked = true;
        gnuplot_present = system("command -v gnuplot >/dev/null 2>&1") == 0;
        if (!gnuplot_present)
            fprintf(stderr, "warning: gnuplot is not installed, so no plots are drawn "
                            "(apt-get install gnuplot-nox for PNGs, gnuplot for windows)\n");
    }
    return gnuplot_present;
}

// A window needs a display and a gnuplot built with a GUI terminal (gnuplot-nox has none).
static bool has_display(void) {
    const char *display = getenv("DISPLAY"), *wayland = getenv("WAYLAND_DISPLAY");
    return (display && *display) || (wayland && *wayland);
}

static bool gui_terminal(void) {
    return system("gnuplot -e 'set terminal' 2>&1 | grep -qE '^ *(qt|wxt|x11) '") == 0;
}

static bool can_open_window(void) {
    return has_display() && gui_terminal();
}

PlotConfig plot_config(const char *target, const char *out_dir) {
    PlotConfig cfg = {.target = PLOT_PNG, .out_dir = out_dir ? out_dir : "out"};
    if (target && strcmp(target, "none") == 0)
        cfg.target = PLOT_NONE;
    else if (target && strcmp(target, "png") == 0)
        cfg.target = PLOT_PNG;
    else if (target && strcmp(target, "window") == 0) {
        // Asked for a window that cannot open: say why, and keep the pictures as files instead.
        cfg.target = PLOT_WINDOW;
        const char *why = !have_gnuplot()   ? NULL // have_gnuplot() has said so already
                          : !has_display()  ? "there is no display (DISPLAY is not set)"
                          : !gui_terminal() ? "this gnuplot has no window terminal (apt-get install gnuplot)"
                                            : NULL;
        if (why) {
            fprintf(stderr, "warning: --plot window: %s, so the plots go to PNG files in %s/ instead\n", why,
                    cfg.out_dir);
            cfg.target = PLOT_PNG;
        }
    } else
        cfg.target = (have_gnuplot() && can_open_window()) ? PLOT_WINDOW : PLOT_PNG;
    return cfg;
}

Plot *plot_open(const PlotConfig *cfg, const char *name, const char *title) {
    if (cfg->target == PLOT_NONE || !have_gnuplot()) return NULL;
    Plot *p = calloc(1, sizeof(Plot));
    if (!p) return NULL;
    if (cfg->target == PLOT_PNG) {
        if (!make_dirs(cfg->out_dir) || access(cfg->out_dir, W_OK) != 0) { // gnuplot would fail quietly
            fprintf(stderr, "warning: cannot create plot folder '%s', skipping plot %s\n", cfg->out_dir,
                    name);
            free(p);
            return NULL;
        }
        snprintf(p->path, sizeof p->path, "%s/%s.png", cfg->out_dir, name);
    }
    // -persist keeps a window open after gnuplot exits, so the lab never waits for it.
    p->pipe = popen(cfg->target == PLOT_WINDOW ? "gnuplot -persist 2>/dev/null" : "gnuplot 2>/dev/null", "w");
    if (!p->pipe) {
        free(p);
        return NULL;
    }
    if (cfg->target == PLOT_PNG) {
        plot_cmd(p, "set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'");
        plot_cmd(p, "set output '%s'", p->path);
    }
    plot_cmd(p, "set title \"%s\" noenhanced", title);
    plot_cmd(p, "set grid");
    plot_cmd(p, "set key %s box opaque", cfg->key ? cfg->key : "top left");
    return p;
}

void plot_cmd(Plot *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->pipe, fmt, ap);
    va_end(ap);
    fputc('\n', p->pipe);
}

void plot_data(Plot *p, const float *x, const float *y, int n) {
    // gnuplot skips points written as NaN, so a diverged run still plots up to where it blew up.
    for (int i = 0; i < n; i++) {
        if (isfinite(x[i]) && isfinite(y[i]))
            fprintf(p->pipe, "%.9g %.9g\n", x[i], y[i]);
        else
            fprintf(p->pipe, "NaN NaN\n");
    }
    fprintf(p->pipe, "e\n");
}

void plot_close(Plot *p) {
    if (!p) return;
    int status = pclose(p->pipe);
    if (p->path[0]) {
        if (status == 0)
            printf("plot: %s\n", p->path);
        else
            fprintf(stderr, "warning: gnuplot could not draw %s\n", p->path);
    }
    free(p);
}

void plot_log_tic_label(int exponent, char *buf, size_t size) {
    if (exponent >= -3 && exponent <= 4)
        snprintf(buf, size, "%g", pow(10, exponent));
    else
        snprintf(buf, size, "1e%d", exponent);
}

// One tic per power of ten over the data, labelled by plot_log_tic_label (gnuplot's own labels read
// 0.0000001). A wider right margin keeps the last label from being cut off at the edge.
static void log_x_tics(Plot *p, const PlotSeries *series, int n_series) {
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++)
            if (isfinite(series[s].x[i]) && series[s].x[i] > 0)
                lo = fmin(lo, series[s].x[i]), hi = fmax(hi, series[s].x[i]);
    if (!(lo <= hi)) return;
    int first = (int)floor(log10(lo) + 1e-9), last = (int)ceil(log10(hi) - 1e-9);
    if (last == first) last++;
    fprintf(p->pipe, "set xtics (");
    for (int e = first; e <= last; e++) {
        char label[16];
        plot_log_tic_label(e, label, sizeof label);
        fprintf(p->pipe, "%s\"%s\" 1e%d", e > first ? ", " : "", label, e);
    }
    fprintf(p->pipe, ")\n");
    plot_cmd(p, "set xrange [1e%d:1e%d]", first, last);
    plot_cmd(p, "set rmargin 5");
}

void plot_series(const PlotConfig *cfg, const char *name, const char *title, const char *xlabel,
                 const char *ylabel, bool log_x, bool log_y, const PlotSeries *series, int n_series) {
    Plot *p = plot_open(cfg, name, title);
    if (!p) return;
    plot_cmd(p, "set xlabel \"%s\"", xlabel);
    plot_cmd(p, "set ylabel \"%s\"", ylabel);
    if (log_x) plot_cmd(p, "set logscale x"), log_x_tics(p, series, n_series);
    if (log_y) plot_cmd(p, "set logscale y");
    fprintf(p->pipe, "plot ");
    for (int s = 0; s < n_series; s++)
        fprintf(p->pipe, "%s'-' with %s title \"%s\" noenhanced", s ? ", " : "", series[s].style,
                series[s].label);
    fputc('\n', p->pipe);
    for (int s = 0; s < n_series; s++) plot_data(p, series[s].x, series[s].y, series[s].n);
    plot_close(p);
}

// The grid as gnuplot's named data block $grid: rows of "x y z", a blank line after each row of y.
static void send_grid(Plot *p, const PlotGrid *g) {
    plot_cmd(p, "$grid << EOD");
    for (int j = 0; j < g->ny; j++) {
        float y = g->y_min + (g->y_max - g->y_min) * (float)j / (float)(g->ny - 1);
        for (int i = 0; i < g->nx; i++) {
            float x = g->x_min + (g->x_max - g->x_min) * (float)i / (float)(g->nx - 1);
            float z = g->z[j * g->nx + i];
            fprintf(p->pipe, "%.6g %.6g %.6g\n", x, y, g->log_z ? log10f(fmaxf(z, 1e-30f)) : z);
        }
        fputc('\n', p->pipe);
    }
    plot_cmd(p, "EOD");
}

// The grid's extent and the axis names, for both views of a surface.
static void grid_axes(Plot *p, const PlotGrid *g, const char *xlabel, const char *ylabel) {
    plot_cmd(p, "set xrange [%g:%g]", g->x_min, g->x_max);
    plot_cmd(p, "set yrange [%g:%g]", g->y_min, g->y_max);
    plot_cmd(p, "set xlabel \"%s\"", xlabel);
    plot_cmd(p, "set ylabel \"%s\"", ylabel);
}

void plot_contour(const PlotConfig *cfg, const char *name, const char *title, const char *xlabel,
                  const char *ylabel, const PlotGrid *g, const PlotSeries *paths, int n_paths) {
    Plot *p = plot_open(cfg, name, title);
    if (!p) return;
    // The grid goes into a named data block so it can be used twice: once to trace contour lines
    // into a table, once as the heat map under them.
    send_grid(p, g);
    plot_cmd(p, "set view map");
    plot_cmd(p, "set contour base");
    plot_cmd(p, "unset surface");
    plot_cmd(p, "set cntrparam levels 14");
    plot_cmd(p, "set table $contours");
    plot_cmd(p, "splot $grid with lines");
    plot_cmd(p, "unset table");
    plot_cmd(p, "unset contour");
    grid_axes(p, g, xlabel, ylabel);
    plot_cmd(p, "set cblabel \"%s\"", g->z_label);
    plot_cmd(p, "set palette rgb 33,13,10");
    fprintf(p->pipe, "plot $grid with image notitle, $contours with lines lc rgb '#ffffff' lw 0.8 notitle");
    for (int s = 0; s < n_paths; s++)
        fprintf(p->pipe, ", '-' with %s title \"%s\" noenhanced", paths[s].style, paths[s].label);
    fputc('\n', p->pipe);
    for (int s = 0; s < n_paths; s++) plot_data(p, paths[s].x, paths[s].y, paths[s].n);
    plot_close(p);
}

void plot_surface_3d(const PlotConfig *cfg, const char *name, const char *title, const char *xlabel,
                     const char *ylabel, const char *zlabel, const PlotGrid *g, const PlotPath3d *paths,
                     int n_paths) {
    Plot *p = plot_open(cfg, name, title);
    if (!p) return;
    send_grid(p, g);
    float z_max = 0;
    for (size_t i = 0; i < (size_t)g->nx * g->ny; i++) z_max = fmaxf(z_max, g->z[i]);
    // Seen from 60 degrees above the floor, turned 30 degrees: the bowl's rim and its bottom both show.
    plot_cmd(p, "set view 60, 30, 1, 1.1");
    plot_cmd(p, "set xyplane at 0");
    grid_axes(p, g, xlabel, ylabel);
    plot_cmd(p, "set zrange [0:%g]", z_max);
    plot_cmd(p, "set zlabel \"%s\" rotate parallel", zlabel);
    plot_cmd(p, "set palette rgb 33,13,10");
    plot_cmd(p, "unset colorbox");
    // A see-through coloured surface with its mesh, and contour lines on the floor beneath it.
    plot_cmd(p, "set pm3d depthorder border lc rgb '#555555' lw 0.3");
    plot_cmd(p, "set style fill transparent solid 0.55");
    plot_cmd(p, "set contour base");
    plot_cmd(p, "set cntrparam levels 12");
    plot_cmd(p, "set cntrlabel onecolor");
    plot_cmd(p, "set key top right box opaque");
    fprintf(p->pipe, "splot $grid with pm3d nocontours notitle, "
                     "$grid with lines lc rgb '#777777' lw 0.6 nosurface notitle");
    for (int s = 0; s < n_paths; s++)
        fprintf(p->pipe, ", '-' with %s nocontours title \"%s\" noenhanced", paths[s].style, paths[s].label);
    fputc('\n', p->pipe);
    for (int s = 0; s < n_paths; s++) {
        for (int i = 0; i < paths[s].n; i++) {
            float x = paths[s].x[i], y = paths[s].y[i], z = paths[s].z[i];
            if (isfinite(x) && isfinite(y) && isfinite(z))
                fprintf(p->pipe, "%.9g %.9g %.9g\n", x, y, z);
            else
                fprintf(p->pipe, "NaN NaN NaN\n");
        }
        fprintf(p->pipe, "e\n");
    }
    plot_close(p);
}
