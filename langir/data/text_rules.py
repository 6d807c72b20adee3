"""Rules for description text: word counts, refusals, "no target" statements, plural wording.

Shared by `describe` (checking VLM replies) and `validate` (checking description files), so that
both judge a text the same way.
"""

from __future__ import annotations

import re

NO_TARGET_SENTENCE = "No small target is visible in the infrared image."

_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*")

# Openings the LangIR paper saw ("As an AI assistant, I am unable to do this task", §5.3.2) and the
# usual ways VLMs decline ("Unfortunately, I cannot complete this request.", "I'm afraid I can't help").
_REFUSAL = re.compile(
    r"""(
        \bas\s+an?\s+(ai|artificial\s+intelligence|(large\s+)?language\s+model|assistant)\b
      | \bi\s*(am|'m|’m)\s+(unable|not\s+able|sorry|afraid|not\s+comfortable|not\s+in\s+a\s+position)\b
      | \bi\s+(cannot|can\s*not|can't|can’t|won't|won’t|will\s+not|could\s+not|couldn't|couldn’t|must|have\s+to)\s+
            (help|assist|do|provide|identify|locate|detect|analy[sz]e|determine|comply|view|see|complete|fulfil+|process
             |perform|answer|describe|respond|decline|support|carry\s+out|proceed|be\s+of\s+help|be\s+able)\b
      | \bi\s+(do\s+not|don't|don’t)\s+have\s+the\s+(ability|capability|means)\b
      | \b(unable|not\s+able)\s+to\s+(assist|help|comply|process|analy[sz]e|complete|fulfil+|provide|perform|do\s+(this|that))\b
      | \b(this|that|the|your)\s+request\s+(cannot|can't|can’t|could\s+not)\s+be\b
      | \bsorry,?\s+(but\s+)?i\b
      | \bsorry\s*[—–-]\s*i\b
      | \bi\s+apologi[sz]e\b
      | \b(isn't|is\s+not)\s+something\s+i\s+(can|could|am\s+able\s+to)\b
      | \bi\s+(must|have\s+to)\s+decline\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)

# adjectives that may stand between "no" and "target" ("no identifiable small target")
_ADJ = r"(?:(?:small|visible|discernible|discernable|clear|clearly|distinct|obvious|identifiable|detectable|apparent|evident|noticeable|recogni[sz]able|definite|real|actual|infrared|thermal|bright|point|point-like|notable|significant|such|single|likely|potential|possible|specific)\s+)"
_TARGET_WORD = r"(?:targets?|objects?\s+of\s+interest)"
_NO_TARGET = re.compile(
    rf"""(
        \bno\s+{_ADJ}*{_TARGET_WORD}\b
      | \b(no|not\s+any)\s+{_ADJ}*(objects?|targets?)\s+(is|are|can\s+be|could\s+be|was|were|appears?)\s+(visible|seen|found|detected|present|identified|discernible|evident)\b
      | \btarget\s+(is\s+)?(not|cannot\s+be|can't\s+be|could\s+not\s+be)\s+(visible|seen|found|detected|present|identified|located)\b
            (?!\s+(in|at|on|near|toward|towards|within|along|by)\b)  # "not located in the upper right; it is …"
      | \b(there\s+is|there's|there\s+are)\s+no\s+{_ADJ}*{_TARGET_WORD}
      | \b(cannot|can\s*not|can't|can’t|unable\s+to|could\s+not|couldn't|couldn’t|do\s+not|don't|don’t|did\s+not|didn't)\s+(identify|locate|detect|see|find|spot|make\s+out|discern)\s+(any|a|an)\s+{_ADJ}*{_TARGET_WORD}
      | \b(does|do|did)\s*(not|n't|n’t)\s+(appear\s+to\s+|seem\s+to\s+)?(contain|show|include|have|be)\s+(a|any|an)\s+{_ADJ}*{_TARGET_WORD}
      | \b(does|do)\s*(not|n't|n’t)\s+(appear|seem)\s+to\s+be\s+(a|any|an)\s+{_ADJ}*{_TARGET_WORD}
      | \b(there\s+)?(appears|seems)\s+to\s+be\s+no\s+{_ADJ}*{_TARGET_WORD}
      | \b(empty|devoid|free)\s+of\s+(any\s+)?{_ADJ}*{_TARGET_WORD}
      | \bnothing\s+(\w+\s+){{0,4}}?(that\s+|which\s+)?(resembl\w+|looks?\s+like|like|could\s+be|appears\s+to\s+be)\s+(a|an|any)\s+{_ADJ}*{_TARGET_WORD}
      | \b(no|without\s+any)\s+sign\s+of\s+(a|an|any)\s+{_ADJ}*{_TARGET_WORD}
    )""",
    re.IGNORECASE | re.VERBOSE,
)

_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
                "pair": 2, "both": 2, "several": 2, "multiple": 2, "many": 3, "numerous": 3}
_COUNT = re.compile(
    # one line: "Image size: 379 x 246\nTarget: …" is a size and a label, not 246 targets
    r"\b(?<!no\s)(two|three|four|five|six|seven|eight|nine|ten|\d+|several|multiple|many|numerous|both(?:\s+the)?|a\s+pair\s+of)[^\S\n]+"
    r"((?:small|tiny|bright|faint|dim|distinct|separate|possible|potential|point-like|point|infrared|thermal|hot|visible|small,|bright,)[^\S\n]+){0,3}"
    r"(targets?|objects?|spots?|dots?|blobs?|points?|sources?|signatures?|regions?|hot\s*spots?|specks?)\b",
    re.IGNORECASE,
)
_PLURAL_TARGETS = re.compile(r"\b(?<!other\s)(?<!no\s)(?<!any\s)targets\b", re.IGNORECASE)
# a key at the start of a line or object ("targets:", "targets": [...]) names a list, whatever its length
_KEY_BEFORE = re.compile(r"(?:^|[\n{,])[ \t]*[-*]?[ \t]*[\"']?$")
_KEY_AFTER = re.compile(r"[\"']?\s*[:=]")
_NEGATED_PLURAL = re.compile(r"\b(no|any|without|neither|nor)\s+(other\s+)?(\w+\s+){0,2}$", re.IGNORECASE)


# Reasoning models (Qwen3-VL-Thinking, GLM-4.5V, Kimi-VL-Thinking, QVQ, Magistral, R1-style VLMs) may write
# their thoughts into the reply, in tags, before the answer. The thoughts hold guesses ("something at (10, 10)?
# no, noise") that are not the answer, and run past any word limit.
_THOUGHT_TAGS = r"think|thinking|thought|thoughts|reasoning|reflection|seed:think"
_THOUGHT = re.compile(rf"<({_THOUGHT_TAGS})>.*?</\1>|◁think▷.*?◁/think▷|\[THINK\].*?\[/THINK\]"
                      r"|<\|begin_of_thought\|>.*?<\|end_of_thought\|>", re.IGNORECASE | re.DOTALL)
_THOUGHT_END = re.compile(rf"</(?:{_THOUGHT_TAGS})>|◁/think▷|\[/THINK\]|<\|end_of_thought\|>", re.IGNORECASE)
_THOUGHT_OPEN = re.compile(rf"<(?:{_THOUGHT_TAGS})>|◁think▷|\[THINK\]|<\|begin_of_thought\|>", re.IGNORECASE)
_ANSWER_TAG = re.compile(r"<(answer|final_answer|output)>(.*?)(?:</\1>|$)", re.IGNORECASE | re.DOTALL)
_ANSWER_TOKENS = re.compile(r"<\|(?:begin|end)_of_(?:box|solution)\|>"
                            # end-of-turn tokens a misconfigured local server leaves in the text (ChatML, Llama 3,
                            # Gemma, Phi, SentencePiece)
                            r"|<\|(?:im_end|im_start|endoftext|eot_id|end|end_of_text)\|>|<end_of_turn>|<eos>|</s>",
                            re.IGNORECASE)


# what a reply, or a description file, that holds a thinking model's reasoning and no answer is said to be
ONLY_REASONING = "only the model's reasoning, no answer"


def final_answer(text: str) -> str:
    """The answer a reply gives, without the reasoning a thinking model writes before it: `<think>…</think>`
    (also `<thinking>`, `<reasoning>`, Kimi's `◁think▷`, Magistral's `[THINK]`), a reply that starts inside
    its thoughts (everything up to the last closing tag), thoughts cut off by the token limit (from the open
    tag on: nothing is left); the inside of `<answer>…</answer>`; GLM's `<|begin_of_box|>` tokens and the
    end-of-turn tokens a local server may leave (`<|im_end|>`, `</s>`, `<|eot_id|>`, `<end_of_turn>`) dropped.
    Any other text is returned as it is."""
    if "<" not in text and "◁" not in text and "[" not in text:
        return text
    out = _THOUGHT.sub(" ", text) if ("<" in text or "◁" in text or "[THINK" in text) else text
    ends = list(_THOUGHT_END.finditer(out))
    if ends:
        out = out[ends[-1].end():]
    opened = _THOUGHT_OPEN.search(out)
    if opened:
        out = out[:opened.start()]
    answer = _ANSWER_TAG.search(out)
    if answer:
        out = answer.group(2)
    out = _ANSWER_TOKENS.sub(" ", out)
    return text if out == text else out.strip()


def word_count(text: str) -> int:
    """Words as a reader counts them: 'upper-left' and "target's" are one word each."""
    return len(_WORD.findall(text))


def is_refusal(text: str) -> bool:
    """True when the text declines the task instead of answering it (a "no target" answer is no refusal)."""
    return bool(_REFUSAL.search(text)) and not says_no_target(text)


# "no obvious targets except a faint spot …", "no clear target, but a speck might be …": an exception follows
_EXCEPTION = re.compile(r"\b(except|but|however|apart\s+from|besides|other\s+than|although|though|save\s+for|unless)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?;\n]")
_REGION_ONLY = re.compile(
    r"\s*(?:is\s+|are\s+)?(?:visible\s+|present\s+|seen\s+|to\s+be\s+seen\s+)?(?:in|on|at|within|along|near|toward|towards|across)\s+"
    r"the\s+(?:(?:far|very|extreme)\s+)?(?:upper|lower|left|right|top|bottom|middle|center|centre|central|left-hand|right-hand)\b",
    re.IGNORECASE)


# Whole answers that say "no target" in a few words: "None.", "No target.", "[]", a fenced empty JSON
# list, {"targets": []}, "targets: []", "**Target:** none", "0 targets.", "No object detected."
_SHORT_NONE = re.compile(
    r"""^(?:(?:json)?\s*)?(?:(?:targets?|objects?|result|results|answer|detections?|location|position)\s*[:=]\s*)?
        (?:none(?:\s+(?:found|visible|detected))?|n/?a|nothing(?:\s+(?:found|visible|detected))?|\[\s*\]|\{\s*\}
          |not\s+(?:found|detected|visible|present|seen|identified|located)|absent
          |(?:targets?\s+)?(?:found|detected|present|visible)\s*[:=]\s*(?:no|false|0)
          |\{\s*"?(?:targets?|objects?|detections?|points|boxes)"?\s*:\s*\[\s*\]\s*\}
          |(?:no|0|zero)\s+(?:small\s+|visible\s+|infrared\s+)?(?:targets?|objects?)(?:\s+(?:found|visible|detected|present|identified|located))?)
        \s*[.!]?$""",
    re.IGNORECASE | re.VERBOSE,
)
_MARKUP = re.compile(r"```|[*_#>`|]|^\s*[-•]\s*", re.MULTILINE)


def is_short_no_target(text: str) -> bool:
    """True for a whole answer that only says no target is there ("None.", "[]", "**Target:** none")."""
    if len(text) > 200:
        return False
    return bool(_SHORT_NONE.match(" ".join(_MARKUP.sub(" ", text).split())))


def says_no_target(text: str) -> bool:
    """True when the text states that no target is visible (the valid answer for an empty mask).

    A statement followed in its sentence by an exception ("no obvious targets except a faint spot
    near the lower right") is none. Short whole answers count too (`is_short_no_target`).
    """
    if is_short_no_target(text):
        return True
    for m in _NO_TARGET.finditer(text):
        rest = text[m.end():]
        if _REGION_ONLY.match(rest):
            continue  # "no target in the upper half; it sits low on the right": one region denied, not the image
        end = _SENTENCE_END.search(rest)
        if not _EXCEPTION.search(rest[: end.start() if end else len(rest)]):
            return True
    return False


def stated_count(text: str) -> int | None:
    """How many targets the text says there are ("two small targets" → 2, "several targets" → 2), or None."""
    best = None
    for m in _COUNT.finditer(text):
        if _NEGATED_PLURAL.search(text[max(0, m.start() - 30): m.start()]):
            continue  # "no two targets", "without several ..." are no counts
        word = m.group(1).lower().split()[0]
        n = int(word) if word.isdigit() else _COUNT_WORDS.get(word, 2)
        noun = m.group(3).lower()
        if word in ("several", "multiple", "many", "numerous", "both", "a") or noun.endswith("s") or n >= 2:
            best = max(best or 0, n)
    if best is None:
        for m in _PLURAL_TARGETS.finditer(text):
            if _KEY_AFTER.match(text, m.end()) and _KEY_BEFORE.search(text[max(0, m.start() - 30): m.start()]):
                continue
            if not _NEGATED_PLURAL.search(text[max(0, m.start() - 30): m.start()]):
                best = 2
                break
    return best


_PLURAL = re.compile(r"\b(targets|objects)\b|\b(two|three|four|five|several|multiple|many)\s+(small\s+|bright\s+)*(targets?|objects?)\b", re.IGNORECASE)


def mentions_plural_target(text: str) -> bool:
    """True when the text uses plural target wording ('targets', 'two small targets', 'multiple objects').

    The wording test of the paper's §5.6.6 (describe keeps its texts singular); negated and generic
    plurals are not plural wording: "no other objects are visible", "no targets". `validate`
    checks counts against the mask with `stated_count` instead.
    """
    for m in _PLURAL.finditer(text):
        if not _NEGATED_PLURAL.search(text[max(0, m.start() - 30): m.start()]) and not re.search(
            r"\bother\s+$", text[max(0, m.start() - 8): m.start()], re.IGNORECASE
        ):
            return True
    return False
