"""WGSL as a browser runs it: WebGPU's default limits plus exactly what the manifest declares.

The client here is written from manifest.json and docs/manifest.md alone (it is not sepgen's
runner): a wgpu device that asks for the manifest's `extensions` as features and its `limits`
on top of the defaults, nothing else, runs every WGSL variant of a disk 20 filter at rank 3
and 6 against the NumPy reference. Marked `gpu` (CI=true: fail without a Vulkan adapter).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sepgen import SeparableFilter, emit, kernels
from sepgen.common.webgpu import WEBGPU_DEFAULT_LIMITS
from sepgen.emit.extensions import required_limits
from sepgen.filters import reference
from sepgen.verify.check import default_image, tolerance_for
from tests.support import hand_filter, unavailable

gpu = pytest.mark.gpu
WGSL_VARIANTS = [o for o in emit.option_combinations() if o["lang"] == "wgsl"]
FORMATS = {"rgba32f": "rgba32float", "rgba16f": "rgba16float"}
DTYPES = {"rgba32f": np.float32, "rgba16f": np.float16}


def disk20(rank: int) -> SeparableFilter:
    """A rank-`rank` SVD of the 20-pixel disk (no fit: mixed-sign components, every tap used)."""
    k = kernels.disk(20)
    k = k / k.sum()
    u, s, vt = np.linalg.svd(k)
    root = np.sqrt(s[:rank])
    return SeparableFilter(f"disk20r{rank}", k, (u[:, :rank] * root).T, vt[:rank] * root[:, None])


# -- a WebGPU client written from the manifest --------------------------------------------------

# WebGPU's default limits, from the spec (https://www.w3.org/TR/webgpu/#limit-default): a browser gives
# them implicitly; wgpu-py fills a limit a request leaves out with the adapter's, so the client names them.
SPEC_DEFAULTS = {
    "maxTextureDimension1D": 8192, "maxTextureDimension2D": 8192, "maxTextureDimension3D": 2048,
    "maxTextureArrayLayers": 256,
    "maxBindGroups": 4, "maxBindGroupsPlusVertexBuffers": 24, "maxBindingsPerBindGroup": 1000,
    "maxDynamicUniformBuffersPerPipelineLayout": 8, "maxDynamicStorageBuffersPerPipelineLayout": 4,
    "maxSampledTexturesPerShaderStage": 16, "maxSamplersPerShaderStage": 16, "maxStorageBuffersPerShaderStage": 8,
    "maxStorageTexturesPerShaderStage": 4, "maxUniformBuffersPerShaderStage": 12, "maxUniformBufferBindingSize": 65536,
    "maxStorageBufferBindingSize": 134217728, "minUniformBufferOffsetAlignment": 256,
    "minStorageBufferOffsetAlignment": 256,
    "maxVertexBuffers": 8, "maxBufferSize": 268435456, "maxVertexAttributes": 16, "maxVertexBufferArrayStride": 2048,
    "maxInterStageShaderVariables": 16, "maxColorAttachments": 8, "maxColorAttachmentBytesPerSample": 32,
    "maxComputeWorkgroupStorageSize": 16384, "maxComputeInvocationsPerWorkgroup": 256, "maxComputeWorkgroupSizeX": 256,
    "maxComputeWorkgroupSizeY": 256, "maxComputeWorkgroupSizeZ": 64, "maxComputeWorkgroupsPerDimension": 65535,
}


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z0-9])", "-", name).lower()  # wgpu-py spells limits in kebab case


@pytest.fixture(scope="module")
def adapter() -> Any:
    try:
        import wgpu
        from wgpu.backends.wgpu_native.extras import set_instance_extras

        try:
            set_instance_extras(backends=["Primary"])  # Vulkan/Metal/D3D12, as a browser's WebGPU
        except Exception:  # an instance exists already (another test's): it keeps its backends
            pass
        found = [a for a in wgpu.gpu.enumerate_adapters_sync()
                 if a.info.get("backend_type") in ("Vulkan", "Metal", "D3D12")]
    except Exception as exc:  # no wgpu, no loader or no driver
        unavailable(f"no WebGPU adapter ({exc})")
    if not found:
        unavailable("no Vulkan/Metal/D3D12 WebGPU adapter")
    return found[0]


class Client:
    """Runs an emitted WGSL folder from its manifest: explicit layouts, one draw or dispatch per pass."""

    def __init__(self, adapter: Any, folder: Path) -> None:
        import wgpu

        self.wgpu, self.folder = wgpu, folder
        self.m = json.loads((folder / "manifest.json").read_text())
        limits = {**SPEC_DEFAULTS, **self.m["limits"]}
        self.device = adapter.request_device_sync(required_features=self.m["extensions"], required_limits={
            _kebab(k): v for k, v in limits.items() if _kebab(k) in adapter.limits})
        self.entries = {f["path"]: f["entry"] for f in self.m["files"]}

    def module(self, path: str) -> Any:
        return self.device.create_shader_module(code=(self.folder / path).read_text())

    def layout(self, p: dict[str, Any], visibility: int) -> tuple[Any, list[dict[str, Any]]]:
        entries, resources = [], []
        for i in p["inputs"]:
            linear = i["filter"] == "linear"
            entries.append({"binding": i["binding"], "visibility": visibility,
                            "texture": {"sample_type": "float" if linear else "unfilterable-float"}})
            resources.append({"binding": i["binding"], "resource": self.textures[i["texture"]].create_view()})
            if "sampler_binding" in i:
                entries.append({"binding": i["sampler_binding"], "visibility": visibility,
                                "sampler": {"type": "filtering"}})
                resources.append({"binding": i["sampler_binding"], "resource": self.device.create_sampler(
                    mag_filter="linear", min_filter="linear",
                    address_mode_u="clamp-to-edge", address_mode_v="clamp-to-edge")})
        for o in p["outputs"] if "compute" in p else ():
            entries.append({"binding": o["binding"], "visibility": visibility, "storage_texture": {
                "access": "write-only", "format": FORMATS[o["format"]]}})
            resources.append({"binding": o["binding"], "resource": self.textures[o["texture"]].create_view()})
        group = self.device.create_bind_group_layout(entries=entries)
        return group, resources

    def run(self, img: np.ndarray) -> np.ndarray:
        wgpu, (h, w) = self.wgpu, img.shape[:2]
        usage = wgpu.TextureUsage
        fmt = {n: t.get("format", "rgba32f") for n, t in self.m["textures"].items()}  # the source: an HDR float32 image
        self.textures = {n: self.device.create_texture(
            size=(w, h, 1), format=FORMATS[f], usage=usage.TEXTURE_BINDING | usage.RENDER_ATTACHMENT
            | usage.STORAGE_BINDING | usage.COPY_SRC | usage.COPY_DST) for n, f in fmt.items()}
        source = next(n for n, t in self.m["textures"].items() if t["role"] == "input")
        output = next(n for n, t in self.m["textures"].items() if t["role"] == "output")
        self.device.queue.write_texture({"texture": self.textures[source]}, np.ascontiguousarray(img, np.float32),
                                        {"bytes_per_row": w * 16, "rows_per_image": h}, (w, h, 1))
        encoder = self.device.create_command_encoder()
        for p in self.m["passes"]:
            compute = "compute" in p
            group, resources = self.layout(p, wgpu.ShaderStage.COMPUTE if compute else wgpu.ShaderStage.FRAGMENT)
            layout = self.device.create_pipeline_layout(bind_group_layouts=[group])
            bind = self.device.create_bind_group(layout=group, entries=resources)
            if compute:
                pipe = self.device.create_compute_pipeline(layout=layout, compute={
                    "module": self.module(p["compute"]), "entry_point": self.entries[p["compute"]]})
                cp = encoder.begin_compute_pass()
                cp.set_pipeline(pipe)
                cp.set_bind_group(0, bind)
                gx, gy = p["workgroup_size"][:2]
                cp.dispatch_workgroups(math.ceil(w / gx), math.ceil(h / gy), 1)
                cp.end()
                continue
            add = {"src_factor": "one", "dst_factor": "one", "operation": "add"}
            outs = sorted(p["outputs"], key=lambda o: o["location"])
            pipe = self.device.create_render_pipeline(
                layout=layout, primitive={"topology": "triangle-list"},
                vertex={"module": self.module(p["vertex"]), "entry_point": self.entries[p["vertex"]]},
                fragment={"module": self.module(p["fragment"]), "entry_point": self.entries[p["fragment"]], "targets": [
                    {"format": FORMATS[o["format"]],
                     "blend": {"color": add, "alpha": add} if p["blend"] == "additive" else None}
                    for o in outs]})
            rp = encoder.begin_render_pass(color_attachments=[
                {"view": self.textures[o["texture"]].create_view(),
                 "load_op": "load" if p["blend"] == "additive" else "clear",
                 "store_op": "store", "clear_value": (0, 0, 0, 0)} for o in outs])
            rp.set_pipeline(pipe)
            rp.set_bind_group(0, bind)
            rp.draw(3)
            rp.end()
        self.device.queue.submit([encoder.finish()])
        data = self.device.queue.read_texture({"texture": self.textures[output]},
                                              {"bytes_per_row": w * 16, "rows_per_image": h}, (w, h, 1))
        return np.frombuffer(data, np.float32).reshape(h, w, 4).copy()


# -- the tests ---------------------------------------------------------------------------------

@gpu
@pytest.mark.parametrize("rank", [3, 6])
@pytest.mark.parametrize("options", WGSL_VARIANTS, ids=[
    "-".join(str(v) for k, v in o.items() if k not in ("lang", "glsl_version")) for o in WGSL_VARIANTS])
def test_every_wgsl_variant_runs_with_the_default_limits_and_the_manifest(adapter, tmp_path, rank, options) -> None:
    filt = disk20(rank)
    emit.write(emit.render(filt, options), tmp_path)
    client = Client(adapter, tmp_path)
    for name, default in SPEC_DEFAULTS.items():  # the device has the defaults, raised only where declared
        if client.device.limits.get(_kebab(name)):  # (wgpu-native reports 0 for the few it does not implement)
            assert client.device.limits[_kebab(name)] == client.m["limits"].get(name, default), name
    assert set(client.device.features) == set(client.m["extensions"])
    img = default_image(channels=4)
    ref = reference.apply_filter(img, filt)
    out = client.run(img)
    rel = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    assert rel <= tolerance_for(filt, options, img, ref), rel


def test_limits_name_what_the_defaults_do_not_cover() -> None:
    """fp32 MRT at rank 3 is 48 bytes per sample (default 32), fp16 at rank 4 fits; a compute first
    pass with 6 storage outputs needs 6 (default 4); workgroups stay within 256 invocations."""
    def manifest(rank: int, **options: Any) -> dict[str, Any]:
        return json.loads(emit.render(disk20(rank), {"lang": "wgsl", **options})["manifest.json"])

    assert manifest(3)["limits"] == {"maxColorAttachmentBytesPerSample": 48}
    assert manifest(2)["limits"] == {} and manifest(4, precision="fp16")["limits"] == {}
    assert manifest(6, stage="compute")["limits"] == {"maxStorageTexturesPerShaderStage": 6}
    assert manifest(6, stage="compute", strategy="per-component")["limits"] == {}
    for p in manifest(6, stage="compute")["passes"]:
        assert p["workgroup_size"][0] * p["workgroup_size"][1] <= 256
    assert "limits" not in json.loads(emit.render(hand_filter(), {"lang": "spirv"})["manifest.json"])
    text = emit.render(disk20(3), {"lang": "wgsl"})["disk20r3_h0.frag.wgsl"]
    assert "needs the WebGPU limits maxColorAttachmentBytesPerSample=48" in text.split("\n\n", 1)[0]
    assert required_limits(emit.EmitOptions.from_dict({"lang": "glsl"}), []) == {}
    assert WEBGPU_DEFAULT_LIMITS == SPEC_DEFAULTS  # sepgen's runner grants the same defaults


@pytest.mark.parametrize("lang, version, feature", [("wgsl", "330", "float32-filterable"),
                                                    ("glsl", "300es", "OES_texture_float_linear")])
def test_fp16_passes_sampling_the_float32_source_linearly_list_the_feature(lang, version, feature) -> None:
    opts = {"lang": lang, "glsl_version": version, "precision": "fp16", "linear_sampling": True}
    assert feature in json.loads(emit.render(disk20(2), opts)["manifest.json"])["extensions"]
    opts["linear_sampling"] = False
    assert feature not in json.loads(emit.render(disk20(2), opts)["manifest.json"])["extensions"]


@gpu
def test_sepgens_runner_grants_only_what_the_manifest_declares(webgpu_runner, tmp_path) -> None:
    """A manifest that leaves out its limit or feature fails on sepgen's runner as in a browser."""
    from sepgen.common.errors import SepgenError
    from sepgen.run.vulkan import load_program

    emit.write(emit.render(disk20(3), {"lang": "wgsl", "linear_sampling": True}), tmp_path)
    img = default_image(channels=4)
    webgpu_runner.run(load_program(tmp_path), img)  # as emitted: runs
    doc = json.loads((tmp_path / "manifest.json").read_text())
    for key, value in (("limits", {}), ("extensions", [])):
        (tmp_path / "manifest.json").write_text(json.dumps({**doc, key: value}))
        with pytest.raises(SepgenError):
            webgpu_runner.run(load_program(tmp_path), img)
    assert webgpu_runner.gpu_device.limits["max-color-attachment-bytes-per-sample"] == 32


@pytest.mark.parametrize("bad", [[48], {"maxColorAttachmentBytesPerSample": "48"}, {"maxColorAttachments": 0},
                                 {"maxColorAttachments": True}])
def test_a_malformed_limits_entry_is_one_line(tmp_path, bad) -> None:
    from sepgen.common.errors import SepgenError
    from sepgen.plan import passmodel

    doc = json.loads(emit.render(disk20(3), {"lang": "wgsl"})["manifest.json"])
    assert passmodel.parse(doc).limits == {"maxColorAttachmentBytesPerSample": 48}
    with pytest.raises(SepgenError, match="'limits' must map WebGPU limit names to positive integers"):
        passmodel.parse({**doc, "limits": bad}, "m.json")


def test_an_adapter_grants_max_limits_up_and_min_limits_down() -> None:
    from sepgen.run.webgpu.runner import _grants

    assert _grants(128, "max-color-attachment-bytes-per-sample", 48)
    assert not _grants(32, "max-color-attachment-bytes-per-sample", 48) and not _grants(None, "max-x", 1)
    assert _grants(32, "min-uniform-buffer-offset-alignment", 256)
    assert not _grants(256, "min-uniform-buffer-offset-alignment", 32)
