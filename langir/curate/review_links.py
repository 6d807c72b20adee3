"""URLs of the `langir review` page, for other commands to link to (the report card)."""

from __future__ import annotations

from urllib.parse import quote

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def sample_url(sample_id: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """Where `langir review` (default host and port) shows one sample; the page asks for its token once."""
    return f"http://{host}:{port}/?id={quote(sample_id, safe='')}"


def failing_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    return f"http://{host}:{port}/?filter=failing"


def review_paragraph(root: str, failing_ids: list[str], limit: int = 40) -> str:
    """Markdown: each failing sample linked to the review page (a person looks at it, fixes or accepts it)."""
    if not failing_ids:
        return "No sample fails, nothing to review."
    links = ", ".join(f"[{i}]({sample_url(i)})" for i in failing_ids[:limit])
    more = f" … and {len(failing_ids) - limit} more" if len(failing_ids) > limit else ""
    return (f"Review the failing samples with `langir review {root}` (it serves {failing_url()}; the URL pattern "
            f"of one sample is `{sample_url('ID')}`): {links}{more}.")
