// The example page: filter an image with sepgen's passes in three.js and show / publish the result.
//   index.html?filter=filter/                    the emitted folder (default "filter/"), a test pattern
//   &image=image.f32&width=W&height=H            raw little-endian float32 RGBA, row 0 first
//   &material=shader                             ShaderMaterial instead of RawShaderMaterial
// The result goes into <pre id="result"> as JSON: {width, height, renderer, pixels: base64 float32 RGBA}.
import * as THREE from "three";
import { SepgenFilter, loadSepgenFolder } from "./sepgen-three.js";

const params = new URLSearchParams(location.search);

// A smooth gradient with sharp edges: any blur shows on it.
function testPattern(width, height) {
  const data = new Float32Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      const square = (Math.floor(x / 16) + Math.floor(y / 16)) % 2;
      data[i] = x / width; data[i + 1] = y / height; data[i + 2] = square; data[i + 3] = 1;
    }
  }
  return data;
}

async function loadImage() {
  const width = Number(params.get("width") ?? 128), height = Number(params.get("height") ?? 96);
  if (!params.get("image")) return { width, height, data: testPattern(width, height) };
  const response = await fetch(params.get("image"));
  if (!response.ok) throw new Error(`cannot load ${params.get("image")}: HTTP ${response.status}`);
  const data = new Float32Array(await response.arrayBuffer());
  if (data.length !== width * height * 4) throw new Error(`image has ${data.length} floats, not ${width}x${height}x4`);
  return { width, height, data };
}

function base64(floats) {
  const bytes = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function show(canvas, width, height, pixels) {
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext("2d");
  const rgba = context.createImageData(width, height);
  for (let y = 0; y < height; y++) {  // texture row 0 is image row 0: draw it at the top
    for (let i = 0; i < width * 4; i++) rgba.data[y * width * 4 + i] = Math.max(0, Math.min(255, 255 * pixels[y * width * 4 + i]));
  }
  for (let i = 3; i < rgba.data.length; i += 4) rgba.data[i] = 255;
  context.putImageData(rgba, 0, 0);
}

async function main() {
  const folder = await loadSepgenFolder(params.get("filter") ?? "filter/");
  const { width, height, data } = await loadImage();
  const renderer = new THREE.WebGLRenderer({ canvas: document.createElement("canvas") });
  renderer.debug.onShaderError = (gl, program, vertex, fragment) => {  // three.js would only log it
    const log = [gl.getShaderInfoLog(vertex), gl.getShaderInfoLog(fragment), gl.getProgramInfoLog(program)];
    throw new Error(`shader compile or link failed: ${log.filter(Boolean).join(" ").trim()}`);
  };
  const filter = new SepgenFilter(renderer, folder, width, height, params.get("material") ?? "raw");
  const source = new THREE.DataTexture(data, width, height, THREE.RGBAFormat, THREE.FloatType);
  source.minFilter = source.magFilter = filter.sourceFilter;
  source.needsUpdate = true;
  const output = filter.render(source);
  const pixels = new Float32Array(width * height * 4);
  renderer.readRenderTargetPixels(output, 0, 0, width, height, pixels);
  const gl = renderer.getContext();
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const name = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  show(document.getElementById("output"), width, height, pixels);
  filter.dispose();
  return { width, height, renderer: name, three: THREE.REVISION, filter: folder.manifest.filter, pixels: base64(pixels) };
}

const result = document.getElementById("result");
try {
  result.textContent = JSON.stringify(await main());
} catch (error) {
  result.textContent = JSON.stringify({ error: String(error && error.message || error) });
}
document.title = "done";
