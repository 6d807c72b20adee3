"""What happens to a paid answer, the same for direct and batch runs.

One ledger row per paid answer (attempt number in its key; attempts never overwrite each other),
committed before the description file is written, so a kill between the two is healed by the
next run without a call. A frame whose mask is empty and whose answers all claimed a target gets
the template's no-target sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langir.data.dataset import LangIRDataset
from langir.data.text_rules import NO_TARGET_SENTENCE, ONLY_REASONING, final_answer
from langir.describe.files import write_file
from langir.describe.ledger import Ledger, attempt_key
from langir.describe.options import DescribeOptions
from langir.describe.plan import Job
from langir.describe.prompts import Prompt
from langir.describe.providers import Provider, Reply
from langir.describe.structured import answer_problem


class Recorder:
    """Books answers of one run: validate, record, write; the no-target fallback; redo bookkeeping."""

    def __init__(self, ds: LangIRDataset, provider: Provider, prompt: Prompt, opts: DescribeOptions, ledger: Ledger,
                 on_event: Callable[[str, Job | None], None] | None = None):
        self.ds, self.provider, self.prompt, self.opts, self.ledger = ds, provider, prompt, opts, ledger
        self.on_event = on_event or (lambda kind, job: None)
        self.digest = prompt.digest()  # hashes few-shot PNGs: once, not per answer
        self.kept = 0  # paid answers recorded by this run
        self.estimated = 0  # of which without usable token counts (tokens and cost estimated)

    def record(self, job: Job, status: str, reply: Reply | None, **fields: Any) -> None:
        self.ledger.record(
            job.key, job.image_id, self.provider.name, self.provider.model, status, attempt=job.attempt,
            request=job.request, prompt_style=self.prompt.style, prompt_digest=self.digest,
            raw_reply=reply.raw if reply else None, **fields)

    def write(self, job: Job, text: str, reply: Reply | None = None) -> bool:
        """Write the description file of `job` (the one place an answer becomes a file)."""
        return write_file(self.ds, job, text, reply.raw if reply is not None else None)

    def answered(self, job: Job, reply: Reply, mask_empty: bool | None, actual: float, write: bool = True,
                 sent: tuple[int, int] | None = None, **fields: Any) -> bool:
        """Book one paid answer; True when it passed the checks (recorded done, file written or that id's failure).

        An invalid answer is recorded too (it was paid for) and the job moves on to its next attempt.
        `write=False`: the caller writes the file with `write_done` (the direct executor writes a tick's
        files after the tick's one ledger commit). `sent`: (W, H) of the
        image as the request carried it (a model answering in pixels answers in these; `validate` reads it).
        """
        answer = final_answer(reply.text)  # a thinking model's reasoning is no part of the description
        if reply.text.strip() and not answer and not reply.problem:
            reply.problem = f"the reply holds {ONLY_REASONING} (it may have stopped at the token limit: raise --max-tokens)"
        reply.text = answer
        job.answers += 1
        job.asks_left -= 1
        job.cost += actual
        job.input_tokens += reply.input_tokens
        job.output_tokens += reply.output_tokens
        problem = answer_problem(reply, self.opts.max_words, mask_empty)  # text rules + structured schema
        common = {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens, "cost_usd": actual,
                  "text": reply.text, "error": problem, **fields}
        if sent is not None:
            common.update(sent_width=int(sent[0]), sent_height=int(sent[1]))
        self.kept += 1
        self.estimated += reply.usage_estimated
        self.on_event("answer", job)
        if problem is None:
            # ledger first, file second: a kill between the two is healed by the next run without a call
            self.record(job, "done", reply, current=1, **common)
            job.status, job.text, job.error = "done", reply.text, None  # paid and kept, whatever the file does
            if write:
                self.write_done(job, reply)
            return True
        self.record(job, "invalid", reply, current=0, **common)
        job.attempt += 1
        job.key = attempt_key(job.request, job.attempt)
        job.error = problem
        return False

    def write_done(self, job: Job, reply: Reply) -> None:
        """Write the file of a valid answer already in the ledger (a failure is that id's, the answer stays)."""
        self.write(job, reply.text, reply)
        self.on_event(job.status, job)

    def usage_note(self) -> str | None:
        """The one line a summary carries when some replies came without usable token counts."""
        if not self.estimated:
            return None
        return (f"{self.estimated} repl{'y' if self.estimated == 1 else 'ies'} came without usable token counts "
                "(usage missing, negative or malformed): their tokens and cost are estimated from the request and "
                "the price table, and each counted its worst case against --max-cost")

    def unanswered(self, job: Job, error: str, **fields: Any) -> None:
        """A request that brought no answer (nothing paid): a failed row; the key may be asked again."""
        job.error = error
        self.record(job, "failed", None, error=error, current=0, **fields)

    def exhausted(self, job: Job, mask_empty: bool | None) -> None:
        """No valid answer and no asks left: the no-target sentence for an empty frame, else invalid."""
        if mask_empty and self.opts.no_target_fallback:
            self.fallback(job)
            return
        job.status = "invalid"
        if job.answers == 0:
            job.error = f"{job.error} (answers used up; --redo asks again)"
        self.on_event("invalid", job)

    def fallback(self, job: Job) -> None:
        """Empty mask, every answer claimed a target: write the template's no-target sentence (free)."""
        job.key = f"{job.request}:no-target"
        self.ledger.record(job.key, job.image_id, "template", "template-no-target", "done", attempt=job.attempt,
                           request=job.request, prompt_style="no-target-fallback", text=NO_TARGET_SENTENCE,
                           error=f"fallback after: {job.error}", cost_usd=0.0, current=1)
        if self.write(job, NO_TARGET_SENTENCE):
            job.status, job.text = "fallback", NO_TARGET_SENTENCE
        self.on_event(job.status, job)
