"""A raw Vulkan device (PyPI `vulkan`, cffi over libvulkan): SPIR-V goes to the driver untouched.

wgpu re-writes every SPIR-V module through naga; this device hands the module's words to
`vkCreateShaderModule` as they are, so the SPIR-V an engine would load is the SPIR-V that
runs. Optionally the Khronos validation layer (Debian `vulkan-validationlayers`) checks
every call; its errors fail the run.

    dev = VulkanDevice()                        # the validation layer when it is installed
    dev.name                                    # "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan 1.3.230)"
    img = dev.image(w, h, "rgba32f"); buf = dev.buffer(nbytes); ...; dev.release()
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...common.errors import SepgenError

VALIDATION_LAYER = "VK_LAYER_KHRONOS_validation"
DEBIAN_PACKAGES = "mesa-vulkan-drivers libvulkan1"  # the Vulkan loader and Mesa's drivers (lavapipe)

__all__ = ["VulkanDevice", "Image", "Buffer", "VALIDATION_LAYER", "DEBIAN_PACKAGES", "quiet_mesa"]


def quiet_mesa() -> None:
    """Mesa's Vulkan driver warns on stderr when XDG_RUNTIME_DIR is unset: give it a private one."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if not current or not os.path.isdir(current):
        os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="sepgen-xdg-")


def _vk() -> Any:
    quiet_mesa()
    try:
        import vulkan
    except ImportError:
        raise SepgenError("the vulkan package is not installed (pip install vulkan)") from None
    except OSError as exc:  # the package loads libvulkan.so.1 on import
        raise SepgenError(f"cannot load the Vulkan loader ({exc}); "
                          f"install the Debian packages {DEBIAN_PACKAGES}") from None
    return vulkan


@dataclass
class Image:
    handle: Any
    memory: Any
    view: Any
    format: int
    layers: int | None = None  # an array image (its view is 2D_ARRAY); None: a 2D image


@dataclass
class Buffer:
    handle: Any
    memory: Any
    size: int


