"""Run a `GpuProgram` whose shaders are all SPIR-V on a raw Vulkan device, with no translation.

Every image lives in VK_IMAGE_LAYOUT_GENERAL (legal for sampling, storage, colour
attachments and copies); a full memory barrier separates the passes. Fragment passes
draw one fullscreen triangle into a render pass whose attachments are the pass's targets
(loaded for additive blending, cleared otherwise); compute passes dispatch
ceil(size / workgroup). All textures start at zero.

    runner = VulkanRunner()            # SPIR-V straight to the driver, validation layer when installed
    out = runner.run(program, img)     # a loaded program, a GpuProgram or a folder
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ...common.errors import CheckFailed, SepgenError
from ...common.images import check_image, to_rgba
from ..program import UNIFORM_BYTES, Program, Scale
from .device import Image, VulkanDevice
from .folder import load_program
from .program import BYTES_PER_TEXEL, Binding, GpuPass, GpuProgram, Shader, decode_texels
from .reflect import reflect

DISPLAY = "Vulkan"

__all__ = ["VulkanRunner", "check_interface"]


class _Resources:
    """Images, descriptor sets and pipelines of one program run."""

    def __init__(self, dev: VulkanDevice, program: GpuProgram, width: int, height: int,
                 uniform: bytes | None = None) -> None:
        vk = self.vk = dev.vk
        self.dev, self.program, self.width, self.height = dev, program, width, height
        vk_formats = {"rgba32f": vk.VK_FORMAT_R32G32B32A32_SFLOAT, "rgba16f": vk.VK_FORMAT_R16G16B16A16_SFLOAT,
                      "r11g11b10f": vk.VK_FORMAT_B10G11R11_UFLOAT_PACK32}
        self.formats = {n: ("rgba32f" if n == program.source else f) for n, f in program.textures.items()}
        for name, fmt in self.formats.items():
            if fmt not in vk_formats:
                raise SepgenError(f"texture {name!r}: format {fmt!r} is not one of {', '.join(vk_formats)}")
        self.images = {n: dev.image(width, height, vk_formats[f], program.layers.get(n))
                       for n, f in self.formats.items()}
        self.uniform = dev.buffer(UNIFORM_BYTES, uniform=True)  # the scale of scaled passes
        dev.write(self.uniform, uniform or bytes(UNIFORM_BYTES))

    def module(self, shader: Shader) -> Any:
        if not isinstance(shader.code, bytes):
            raise SepgenError(f"{shader.label}: the raw Vulkan runner takes SPIR-V only")
        vk = self.vk
        info = vk.VkShaderModuleCreateInfo(codeSize=len(shader.code), pCode=shader.code)
        return self.dev.own(vk.vkDestroyShaderModule, vk.vkCreateShaderModule(self.dev.device, info, None))

    def _descriptor(self, b: Binding) -> tuple[int, Any]:
        vk = self.vk
        if b.kind == "sampler":
            mode = vk.VK_FILTER_LINEAR if b.filter == "linear" else vk.VK_FILTER_NEAREST
            clamp = vk.VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE
            info = vk.VkSamplerCreateInfo(magFilter=mode, minFilter=mode, mipmapMode=vk.VK_SAMPLER_MIPMAP_MODE_NEAREST,
                                          addressModeU=clamp, addressModeV=clamp, addressModeW=clamp, maxLod=0.0)
            sampler = self.dev.own(vk.vkDestroySampler, vk.vkCreateSampler(self.dev.device, info, None))
            return vk.VK_DESCRIPTOR_TYPE_SAMPLER, vk.VkDescriptorImageInfo(sampler=sampler)
        if b.kind == "uniform":
            return vk.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, vk.VkDescriptorBufferInfo(
                buffer=self.uniform.handle, offset=0, range=UNIFORM_BYTES)
        if b.texture not in self.images:
            raise SepgenError(f"binding {b.binding} uses unknown texture {b.texture!r}")
        kind = {"texture": vk.VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE, "storage": vk.VK_DESCRIPTOR_TYPE_STORAGE_IMAGE}[b.kind]
        return kind, vk.VkDescriptorImageInfo(imageView=self.images[b.texture].view,
                                              imageLayout=vk.VK_IMAGE_LAYOUT_GENERAL)

    def descriptor_sets(self, p: GpuPass, stage: int) -> tuple[list[Any], list[Any]]:
        """Set layouts and filled descriptor sets for sets 0..max of the pass."""
        vk, device = self.vk, self.dev.device
        count = max((b.group for b in p.bindings), default=-1) + 1
        layouts, sets = [], []
        pool_sizes = [vk.VkDescriptorPoolSize(type=t, descriptorCount=max(1, len(p.bindings))) for t in
                      (vk.VK_DESCRIPTOR_TYPE_SAMPLER, vk.VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE,
                       vk.VK_DESCRIPTOR_TYPE_STORAGE_IMAGE, vk.VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER)]
        pool = self.dev.own(vk.vkDestroyDescriptorPool, vk.vkCreateDescriptorPool(
            device, vk.VkDescriptorPoolCreateInfo(maxSets=max(count, 1), pPoolSizes=pool_sizes), None))
        for g in range(count):
            mine = [(b, *self._descriptor(b)) for b in p.bindings if b.group == g]
            entries = [vk.VkDescriptorSetLayoutBinding(binding=b.binding, descriptorType=t, descriptorCount=1,
                                                       stageFlags=stage)
                       for b, t, _ in mine]
            layout = self.dev.own(vk.vkDestroyDescriptorSetLayout, vk.vkCreateDescriptorSetLayout(
                device, vk.VkDescriptorSetLayoutCreateInfo(pBindings=entries), None))
            dset = vk.vkAllocateDescriptorSets(
                device, vk.VkDescriptorSetAllocateInfo(descriptorPool=pool, pSetLayouts=[layout]))[0]
            writes = [_write(vk, dset, b, t, info) for b, t, info in mine]
            if writes:
                vk.vkUpdateDescriptorSets(device, len(writes), writes, 0, None)
            layouts.append(layout)
            sets.append(dset)
        return layouts, sets


def _write(vk: Any, dset: Any, b: Binding, kind: int, info: Any) -> Any:
    """The descriptor write for one binding: a buffer info for the uniform, an image info otherwise."""
    where = {"pBufferInfo": [info]} if b.kind == "uniform" else {"pImageInfo": [info]}
    return vk.VkWriteDescriptorSet(dstSet=dset, dstBinding=b.binding, descriptorCount=1, descriptorType=kind, **where)


class _Pipelines:
    """Pipelines, render passes and framebuffers; `record` writes a pass into a command buffer."""

    def __init__(self, res: _Resources) -> None:
        self.res, self.vk, self.dev = res, res.vk, res.dev

    def build(self, p: GpuPass) -> dict[str, Any]:
        vk = self.vk
        compute = p.compute is not None
        stage = vk.VK_SHADER_STAGE_COMPUTE_BIT if compute else vk.VK_SHADER_STAGE_FRAGMENT_BIT
        layouts, sets = self.res.descriptor_sets(p, stage)
        layout = self.dev.own(vk.vkDestroyPipelineLayout, vk.vkCreatePipelineLayout(
            self.dev.device, vk.VkPipelineLayoutCreateInfo(pSetLayouts=layouts), None))
        built = {"pass": p, "layout": layout, "sets": sets}
        if p.compute is not None:
            # keep the stage struct in a variable: cffi frees its pName string with a temporary
            shader_stage = vk.VkPipelineShaderStageCreateInfo(
                stage=vk.VK_SHADER_STAGE_COMPUTE_BIT, module=self.res.module(p.compute), pName=p.compute.entry)
            info = vk.VkComputePipelineCreateInfo(layout=layout, stage=shader_stage)
            built["pipeline"] = self.dev.own(
                vk.vkDestroyPipeline, vk.vkCreateComputePipelines(self.dev.device, None, 1, [info], None)[0])
            return built
        if p.vertex is None or p.fragment is None or not p.targets:
            raise SepgenError(f"pass {p.name!r} needs a compute shader, or vertex and fragment shaders and targets")
        built["render_pass"], built["framebuffer"] = self._render_pass(p)
        built["pipeline"] = self._graphics(p, layout, built["render_pass"])
        return built

    def _render_pass(self, p: GpuPass) -> tuple[Any, Any]:
        vk, res = self.vk, self.res
        load = vk.VK_ATTACHMENT_LOAD_OP_LOAD if p.blend == "additive" else vk.VK_ATTACHMENT_LOAD_OP_DONT_CARE
        general = vk.VK_IMAGE_LAYOUT_GENERAL
        attachments = [vk.VkAttachmentDescription(
            format=res.images[t].format, samples=vk.VK_SAMPLE_COUNT_1_BIT, loadOp=load,
            storeOp=vk.VK_ATTACHMENT_STORE_OP_STORE,
            stencilLoadOp=vk.VK_ATTACHMENT_LOAD_OP_DONT_CARE, stencilStoreOp=vk.VK_ATTACHMENT_STORE_OP_DONT_CARE,
            initialLayout=general, finalLayout=general) for t in p.targets]
        refs = [vk.VkAttachmentReference(attachment=i, layout=general) for i in range(len(p.targets))]
        subpass = vk.VkSubpassDescription(pipelineBindPoint=vk.VK_PIPELINE_BIND_POINT_GRAPHICS, pColorAttachments=refs)
        rp = self.dev.own(vk.vkDestroyRenderPass, vk.vkCreateRenderPass(
            self.dev.device, vk.VkRenderPassCreateInfo(pAttachments=attachments, pSubpasses=[subpass]), None))
        layers = p.target_layers or (None,) * len(p.targets)
        views = [res.images[t].view if layer is None else self.dev.layer_view(res.images[t], layer)
                 for t, layer in zip(p.targets, layers)]
        fb_info = vk.VkFramebufferCreateInfo(renderPass=rp, pAttachments=views,
                                             width=res.width, height=res.height, layers=1)
        return rp, self.dev.own(vk.vkDestroyFramebuffer, vk.vkCreateFramebuffer(self.dev.device, fb_info, None))

    def _graphics(self, p: GpuPass, layout: Any, render_pass: Any) -> Any:
        vk, res = self.vk, self.res
        assert p.vertex is not None and p.fragment is not None  # a pass without compute has both (folder.py)
        stages = [vk.VkPipelineShaderStageCreateInfo(stage=vk.VK_SHADER_STAGE_VERTEX_BIT,
                                                     module=res.module(p.vertex), pName=p.vertex.entry),
                  vk.VkPipelineShaderStageCreateInfo(stage=vk.VK_SHADER_STAGE_FRAGMENT_BIT,
                                                     module=res.module(p.fragment), pName=p.fragment.entry)]
        if p.blend not in ("none", "additive"):
            raise SepgenError(f"pass {p.name!r}: blend {p.blend!r} is not valid for a fragment pass")
        one, add = vk.VK_BLEND_FACTOR_ONE, vk.VK_BLEND_OP_ADD
        blend = [vk.VkPipelineColorBlendAttachmentState(
            blendEnable=p.blend == "additive", srcColorBlendFactor=one, dstColorBlendFactor=one, colorBlendOp=add,
            srcAlphaBlendFactor=one, dstAlphaBlendFactor=one, alphaBlendOp=add, colorWriteMask=0xF) for _ in p.targets]
        viewport = vk.VkViewport(x=0.0, y=0.0, width=float(res.width), height=float(res.height),
                                 minDepth=0.0, maxDepth=1.0)
        scissor = vk.VkRect2D(offset=vk.VkOffset2D(x=0, y=0), extent=vk.VkExtent2D(width=res.width, height=res.height))
        info = vk.VkGraphicsPipelineCreateInfo(
            pStages=stages, pVertexInputState=vk.VkPipelineVertexInputStateCreateInfo(),
            pInputAssemblyState=vk.VkPipelineInputAssemblyStateCreateInfo(topology=vk.VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST),
            pViewportState=vk.VkPipelineViewportStateCreateInfo(pViewports=[viewport], pScissors=[scissor]),
            pRasterizationState=vk.VkPipelineRasterizationStateCreateInfo(
                polygonMode=vk.VK_POLYGON_MODE_FILL, cullMode=vk.VK_CULL_MODE_NONE,
                frontFace=vk.VK_FRONT_FACE_COUNTER_CLOCKWISE, lineWidth=1.0),
            pMultisampleState=vk.VkPipelineMultisampleStateCreateInfo(rasterizationSamples=vk.VK_SAMPLE_COUNT_1_BIT),
            pColorBlendState=vk.VkPipelineColorBlendStateCreateInfo(pAttachments=blend),
            layout=layout, renderPass=render_pass, subpass=0)
        return self.dev.own(vk.vkDestroyPipeline,
                            vk.vkCreateGraphicsPipelines(self.dev.device, None, 1, [info], None)[0])

    def record(self, cmd: Any, built: dict[str, Any]) -> None:
        vk, p = self.vk, built["pass"]
        point = vk.VK_PIPELINE_BIND_POINT_COMPUTE if p.compute is not None else vk.VK_PIPELINE_BIND_POINT_GRAPHICS
        if p.compute is None:
            area = vk.VkRect2D(offset=vk.VkOffset2D(x=0, y=0),
                               extent=vk.VkExtent2D(width=self.res.width, height=self.res.height))
            vk.vkCmdBeginRenderPass(cmd, vk.VkRenderPassBeginInfo(renderPass=built["render_pass"],
                                                                  framebuffer=built["framebuffer"],
                                                                  renderArea=area), vk.VK_SUBPASS_CONTENTS_INLINE)
        vk.vkCmdBindPipeline(cmd, point, built["pipeline"])
        if built["sets"]:
            vk.vkCmdBindDescriptorSets(cmd, point, built["layout"], 0, len(built["sets"]), built["sets"], 0, None)
        if p.compute is not None:
            gx, gy = p.workgroup
            vk.vkCmdDispatch(cmd, math.ceil(self.res.width / gx), math.ceil(self.res.height / gy), 1)
        else:
            vk.vkCmdDraw(cmd, 3, 1, 0, 0)
            vk.vkCmdEndRenderPass(cmd)


def check_interface(p: GpuPass, formats: dict[str, str]) -> None:
    """Each module's entry point and resources against the pass's bindings (CheckFailed on the first mismatch)."""
    declared = {(b.group, b.binding): b for b in p.bindings}
    stages = [("compute", p.compute), ("vertex", p.vertex), ("fragment", p.fragment)]
    for model, shader in ((m, s) for m, s in stages if s is not None):
        if not isinstance(shader.code, bytes):
            raise SepgenError(f"{shader.label}: the raw Vulkan runner takes SPIR-V only")
        info = reflect(shader.code, shader.label)
        if info.entry_points.get(shader.entry) != model:
            raise CheckFailed(f"{shader.label}: no {model} entry point {shader.entry!r} "
                              f"(has: {', '.join(info.entry_points) or 'none'})")
        for (group, binding), (kind, fmt) in sorted(info.resources.items()):
            b = declared.get((group, binding))
            if b is None or b.kind != kind:
                what = f"a {b.kind}" if b else "nothing"
                raise CheckFailed(f"{shader.label}: {kind} at set {group} binding {binding}, "
                                  f"the manifest declares {what} there")
            if kind == "storage" and fmt != formats.get(b.texture or ""):
                raise CheckFailed(f"{shader.label}: storage image at set {group} binding {binding} is {fmt} in SPIR-V, "
                                  f"texture {b.texture!r} is {formats.get(b.texture or '')}")


class VulkanRunner:
    """Runs all-SPIR-V programs on one raw Vulkan device; the Khronos validation layer checks every
    call when installed (`validation`: True requires it, False turns it off). A `sepgen.run.registry.Runner`."""

    name = "vulkan"  # its key in sepgen.run.registry.RUNNERS

    def __init__(self, validation: bool | None = None) -> None:
        self.vk_device = VulkanDevice(validation)

    @property
    def adapter_name(self) -> str:
        return self.vk_device.name + (", Khronos validation layer" if self.vk_device.validation else "")

    @property
    def device(self) -> str:
        return f"{DISPLAY}: {self.adapter_name}"

    def close(self) -> None:
        """Destroy the Vulkan device (the runner is unusable afterwards)."""
        self.vk_device.close()

    def run(self, program: Program | GpuProgram | str | os.PathLike, img: np.ndarray,
            scale: Scale = None) -> np.ndarray:
        """Filter `img` (H×W or H×W×C); a scaled program runs at `scale` (a value, or an H×W map)."""
        arr = check_image(img)
        program = load_program(program)
        extra = program.scale_inputs(scale, arr.shape[0], arr.shape[1])
        dev = self.vk_device
        try:
            for p in program.passes:
                check_interface(p, {**program.textures, program.source: "rgba32f"})
            res = _Resources(dev, program, arr.shape[1], arr.shape[0], extra.uniform)
            pipes = _Pipelines(res)
            built = [pipes.build(p) for p in program.passes]
            out = _submit(res, pipes, built, {res.program.source: to_rgba(arr), **extra.textures})
        except dev.vk.VkError as exc:
            raise SepgenError(f"Vulkan call failed: {type(exc).__name__}") from None
        finally:
            dev.release()
        errors = dev.take_messages()
        if errors:
            raise CheckFailed(f"Vulkan validation layer: {errors[0].splitlines()[0]}")
        return out[:, :, 0] if arr.ndim == 2 else out[:, :, : arr.shape[2]].copy()


def _barrier(vk: Any, cmd: Any) -> None:
    access = vk.VK_ACCESS_MEMORY_READ_BIT | vk.VK_ACCESS_MEMORY_WRITE_BIT
    vk.vkCmdPipelineBarrier(cmd, vk.VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, vk.VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0,
                            1, [vk.VkMemoryBarrier(srcAccessMask=access, dstAccessMask=access)], 0, None, 0, None)


def _copy_region(vk: Any, width: int, height: int) -> Any:
    layers = vk.VkImageSubresourceLayers(aspectMask=vk.VK_IMAGE_ASPECT_COLOR_BIT, mipLevel=0, baseArrayLayer=0,
                                         layerCount=1)
    return vk.VkBufferImageCopy(bufferOffset=0, bufferRowLength=0, bufferImageHeight=0, imageSubresource=layers,
                                imageOffset=vk.VkOffset3D(x=0, y=0, z=0),
                                imageExtent=vk.VkExtent3D(width=width, height=height, depth=1))


def _prologue(res: _Resources, cmd: Any, uploads: dict[str, Any]) -> None:
    """Every image to GENERAL and zero; the source (and scale map) images from their upload buffers."""
    vk, general = res.vk, res.vk.VK_IMAGE_LAYOUT_GENERAL
    to_general = [vk.VkImageMemoryBarrier(srcAccessMask=0, dstAccessMask=vk.VK_ACCESS_TRANSFER_WRITE_BIT,
                                          oldLayout=vk.VK_IMAGE_LAYOUT_UNDEFINED, newLayout=general,
                                          srcQueueFamilyIndex=vk.VK_QUEUE_FAMILY_IGNORED,
                                          dstQueueFamilyIndex=vk.VK_QUEUE_FAMILY_IGNORED,
                                          image=img.handle, subresourceRange=res.dev.color_range())
                for img in res.images.values()]
    vk.vkCmdPipelineBarrier(cmd, vk.VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, vk.VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
                            0, None, 0, None, len(to_general), to_general)
    zero = vk.VkClearColorValue(float32=[0.0, 0.0, 0.0, 0.0])
    for img in res.images.values():
        vk.vkCmdClearColorImage(cmd, img.handle, general, zero, 1, [res.dev.color_range()])
    _barrier(vk, cmd)
    for name, upload in uploads.items():
        image: Image = res.images[name]
        vk.vkCmdCopyBufferToImage(cmd, upload.handle, image.handle, general, 1,
                                  [_copy_region(vk, res.width, res.height)])
    _barrier(vk, cmd)


def _submit(res: _Resources, pipes: _Pipelines, built: list[dict[str, Any]],
            images: dict[str, np.ndarray]) -> np.ndarray:
    """Upload `images` (texture name -> float32 H×W×4), run the passes, read the output back."""
    vk, dev = res.vk, res.dev
    uploads = {}
    for name, rgba in images.items():
        data = np.ascontiguousarray(rgba, dtype=np.float32).tobytes()
        uploads[name] = dev.buffer(len(data))
        dev.write(uploads[name], data)
    out_fmt = res.formats[res.program.output]
    readback = dev.buffer(res.width * res.height * BYTES_PER_TEXEL[out_fmt])
    cmd = vk.vkAllocateCommandBuffers(dev.device, vk.VkCommandBufferAllocateInfo(
        commandPool=dev.pool, level=vk.VK_COMMAND_BUFFER_LEVEL_PRIMARY, commandBufferCount=1))[0]
    vk.vkBeginCommandBuffer(cmd, vk.VkCommandBufferBeginInfo(flags=vk.VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT))
    _prologue(res, cmd, uploads)
    for b in built:
        pipes.record(cmd, b)
        _barrier(vk, cmd)
    vk.vkCmdCopyImageToBuffer(cmd, res.images[res.program.output].handle, vk.VK_IMAGE_LAYOUT_GENERAL, readback.handle,
                              1, [_copy_region(vk, res.width, res.height)])
    vk.vkEndCommandBuffer(cmd)
    fence = dev.own(vk.vkDestroyFence, vk.vkCreateFence(dev.device, vk.VkFenceCreateInfo(), None))
    vk.vkQueueSubmit(dev.queue, 1, [vk.VkSubmitInfo(pCommandBuffers=[cmd])], fence)
    vk.vkWaitForFences(dev.device, 1, [fence], vk.VK_TRUE, 10**11)
    vk.vkFreeCommandBuffers(dev.device, dev.pool, 1, [cmd])
    return decode_texels(dev.read(readback), out_fmt, res.height, res.width)
