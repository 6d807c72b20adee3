"""Prompt files: find them (checkout `prompts/` or wheel `langir/prompts/`), parse, fill, hash.

A prompt file has an optional `# role` section (sent as the system message) and a `# task`
section (the user text sent with the image); `{max_words}` is filled from `--max-words`.
A file without section headers is all task. `{hint}` (the `grounded` style) is filled per image
with the mask's regions (`langir.describe.template.region_hint`); the prompt's digest is taken
before that, and the mask's bytes join the image's in the request key instead.
A structured prompt (`describe --structured`) carries the note of ``prompts/structured.txt``
(the JSON shape and the 0..1000 convention, filled from the answer schema) after the task.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from langir.data import guarded
from langir.errors import ConfigError, DataError

STYLES = ("system", "few-shot", "zero-shot", "grounded")
HINT = "{hint}"


def prompt_dirs() -> list[Path]:
    """Where prompt files may live: inside the installed package (wheel), then the checkout."""
    package = Path(__file__).resolve().parent.parent  # langir/
    return [package / "prompts", package.parent / "prompts"]


def structured_note(max_words: int = 50) -> str:
    """The note `--structured` adds to the task: ``prompts/structured.txt`` filled from the answer schema."""
    from langir.describe.structured import NOTE_FILE, prompt_note

    path = next((d / NOTE_FILE for d in prompt_dirs() if (d / NOTE_FILE).is_file()), None)
    if path is None:
        raise ConfigError(f"prompt file {NOTE_FILE} not found in " + " or ".join(map(str, prompt_dirs())))
    from langir.data.guarded import read_text

    return prompt_note(max_words, read_text(path, "prompt file"))


def find_prompt_file(style: str) -> Path:
    """The file of a built-in prompt style."""
    if style not in STYLES:
        raise ConfigError(f"unknown prompt style {style!r}; choose one of {', '.join(STYLES)}")
    for folder in prompt_dirs():
        path = folder / f"{style}.txt"
        if path.is_file():
            return path
    raise ConfigError(f"prompt file {style}.txt not found in " + " or ".join(str(d) for d in prompt_dirs()))


@dataclass(frozen=True)
class Shot:
    """One few-shot example: an image (PNG bytes), its description and (structured mode) its targets on 0..1000."""

    png: bytes
    text: str
    targets: list | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class Prompt:
    """A filled prompt: system role (may be empty), user task text, optional few-shot examples."""

    style: str
    role: str
    task: str
    shots: tuple[Shot, ...] = field(default=())
    structured: bool = False  # ask for one JSON answer (langir.describe.structured)

    def digest(self) -> str:
        """Hash of everything sent besides the image (part of the ledger's request key)."""
        h = hashlib.sha256(json.dumps([self.role, self.task] + (["structured"] if self.structured else [])).encode())
        for shot in self.shots:
            h.update(hashlib.sha256(shot.png).digest())
            h.update(shot.text.encode())
        return h.hexdigest()[:16]

    @property
    def needs_mask(self) -> bool:
        """True when the prompt carries a per-image hint from the mask (`{hint}`)."""
        return HINT in self.role or HINT in self.task

    def with_hint(self, hint: str) -> Prompt:
        """The prompt for one image: `{hint}` replaced (an empty hint leaves no blank line)."""
        def fill(text: str) -> str:
            lines = [line.replace(HINT, hint) for line in text.splitlines() if hint or line.strip() != HINT]
            return "\n".join(lines).strip()

        return Prompt(self.style, fill(self.role), fill(self.task), self.shots, self.structured)


def parse_prompt(text: str, where: str = "prompt") -> tuple[str, str]:
    """(role, task) from a prompt file's text."""
    sections: dict[str, list[str]] = {}
    current = "task"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.lower() in ("# role", "# system", "# task", "# user"):
            current = "role" if stripped.lower() in ("# role", "# system") else "task"
            continue
        sections.setdefault(current, []).append(line)
    role = "\n".join(sections.get("role", [])).strip()
    task = "\n".join(sections.get("task", [])).strip()
    if not task:
        raise ConfigError(f"{where}: no task text (add a '# task' section)")
    return role, task


def load_prompt(style: str = "system", prompt_file: str | Path | None = None, max_words: int = 50,
                shots: tuple[Shot, ...] = (), structured: bool = False) -> Prompt:
    """Read and fill a prompt; `prompt_file` (the user's own) wins over the built-in style.

    `structured`: append the JSON answer note (shape and 0..1000 convention) to the task.
    """
    path = Path(prompt_file) if prompt_file else find_prompt_file(style)
    try:  # the guarded reader: a FIFO, a huge or binary file is one line naming it
        raw = guarded.read_text(path, "prompt file")
    except DataError as error:
        raise ConfigError(str(error)) from None
    role, task = parse_prompt(raw, str(path))
    try:
        role, task = role.replace("{max_words}", str(max_words)), task.replace("{max_words}", str(max_words))
    except (KeyError, IndexError, ValueError) as error:  # pragma: no cover - replace never raises
        raise ConfigError(f"{path}: {error}") from error
    if style == "few-shot" and not shots and not prompt_file:
        raise ConfigError("few-shot prompting needs examples: --shots-from SPLIT or --shots FILE")
    if structured:
        from langir.describe.structured import example_answer

        task = task + "\n\n" + structured_note(max_words)
        # the examples answer as the model must: one JSON object (when their targets are known)
        shots = tuple(Shot(s.png, example_answer(s.text, s.targets), s.targets) if s.targets is not None else s
                      for s in shots)
    return Prompt(style, role, task, tuple(shots), structured)
