/* Uses sepgen's generated GLSL include the way an engine does: the include text
 * (embedded at build time as bokeh_glsl[]) goes between the #version line and the
 * pass's own main(). The filter is emitted with `intermediates = "array"`: the horizontal
 * pass writes layer k of one array texture for each component k (bokeh_h0_LAYERS colour
 * attachments) and the vertical pass reads the array, so nothing here depends on the rank
 * (see manifest.json for the wiring: the intermediate's `layers`, each output's `layer`).
 *
 * usage: blur_demo OUT_DIR   writes OUT_DIR/bokeh_h.frag and OUT_DIR/bokeh_v.frag
 */
#include <stdio.h>
#include <string.h>

#include "bokeh_glsl.h"

static const char VERSION[] = "#version 330\n";

static const char H_MAIN[] =
    "uniform sampler2D u_source;\n"
    "layout(location = 0) out vec4 o_t[bokeh_h0_LAYERS];\n"
    "void main() { bokeh_h0(u_source, ivec2(gl_FragCoord.xy), o_t); }\n";

static const char V_MAIN[] =
    "uniform sampler2DArray u_t;\n"
    "layout(location = 0) out vec4 o_color;\n"
    "void main() { o_color = bokeh_v0(u_t, ivec2(gl_FragCoord.xy)); }\n";

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
    if (!strstr(bokeh_glsl, "#define bokeh_h0_LAYERS")) {
        fprintf(stderr, "blur_demo: the embedded include is not sepgen's bokeh filter with array intermediates\n");
        return 1;
    }
    if (write_shader(argv[1], "bokeh_h.frag", H_MAIN) || write_shader(argv[1], "bokeh_v.frag", V_MAIN))
        return 1;
    printf("embedded bokeh.glsl: %zu bytes; wrote %s/bokeh_h.frag and %s/bokeh_v.frag\n",
           strlen(bokeh_glsl), argv[1], argv[1]);
    return 0;
}