class VulkanDevice:
    """Instance, first graphics+compute queue, memory helpers and a list of what to destroy."""

    def __init__(self, validation: bool | None = None) -> None:
        """`validation`: True needs the Khronos layer, None uses it when installed, False never."""
        vk = self.vk = _vk()
        self.messages: list[str] = []
        installed = VALIDATION_LAYER in [p.layerName for p in vk.vkEnumerateInstanceLayerProperties()]
        if validation and not installed:
            raise SepgenError(f"{VALIDATION_LAYER} is not installed (Debian: vulkan-validationlayers)")
        validation = installed if validation is None else validation
        self.validation = validation
        layers = [VALIDATION_LAYER] if validation else []
        app = vk.VkApplicationInfo(pApplicationName="sepgen", apiVersion=vk.VK_MAKE_VERSION(1, 0, 0))
        extensions = ["VK_EXT_debug_utils"] if validation else []
        try:
            self.instance = vk.vkCreateInstance(vk.VkInstanceCreateInfo(
                pApplicationInfo=app, ppEnabledLayerNames=layers, ppEnabledExtensionNames=extensions), None)
            physical = vk.vkEnumeratePhysicalDevices(self.instance)
        except vk.VkError as exc:
            raise SepgenError(f"no Vulkan driver ({type(exc).__name__}); "
                              f"install the Debian packages {DEBIAN_PACKAGES}") from None
        self.messenger = self._messenger() if validation else None
        if not physical:
            raise SepgenError(f"no Vulkan device; install the Debian packages {DEBIAN_PACKAGES}")
        self.physical = physical[0]
        props = vk.vkGetPhysicalDeviceProperties(self.physical)
        api = props.apiVersion
        self.name = f"{props.deviceName} (Vulkan {api >> 22}.{(api >> 12) & 0x3FF}.{api & 0xFFF})"
        self.family = self._queue_family()
        queue = vk.VkDeviceQueueCreateInfo(queueFamilyIndex=self.family, queueCount=1, pQueuePriorities=[1.0])
        self.device = vk.vkCreateDevice(
            self.physical, vk.VkDeviceCreateInfo(pQueueCreateInfos=[queue], ppEnabledLayerNames=layers), None)
        self.queue = vk.vkGetDeviceQueue(self.device, self.family, 0)
        self.pool = vk.vkCreateCommandPool(self.device, vk.VkCommandPoolCreateInfo(queueFamilyIndex=self.family), None)
        self.memory_types = vk.vkGetPhysicalDeviceMemoryProperties(self.physical)
        self._owned: list[tuple[Callable, Any]] = []

    def _messenger(self) -> Any:
        """Collect the validation layer's errors in `messages` (a run with any fails)."""
        vk = self.vk

        def collect(severity: int, types: int, data: Any, user: Any) -> int:
            if severity & vk.VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT:
                self.messages.append(vk.ffi.string(data.pMessage).decode("utf-8", "replace"))
            return 0

        self._callback = collect  # the layer calls back into it for the device's lifetime
        info = vk.VkDebugUtilsMessengerCreateInfoEXT(
            messageSeverity=(vk.VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT
                             | vk.VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT),
            messageType=(vk.VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT
                         | vk.VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT),
            pfnUserCallback=collect)
        return vk.vkGetInstanceProcAddr(self.instance, "vkCreateDebugUtilsMessengerEXT")(self.instance, info, None)

    def take_messages(self) -> list[str]:
        """The validation errors since the last call."""
        out, self.messages = self.messages, []
        return out

    def _queue_family(self) -> int:
        vk = self.vk
        need = vk.VK_QUEUE_GRAPHICS_BIT | vk.VK_QUEUE_COMPUTE_BIT
        for i, fam in enumerate(vk.vkGetPhysicalDeviceQueueFamilyProperties(self.physical)):
            if fam.queueFlags & need == need:
                return i
        raise SepgenError("the Vulkan device has no graphics+compute queue")

    # -- ownership --------------------------------------------------------------------------
    def own(self, destroy: Callable, handle: Any) -> Any:
        """Remember `handle` for `release()`; returns it."""
        self._owned.append((destroy, handle))
        return handle

    def release(self) -> None:
        """Destroy what this run created (newest first); the device stays."""
        self.vk.vkDeviceWaitIdle(self.device)
        while self._owned:
            destroy, handle = self._owned.pop()
            destroy(self.device, handle, None)

    def close(self) -> None:
        vk = self.vk
        self.release()
        vk.vkDestroyCommandPool(self.device, self.pool, None)
        vk.vkDestroyDevice(self.device, None)
        if self.messenger is not None:
            vk.vkGetInstanceProcAddr(self.instance, "vkDestroyDebugUtilsMessengerEXT")(
                self.instance, self.messenger, None)
        vk.vkDestroyInstance(self.instance, None)

    # -- memory -----------------------------------------------------------------------------
    def _allocate(self, requirements: Any, flags: int) -> Any:
        vk = self.vk
        for i in range(self.memory_types.memoryTypeCount):
            if (requirements.memoryTypeBits & (1 << i)
                    and self.memory_types.memoryTypes[i].propertyFlags & flags == flags):
                info = vk.VkMemoryAllocateInfo(allocationSize=requirements.size, memoryTypeIndex=i)
                return self.own(vk.vkFreeMemory, vk.vkAllocateMemory(self.device, info, None))
        raise SepgenError("the Vulkan device has no suitable memory type")

    def buffer(self, size: int, uniform: bool = False) -> Buffer:
        """A host-visible transfer buffer of `size` bytes (`uniform`: usable as a uniform buffer too)."""
        vk = self.vk
        usage = vk.VK_BUFFER_USAGE_TRANSFER_SRC_BIT | vk.VK_BUFFER_USAGE_TRANSFER_DST_BIT
        if uniform:
            usage |= vk.VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT
        handle = self.own(vk.vkDestroyBuffer,
                          vk.vkCreateBuffer(self.device, vk.VkBufferCreateInfo(size=size, usage=usage), None))
        memory = self._allocate(vk.vkGetBufferMemoryRequirements(self.device, handle),
                                vk.VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | vk.VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
        vk.vkBindBufferMemory(self.device, handle, memory, 0)
        return Buffer(handle, memory, size)

    def write(self, buf: Buffer, data: bytes) -> None:
        mapped = self.vk.vkMapMemory(self.device, buf.memory, 0, buf.size, 0)
        mapped[: len(data)] = data
        self.vk.vkUnmapMemory(self.device, buf.memory)

    def read(self, buf: Buffer) -> bytes:
        mapped = self.vk.vkMapMemory(self.device, buf.memory, 0, buf.size, 0)
        data = bytes(mapped)
        self.vk.vkUnmapMemory(self.device, buf.memory)
        return data

    def image(self, width: int, height: int, fmt: int, layers: int | None = None) -> Image:
        """A 2D image usable as sampled, storage, colour attachment and transfer source/target;
        with `layers`, a 2D array image of that many layers (its view: 2D_ARRAY)."""
        vk = self.vk
        usage = (vk.VK_IMAGE_USAGE_SAMPLED_BIT | vk.VK_IMAGE_USAGE_STORAGE_BIT | vk.VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT
                 | vk.VK_IMAGE_USAGE_TRANSFER_SRC_BIT | vk.VK_IMAGE_USAGE_TRANSFER_DST_BIT)
        info = vk.VkImageCreateInfo(imageType=vk.VK_IMAGE_TYPE_2D, format=fmt, extent=vk.VkExtent3D(width, height, 1),
                                    mipLevels=1, arrayLayers=layers or 1, samples=vk.VK_SAMPLE_COUNT_1_BIT,
                                    tiling=vk.VK_IMAGE_TILING_OPTIMAL, usage=usage,
                                    initialLayout=vk.VK_IMAGE_LAYOUT_UNDEFINED)
        handle = self.own(vk.vkDestroyImage, vk.vkCreateImage(self.device, info, None))
        memory = self._allocate(vk.vkGetImageMemoryRequirements(self.device, handle),
                                vk.VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
        vk.vkBindImageMemory(self.device, handle, memory, 0)
        kind = vk.VK_IMAGE_VIEW_TYPE_2D if layers is None else vk.VK_IMAGE_VIEW_TYPE_2D_ARRAY
        view_info = vk.VkImageViewCreateInfo(image=handle, viewType=kind, format=fmt,
                                             subresourceRange=self.color_range(0, layers or 1))
        view = self.own(vk.vkDestroyImageView, vk.vkCreateImageView(self.device, view_info, None))
        return Image(handle, memory, view, fmt, layers)

    def layer_view(self, image: Image, layer: int) -> Any:
        """A 2D view of one layer of an array image (a colour attachment)."""
        vk = self.vk
        info = vk.VkImageViewCreateInfo(image=image.handle, viewType=vk.VK_IMAGE_VIEW_TYPE_2D, format=image.format,
                                        subresourceRange=self.color_range(layer, 1))
        return self.own(vk.vkDestroyImageView, vk.vkCreateImageView(self.device, info, None))

    def color_range(self, first: int = 0, count: int | None = None) -> Any:
        """Colour subresources: layers first..first+count-1 (None: every layer from `first`)."""
        vk = self.vk
        count = vk.VK_REMAINING_ARRAY_LAYERS if count is None else count
        return vk.VkImageSubresourceRange(aspectMask=vk.VK_IMAGE_ASPECT_COLOR_BIT, baseMipLevel=0, levelCount=1,
                                          baseArrayLayer=first, layerCount=count)
