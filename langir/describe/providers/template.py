"""The offline provider: the description is written from the ground-truth mask."""

from __future__ import annotations

from typing import Any, ClassVar

from langir.describe.providers.base import FatalError, Provider, Reply, Request, structured_reply


class TemplateProvider(Provider):
    """Offline: text from the ground-truth mask (`langir.describe.template`); free, no key."""

    name = "template"
    default_model = "template"
    remote = False
    needs_mask = True
    summary = "offline, from the masks; no key, no cost"
    prices: ClassVar[dict[str, tuple[float, float]]] = {"template": (0.0, 0.0)}

    def __init__(self, model: str | None = None, style: str = "rich"):
        super().__init__("template")
        self.style = style
        self.model = f"template-{style}"

    @classmethod
    def build(cls, model: str | None, api_key: str, base_url: str | None, timeout: float, **options: Any) -> Provider:
        return cls(style=options.get("template_style") or "rich")

    async def describe(self, request: Request) -> Reply:
        if request.mask is None:
            raise FatalError(f"{request.image_id}: the template provider needs a mask", "bad_request")
        from langir.describe.template import template_description  # lazy: scipy, only when used

        text = template_description(request.mask, self.style, request.max_words)
        if request.structured:  # the mask's own targets, as a structured answer gives them
            import json

            from langir.describe.structured import mask_targets

            return structured_reply(json.dumps({"description": text, "targets": mask_targets(request.mask)}), 0, 0)
        return Reply(text, raw=text)
