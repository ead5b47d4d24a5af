// sepgen's WebGL2 runner: runs the GLSL ES 300 passes of each emitted folder in SEPGEN_JOBS
// (written by sepgen/run/webgl.py into job.js beside this file) on its image, in one WebGL2
// context, and writes {"renderer", "results": [{"pixels"} | {"error"}, ...]} (pixels: the output
// texture as base64 little-endian float32 RGBA, texture row 0 first) or {"error"} into <pre id="result">.
"use strict";
(function () {
  const result = document.getElementById("result");
  const fail = (message) => { result.textContent = JSON.stringify({ error: message }); };

  function decode(b64) {
    const s = atob(b64);
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  }

  function encode(f32) {
    const bytes = new Uint8Array(f32.buffer);
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  function firstError(log) {
    const lines = (log || "").split("\n").map((l) => l.trim()).filter((l) => l);
    return lines.find((l) => l.toUpperCase().includes("ERROR")) || lines[0] || "no log";
  }

  function shader(gl, type, source, name) {
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(name + " failed to compile in WebGL2: " + firstError(gl.getShaderInfoLog(s)));
    return s;
  }

  function program(gl, p) {
    const prog = gl.createProgram();
    gl.attachShader(prog, shader(gl, gl.VERTEX_SHADER, p.vertex_source, p.vertex));
    gl.attachShader(prog, shader(gl, gl.FRAGMENT_SHADER, p.fragment_source, p.fragment));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(p.vertex + " + " + p.fragment + " failed to link in WebGL2: " + firstError(gl.getProgramInfoLog(prog)));
    return prog;
  }

  function bindInputs(gl, job, prog, p, textures) {
    for (const inp of p.inputs) {
      const filter = inp.filter === "linear" ? gl.LINEAR : gl.NEAREST;
      const sampler = gl.createSampler();
      gl.samplerParameteri(sampler, gl.TEXTURE_MIN_FILTER, filter);
      gl.samplerParameteri(sampler, gl.TEXTURE_MAG_FILTER, filter);
      gl.samplerParameteri(sampler, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.samplerParameteri(sampler, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      gl.activeTexture(gl.TEXTURE0 + inp.binding);
      gl.bindTexture(inp.texture in job.layers ? gl.TEXTURE_2D_ARRAY : gl.TEXTURE_2D, textures[inp.texture]);
      gl.bindSampler(inp.binding, sampler);
      const loc = gl.getUniformLocation(prog, inp.uniform);
      if (loc !== null) gl.uniform1i(loc, inp.binding); // null: the pass reads nothing from it
    }
  }

  function framebuffer(gl, targets, textures, layers) {
    const fbo = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
    targets.forEach((name, loc) => {
      const layer = layers ? layers[loc] : null; // a layer of an array texture (intermediates="array")
      if (layer !== null && layer !== undefined) gl.framebufferTextureLayer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + loc, textures[name], 0, layer);
      else gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + loc, gl.TEXTURE_2D, textures[name], 0);
    });
    gl.drawBuffers(targets.map((_, loc) => gl.COLOR_ATTACHMENT0 + loc));
    const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
    if (status !== gl.FRAMEBUFFER_COMPLETE) throw new Error("framebuffer of " + targets.join(", ") + " is incomplete (0x" + status.toString(16) + ")");
    return fbo;
  }

  function runPass(gl, job, p, textures) {
    const prog = program(gl, p);
    gl.useProgram(prog);
    bindInputs(gl, job, prog, p, textures);
    framebuffer(gl, p.targets, textures, p.layers);
    if (p.blend === "additive") {
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE);
      gl.blendEquation(gl.FUNC_ADD);
    } else {
      gl.disable(gl.BLEND);
    }
    gl.viewport(0, 0, job.width, job.height);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    const err = gl.getError();
    if (err !== gl.NO_ERROR) throw new Error("GL error 0x" + err.toString(16) + " after pass " + p.name + " (" + p.fragment + ")");
  }

  function textureSet(gl, job) {
    const formats = { rgba32f: gl.RGBA32F, rgba16f: gl.RGBA16F, r11g11b10f: gl.R11F_G11F_B10F };
    const textures = {};
    for (const [name, fmt] of Object.entries(job.textures)) {
      const t = gl.createTexture();
      const kind = name in job.layers ? gl.TEXTURE_2D_ARRAY : gl.TEXTURE_2D;
      gl.bindTexture(kind, t);
      if (name in job.layers) gl.texStorage3D(kind, 1, formats[fmt], job.width, job.height, job.layers[name]);
      else gl.texStorage2D(kind, 1, formats[fmt], job.width, job.height);
      gl.texParameteri(kind, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(kind, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      textures[name] = t;
    }
    gl.bindTexture(gl.TEXTURE_2D, textures[job.source]);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, job.width, job.height, gl.RGBA, gl.FLOAT, decode(job.image));
    return textures;
  }

  function runJob(gl, job) {
    try {
      const textures = textureSet(gl, job);
      for (const p of job.passes) runPass(gl, job, p, textures);
      framebuffer(gl, [job.output], textures);
      const pixels = new Float32Array(job.width * job.height * 4);
      gl.readPixels(0, 0, job.width, job.height, gl.RGBA, gl.FLOAT, pixels);
      const err = gl.getError();
      for (const t of Object.values(textures)) gl.deleteTexture(t);
      if (err !== gl.NO_ERROR) return { error: "GL error 0x" + err.toString(16) + " reading the output back" };
      return { pixels: encode(pixels) };
    } catch (e) {
      return { error: String((e && e.message) || e) };
    }
  }

  try {
    const jobs = SEPGEN_JOBS; // eslint-disable-line no-undef
    const canvas = document.createElement("canvas");
    canvas.width = jobs[0].width;
    canvas.height = jobs[0].height;
    const gl = canvas.getContext("webgl2", { antialias: false, depth: false, stencil: false });
    if (!gl) return fail("no WebGL2 context");
    const extensions = new Set(jobs.flatMap((j) => j.extensions));
    for (const ext of extensions) if (!gl.getExtension(ext)) return fail("the WebGL2 extension " + ext + " is missing");
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    gl.bindVertexArray(gl.createVertexArray()); // no attributes: the vertex shader uses gl_VertexID
    const results = jobs.map((job) => runJob(gl, job));
    result.textContent = JSON.stringify({ renderer: renderer + " (" + gl.getParameter(gl.VERSION) + ")", results: results });
  } catch (e) {
    fail(String((e && e.message) || e));
  }
})();
