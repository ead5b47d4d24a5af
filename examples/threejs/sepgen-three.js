// Run the GLSL ES 3.00 passes that `sepgen emit --glsl-version 300es` writes, in three.js (WebGL2).
// Everything comes from the folder's manifest.json (docs/manifest.md) and its standalone files;
// nothing here knows the filter. docs/engines.md explains each step.
import * as THREE from "three";

const VERSION_LINE = "#version 300 es";

// three.js puts its own `#version 300 es` (glslVersion: THREE.GLSL3) and `#define SHADER_NAME …`
// lines before a RawShaderMaterial's source, and `#version` must come first: drop the file's own.
export function stripVersion(source) {
  const newline = source.indexOf("\n");
  const first = newline < 0 ? source : source.slice(0, newline);
  if (first.trim() !== VERSION_LINE) {
    throw new Error(`not a GLSL ES 3.00 file (first line ${JSON.stringify(first)}): emit with --glsl-version 300es`);
  }
  return source.slice(newline + 1);
}

async function fetchText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load ${url}: HTTP ${response.status}`);
  return response.text();
}

// The manifest and the source of every file its passes name, from the folder at `baseUrl`.
export async function loadSepgenFolder(baseUrl) {
  const base = new URL(baseUrl, document.baseURI);
  const manifest = JSON.parse(await fetchText(new URL("manifest.json", base)));
  if (manifest.format !== "sepgen-manifest/1") throw new Error(`unknown manifest format ${manifest.format}`);
  if (manifest.options.glsl_version !== "300es" || manifest.options.stage !== "fragment") {
    throw new Error("three.js's WebGLRenderer runs fragment passes in GLSL ES 3.00: emit with --glsl-version 300es");
  }
  const names = new Set(manifest.passes.flatMap((p) => [p.vertex, p.fragment]));
  const sources = {};
  await Promise.all([...names].map(async (name) => { sources[name] = await fetchText(new URL(name, base)); }));
  return { manifest, sources };
}

const FORMATS = { rgba32f: THREE.FloatType, rgba16f: THREE.HalfFloatType };
const FILTERS = { nearest: THREE.NearestFilter, linear: THREE.LinearFilter };

// Each texture's filter, from the inputs that read it (three.js keeps the filter on the texture).
function textureFilters(manifest) {
  const filters = {};
  for (const p of manifest.passes) {
    for (const input of p.inputs) {
      if (filters[input.texture] && filters[input.texture] !== input.filter) {
        throw new Error(`${input.texture} is read with both ${filters[input.texture]} and ${input.filter} filtering`);
      }
      filters[input.texture] = input.filter;
    }
  }
  return filters;
}

function renderTarget(width, height, count, format, filter) {
  const type = FORMATS[format];
  if (type === undefined) throw new Error(`unknown texture format ${format}`);
  return new THREE.WebGLRenderTarget(width, height, {
    count, type, format: THREE.RGBAFormat, minFilter: filter, magFilter: filter,
    wrapS: THREE.ClampToEdgeWrapping, wrapT: THREE.ClampToEdgeWrapping,
    depthBuffer: false, stencilBuffer: false, generateMipmaps: false,
  });
}

// "none": overwrite; "additive": ONE, ONE, ADD (THREE.AdditiveBlending is SRC_ALPHA, ONE: not this).
function blending(mode) {
  if (mode === "none") return { blending: THREE.NoBlending };
  if (mode === "additive") {
    return { blending: THREE.CustomBlending, blendEquation: THREE.AddEquation,
             blendSrc: THREE.OneFactor, blendDst: THREE.OneFactor,
             blendEquationAlpha: THREE.AddEquation, blendSrcAlpha: THREE.OneFactor, blendDstAlpha: THREE.OneFactor };
  }
  throw new Error(`blend mode ${mode} is not a fragment-pass mode`);
}

export class SepgenFilter {
  // `materialKind`: "raw" (RawShaderMaterial) or "shader" (ShaderMaterial); both take the
  // file without its #version line and glslVersion: THREE.GLSL3.
  constructor(renderer, { manifest, sources }, width, height, materialKind = "raw") {
    this.renderer = renderer;
    this.manifest = manifest;
    for (const name of manifest.extensions) {
      // WebGLExtensions.has() calls getExtension(), which is what enables an extension in WebGL.
      if (!renderer.extensions.has(name)) throw new Error(`this WebGL2 context lacks ${name}, which the passes need`);
    }
    const filters = textureFilters(manifest);
    this.filters = filters;
    this.targets = {};  // pass index -> its WebGLRenderTarget (MRT: one attachment per output)
    this.textureOf = {};  // texture name -> THREE.Texture, filled as passes create them
    this.output = null;
    for (const p of manifest.passes) {
      const outs = [...p.outputs].sort((a, b) => a.location - b.location);
      if (outs.length === 1 && outs[0].texture === textureWithRole(manifest, "output")) {
        // every pass writing `output` renders into the one output target (later ones add)
        this.output ??= renderTarget(width, height, 1, outs[0].format, FILTERS.nearest);
        this.targets[p.index] = this.output;
        this.textureOf[outs[0].texture] = this.output.texture;
        continue;
      }
      const rt = renderTarget(width, height, outs.length, outs[0].format, FILTERS[filters[outs[0].texture] ?? "nearest"]);
      outs.forEach((o, k) => {
        if (o.location !== k) throw new Error(`pass ${p.name}: output locations are not 0..${outs.length - 1}`);
        this.textureOf[o.texture] = rt.textures[k];
      });
      this.targets[p.index] = rt;
    }
    this.camera = new THREE.Camera();  // the vertex shader ignores it
    this.geometry = new THREE.BufferGeometry();
    this.geometry.setDrawRange(0, 3);  // one fullscreen triangle, no attributes (gl_VertexID)
    this.scenes = manifest.passes.map((p) => this._scene(p, sources, materialKind));
  }

  _scene(p, sources, materialKind) {
    const uniforms = {};
    for (const input of p.inputs) uniforms[input.uniform] = { value: null };
    const Material = materialKind === "shader" ? THREE.ShaderMaterial : THREE.RawShaderMaterial;
    const material = new Material({
      glslVersion: THREE.GLSL3, uniforms,
      vertexShader: stripVersion(sources[p.vertex]), fragmentShader: stripVersion(sources[p.fragment]),
      depthTest: false, depthWrite: false, side: THREE.DoubleSide, ...blending(p.blend),
    });
    const mesh = new THREE.Mesh(this.geometry, material);
    mesh.frustumCulled = false;
    const scene = new THREE.Scene();
    scene.add(mesh);
    return { pass: p, scene, material };
  }

  // The filter the passes read `source` with (THREE.NearestFilter or THREE.LinearFilter).
  get sourceFilter() {
    return FILTERS[this.filters[textureWithRole(this.manifest, "input")] ?? "nearest"];
  }

  // Filter `source` (a THREE.Texture, RGBA, with `sourceFilter` as its min and mag filter)
  // into `this.output` (RGBA32F) and return that render target.
  render(source) {
    const renderer = this.renderer;
    const sourceName = textureWithRole(this.manifest, "input");
    const textures = { ...this.textureOf, [sourceName]: source };
    const autoClear = renderer.autoClear;
    renderer.autoClear = false;  // later passes add into `output`; the first one overwrites it
    try {
      for (const { pass, scene, material } of this.scenes) {
        for (const input of pass.inputs) material.uniforms[input.uniform].value = textures[input.texture];
        renderer.setRenderTarget(this.targets[pass.index]);
        renderer.render(scene, this.camera);
      }
    } finally {
      renderer.setRenderTarget(null);
      renderer.autoClear = autoClear;
    }
    return this.output;
  }

  dispose() {
    for (const rt of new Set(Object.values(this.targets))) rt.dispose();
    for (const { material } of this.scenes) material.dispose();
    this.geometry.dispose();
  }
}

// The name of the manifest's texture with `role` ("input", "output").
export function textureWithRole(manifest, role) {
  return Object.entries(manifest.textures).find(([, t]) => t.role === role)[0];
}
