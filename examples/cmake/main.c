/* Uses sepgen's generated GLSL include the way an engine does: the include text
 * (embedded at build time as bokeh_glsl[]) goes between the #version line and the
 * pass's own main(). The bokeh filter has rank 2, so the horizontal pass writes two
 * targets and the vertical pass reads them (see manifest.json for the wiring).
 *
 * usage: blur_demo OUT_DIR   writes OUT_DIR/bokeh_h.frag and OUT_DIR/bokeh_v.frag
 */
#include <stdio.h>
#include <string.h>

#include "bokeh_glsl.h"

static const char VERSION[] = "#version 330\n";

static const char H_MAIN[] =
    "uniform sampler2D u_source;\n"
    "layout(location = 0) out vec4 o_t0;\n"
    "layout(location = 1) out vec4 o_t1;\n"
    "void main() { bokeh_h0(u_source, ivec2(gl_FragCoord.xy), o_t0, o_t1); }\n";

static const char V_MAIN[] =
    "uniform sampler2D u_t0;\n"
    "uniform sampler2D u_t1;\n"
    "layout(location = 0) out vec4 o_color;\n"
    "void main() { o_color = bokeh_v0(u_t0, u_t1, ivec2(gl_FragCoord.xy)); }\n";

static int write_shader(const char *dir, const char *name, const char *main_text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    /* What glShaderSource would get as three strings. */
    fputs(VERSION, f);
    fputs(bokeh_glsl, f);
    fputs(main_text, f);
    return fclose(f) != 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    if (!strstr(bokeh_glsl, "#define bokeh_RANK 2")) {
        fprintf(stderr, "blur_demo: the embedded include is not sepgen's rank-2 bokeh filter\n");
        return 1;
    }
    if (write_shader(argv[1], "bokeh_h.frag", H_MAIN) || write_shader(argv[1], "bokeh_v.frag", V_MAIN))
        return 1;
    printf("embedded bokeh.glsl: %zu bytes; wrote %s/bokeh_h.frag and %s/bokeh_v.frag\n",
           strlen(bokeh_glsl), argv[1], argv[1]);
    return 0;
}
