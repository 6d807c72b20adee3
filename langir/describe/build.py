"""Building one image's request (shared by direct and batch runs): image, mask, hint, sampling, estimates."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from langir.data.dataset import LangIRDataset
from langir.describe.images import fitted_size, request_image
from langir.describe.options import DescribeOptions
from langir.describe.pricing import cost, text_tokens
from langir.describe.prompts import Prompt
from langir.describe.providers import Provider, Reply, Request
from langir.describe.template import region_hint
from langir.errors import DataError

# Image files up to this size are read and encoded on the event loop: a hop to the worker thread costs
# ≈ 0.3 ms of CPU in GIL hand-offs, more than a small frame's whole build. Above it (SIRST's 23–110 kB
# frames, say) the thread's zlib work runs on another core beside the loop: +20 % images/s at c = 64
# for ≈ 0.6 ms more CPU a frame (bench/describe_throughput.py --frames).
CHEAP_BUILD_BYTES = 16 * 1024


class RequestBuilder:
    """One image → its `Request` and whether its mask is empty; the sampling of each attempt; costs."""

    def __init__(self, ds: LangIRDataset, provider: Provider, prompt: Prompt, opts: DescribeOptions,
                 on_warn: Callable[[str], None] | None = None):
        self.ds, self.provider, self.prompt, self.opts = ds, provider, prompt, opts
        self.on_warn = on_warn or (lambda message: None)
        self._warned: set[str] = set()
        self._worst: dict[tuple[int, int, bool], tuple[int, float]] = {}

    def build(self, image_id: str) -> tuple[Request, bool | None]:
        """The request (image encoded, hint filled) and whether the mask is empty (None: unknown).

        A remote request needs only the image: an unreadable or mismatched mask turns the
        no-target judgement off for that id (one warning) instead of blocking it.
        """
        frame = self.ds.read_frame(image_id)  # as it is sent (8-bit grey); a plain PNG's pixels are not decoded
        mask = None
        if self.provider.needs_mask:
            mask = self.ds.read_mask(image_id, frame.shape)
        elif self.ds.has_mask(image_id):
            try:
                mask = self.ds.read_mask(image_id, frame.shape)
            except DataError as error:
                if image_id not in self._warned:
                    self._warned.add(image_id)
                    self.on_warn(f"{error}; described without the no-target check"
                                 + (" and without a hint" if self.prompt.needs_mask else ""))
        mask_empty = None if mask is None else not bool(mask.any())
        prompt = self.prompt
        if prompt.needs_mask:
            prompt = prompt.with_hint(region_hint(mask) if mask is not None else "")
        encoded = None
        if self.provider.remote:
            encoded = request_image(frame, self.opts.max_side, self.provider)
        return Request(image_id, encoded, prompt, self.opts.max_tokens, self.opts.temperature, self.opts.detail,
                       self.opts.max_words, mask), mask_empty

    def cheap(self, image_id: str, size: int = -1) -> bool:
        """Whether building `image_id` is cheap (a small image file: `size` bytes as planned, else looked up):
        cheaper run in place than handed to a thread."""
        if size >= 0:
            return size <= CHEAP_BUILD_BYTES
        try:
            return os.stat(self.ds.image_path(image_id)).st_size <= CHEAP_BUILD_BYTES
        except (OSError, ValueError, DataError):  # the build itself reports what is wrong
            return True

    def mask_empty(self, image_id: str) -> bool | None:
        """Whether the image's mask is empty (None: no readable mask) without encoding the image."""
        if not self.ds.has_mask(image_id):
            return None
        try:
            return not bool(self.ds.read_mask(image_id).any())
        except DataError:
            return None

    def temperature(self, attempt: int) -> float:
        """Attempt 0 uses --temperature; re-asks sample (asking again at 0 buys the same answer again)."""
        if attempt == 0:
            return self.opts.temperature
        return max(self.opts.temperature, self.opts.retry_temperature)

    def ask(self, request: Request, attempt: int) -> Request:
        """The request of attempt `attempt` (its sampling); every other field passes through untouched."""
        return dataclasses.replace(request, temperature=self.temperature(attempt))

    def estimate(self, width: int, height: int, batch: bool = False) -> tuple[int, int, float]:
        tin = self.provider.estimate_input_tokens(width, height, self.prompt, self.opts.detail)
        if self.prompt.needs_mask:
            tin += 40  # the hint sentence
        tout = min(self.opts.max_tokens, text_tokens("x" * 6 * self.opts.max_words))
        return tin, tout, cost(self.opts.prices, self.provider.model, tin, tout, batch)

    def usage_estimate(self, size: tuple[int, int] | None, reply: Reply) -> tuple[int, int]:
        """(input, output) tokens of a reply that came without usable counts: the estimate for an image of
        `size` (width, height) as sent, and the answer's length (within --max-tokens)."""
        if size is None or not self.provider.remote:
            return 0, 0
        tin, _, _ = self.estimate(*size)
        return tin, min(self.opts.max_tokens, text_tokens(reply.raw or reply.text))

    def sent_size(self, image_id: str, verify: bool = False) -> tuple[int, int] | None:
        """Width and height of the image as a request carries it (read from its header), None if unreadable
        (`verify`: also when Pillow's integrity check fails, as the build would)."""
        try:
            w, h, _ = self.ds.image_info(image_id, verify=verify)  # the dataset's guarded reader (symlink rule)
        except DataError:
            return None
        return fitted_size(w, h, self.opts.max_side, self.provider)

    def worst_case(self, request: Request, batch: bool = False) -> tuple[int, float]:
        """(tokens for the rate limiter, worst-case USD) of one request: inflated input, full max_tokens."""
        if not self.provider.remote or request.image is None:
            return 0, 0.0
        size = (request.image.width, request.image.height, batch)
        if size not in self._worst:  # the same for every image of a size (the hint is counted as 40 tokens)
            tin, _, _ = self.estimate(size[0], size[1])
            tin = int(tin * self.opts.worst_input_margin) + 1
            self._worst[size] = (tin + self.opts.max_tokens,
                                 cost(self.opts.prices, self.provider.model, tin, self.opts.max_tokens, batch))
        return self._worst[size]
