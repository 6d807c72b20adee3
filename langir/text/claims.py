"""Regions a description claims *for the target*: "upper left", "not in the lower half", "at two o'clock"…

VLM prose places many things: the target, but also clouds, tree lines, buildings, the horizon. Only
claims whose subject is the target count. The reader works in four steps (docs/curate.md):

1. **Normalise** (`_REWRITES`): markdown marks dropped; fixed expressions rewritten to their
   meaning — "up and to the left (of centre)" → upper left, "slightly left of centre" → a
   near-centre claim, "on top of a cloud" → no position, "relative to the image centre" → a
   reference, not a claim, "not far from" → near, "30 % from the left" / "two-thirds of the way
   down" → the cell they name, "northeast" → upper right.
2. **Split** into sentences (. ! ? ; new line, list items) and clauses (, : ( ) — and conjunctions
   and, but, while, whereas, although, with, which, that, …). No parser library fits: spaCy and
   Stanza need model downloads and are slow for 10,000 texts; a clause splitter of a few rules is
   enough here because only the *owner* of each position phrase matters.
3. **Owner** of each position phrase: the noun it modifies ("the upper cloud layer", "the left
   building"), else the nearest noun before it in its clause (target nouns:
   target, it, spot, dot, blob, object, heat source, aircraft …; other nouns: cloud, tree line,
   horizon, building, structure, sky, ground …). A target claim counts; another thing's does not,
   unless that thing is tied to the target by a proximity word ("the target sits right next to a
   cloud in the upper left"). A phrase with no noun before it takes a noun just after it ("the
   area on the left is clutter"), a relative clause's antecedent, the previous phrase's owner
   or the previous clause's subject ("the target below the upper cloud layer, in the lower right";
   "the blob on the left, close to the top"), the sentence's main subject, and the target when the
   sentence names nothing. A thing's place that follows the target in its clause ("the target sits
   above the tree line on the left side") counts only when the text places the target nowhere else.
   Negation before the phrase in its clause (not, isn't, never, neither/nor, rather than, instead
   of, away from, far from, outside, nowhere near, without) removes it.
4. **Word senses**: "right" before at/next/by/on/in/above/below/… is an intensifier; "left" after
   has/had/have or before behind/a/its is a verb; a position word followed by "than" ("lower than the
   other", "one slightly lower") or "of <a thing>" ("left of the cloud") is relative, not a region.

Phrases joined by "or" are one claim with alternatives ("upper left or upper center").

A phrase (position words at most `MAX_GAP` words apart) becomes a `Claim` with a value per axis
(upper/center/lower × left/center/right) and a *scale* per axis that decides its interval:
``half`` (half, quadrant, side; "the upper part": a half-plane), ``third`` (upper third, edge, corner, border, far),
``near`` (slightly left of centre: from 1/6 to 1/2 under grid, the half under broad), ``plain`` (upper left: the half-plane under
``broad`` strictness, the 3×3 grid third under ``grid``). "center" is the middle third. Clock
positions ("at about two o'clock", relative to the centre) are directions: ±45° (grid) or ±60°
(broad) around the hour. Axis qualifiers pin "center" to an axis: vertically / mid-height /
halfway / level with the middle → vertical; horizontally → horizontal.

Claims are grouped into *mentions* (one per target the text speaks of): "one … another …", "the
first … the second …", "target 1 … target 2", "a second target", list items. `ParsedText.distinct`
says whether the text insists on several distinct targets (then `grounding` matches mentions one
to one to mask components); a plural header's claims ("two targets near the top: one …, another
…") hold for every target it introduces.
"""

from __future__ import annotations

import functools
import re

from langir.data.text_rules import stated_count
from langir.text.normalise import _normalise
from langir.text.phrases import _clock_claims, _negates, _phrases
from langir.text.region import Claim, ParsedText
from langir.text.vocabulary import (
    _CLAUSE_MARKS,
    _CLAUSE_WORDS,
    _COMPARE_PRE,
    _EXCEPTIONS,
    _MENTION_ORDINALS,
    _ORDINALS,
    _PLURAL_WORDS,
    _PROXIMITY,
    _RELATIVE,
    _SENTENCE_MARKS,
    _SUBORDINATE,
    _TOKEN,
    _VERB_OPENERS,
    CONTAINER_OTHERS,
    GLOW_NOUNS,
    OTHER_NOUNS,
    TARGET_NOUNS,
    canonical,
)


# ---------------------------------------------------------------- clauses, owners, mentions
def _split(tokens: list[str]) -> list[list[tuple[int, int, bool]]]:
    """Sentences as lists of clauses (lo, hi, subordinate) over token indices.

    A clause opened by a relative or subordinating word (which, that, with, although, while…) is
    subordinate: its nouns are not the sentence's main subject.
    """
    sentences: list[list[tuple[int, int, bool]]] = []
    clauses: list[tuple[int, int, bool]] = []
    start, relative = 0, False
    for i, tok in enumerate(tokens + ["."]):
        if tok in _SENTENCE_MARKS or tok in _CLAUSE_MARKS or tok in _CLAUSE_WORDS:
            if i > start:
                clauses.append((start, i, relative))
            relative = tok in _SUBORDINATE
            start = i + 1
            if tok in _SENTENCE_MARKS and clauses:
                sentences.append(clauses)
                clauses = []
    if clauses:
        sentences.append(clauses)
    return sentences


def _noun_kind(tokens: list[str], i: int) -> str | None:
    tok = tokens[i]
    if tok in ("one", "ones"):
        # 'one' is a target only as a pronoun ("one in the upper left"), not as a number before a noun
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        return None if nxt in TARGET_NOUNS | OTHER_NOUNS or nxt in ("of", "small", "bright", "faint") else "T"
    if tok in ("object", "objects", "feature", "features") and i > 0 and tokens[i - 1] in ("other", "no"):
        return "D"
    if tok in TARGET_NOUNS:
        return "T"
    if tok in OTHER_NOUNS:
        return "D"
    if tok in GLOW_NOUNS:
        return "D" if any(t in TARGET_NOUNS and t != "one" for t in tokens[:i]) else "T"
    return None




def _owner(tokens: list[str], lo: int, hi: int, start: int, end: int) -> tuple[str | None, bool]:
    """Owner kind of the phrase at [start, end] and whether it is negated.

    'T' the target, 'D' another thing, 'DT' another thing named after the target in the clause
    (a fallback claim), None: no noun in the clause.
    """
    # "no obvious targets except a faint spot on the left": an exception lifts the negation before it
    negated = any(_negates(tokens, k) and not any(t in _EXCEPTIONS for t in tokens[k + 1:start]) for k in range(lo, start))
    # a position word that modifies the next noun ("the upper cloud layer", "the left building")
    for j in range(end + 1, min(hi, end + 3)):
        kind = _noun_kind(tokens, j)
        if kind == "D" and tokens[j] not in CONTAINER_OTHERS:
            return "D", negated
        if kind or tokens[j] in ("of", "is", "are", "in", "at", "on", "near", "and", "there"):
            break
    for j in range(start - 1, lo - 1, -1):
        kind = _noun_kind(tokens, j)
        if kind == "T":
            return "T", negated
        if kind == "D":
            # a thing tied to the target by a proximity word places the target too
            between = tokens[lo:j]
            has_target = any(_noun_kind(tokens, k) == "T" for k in range(lo, j))
            if has_target and tokens[j] in CONTAINER_OTHERS:
                return "T", negated  # "a small target in the sky on the right"
            if has_target and any(t in _PROXIMITY for t in between[-4:]):
                away = any(t in ("away", "far", "outside", "rather_than", "instead") for t in between)
                return ("T", negated) if not away else ("D", True)
            t_at = max(k for k in range(lo, j) if _noun_kind(tokens, k) == "T") if has_target else j
            link = tokens[t_at + 1: j]
            if has_target and not any(t in ("away", "far", "outside", "from", "of", "than") or canonical(t) for t in link):
                # "a target sits above the tree line on the left side": the place may be either's;
                # it counts for the target only when the text places the target nowhere else
                return "DT", negated
            return "D", negated
    for j in range(end + 1, min(hi, end + 4)):  # "the area on the left is background clutter"
        kind = _noun_kind(tokens, j)
        if kind and tokens[j] not in CONTAINER_OTHERS:  # "in the upper-left sky" places what is in it
            return kind, negated
    return None, negated


def parse_text(text: str) -> ParsedText:
    """Target claims of `text` grouped into mentions (see the module docstring)."""
    cached = _parse_cached(text)  # template sets repeat the same few texts thousands of times
    return ParsedText(list(cached.claims), [list(g) for g in cached.mentions], cached.distinct)


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> ParsedText:
    tokens = _TOKEN.findall(_normalise(text))
    parsed = ParsedText()
    mention: list[int] = []
    inferred_center: dict[int, bool] = {}
    distinct = False
    ones = 0  # "one … one …" speaks of two targets
    default_owner = "T"

    fallback: list[Claim] = []  # places of things the target is said to be by ("above the tree line on the left")
    first_plural: list[bool] = []  # per mention: its first claim is in a sentence about several targets
    marked: list[bool] = []  # per mention in parsed.mentions: opened by a marker ("one", "another", …)
    opened_by_marker = False

    def new_mention(by_marker: bool = False) -> None:
        nonlocal mention, opened_by_marker
        if mention:
            parsed.mentions.append(mention)
            marked.append(opened_by_marker)
        mention = []
        opened_by_marker = by_marker

    for sentence in _split(tokens):
        # main subject: the first noun of a non-relative clause
        main = None
        first_noun_at: list[tuple[int, str]] = []
        for lo, hi, rel in sentence:
            for j in range(lo, hi):
                kind = _noun_kind(tokens, j)
                if kind:
                    first_noun_at.append((j, kind))
                    if main is None and not rel:
                        main = kind
        plural_sentence = any(tokens[j] in _PLURAL_WORDS for lo, hi, _ in sentence for j in range(lo, hi))
        list_item = sentence[0][0] > 0 and tokens[sentence[0][0] - 1] == "\n"
        if list_item and mention:
            new_mention()
        topic: str | None = None  # owner of the sentence's latest position phrase
        subject: str | None = None  # first noun of the latest clause that has one
        for lo, hi, _rel in sentence:
            items = _clause_items(tokens, lo, hi)
            markers, n_ones, insists = _markers(tokens, lo, hi)
            ones += n_ones
            distinct |= insists
            events = sorted([(m, "mark", None) for m in markers] + [(it[0], "claim", it) for it in items], key=lambda e: e[0])
            for _, kind, item in events:
                if kind == "mark":
                    new_mention(by_marker=True)
                    continue
                _, claim, inferred, owner, neg = item
                if owner is None and lo > 0 and tokens[lo - 1] in _RELATIVE:
                    # "clouds that cover the lower half": the relative clause's antecedent
                    owner = next((_noun_kind(tokens, j) for j in range(lo - 2, sentence[0][0] - 1, -1)
                                  if _noun_kind(tokens, j)), None)
                if owner is None:
                    # "the target below the upper cloud layer, in the lower right": the previous clause's
                    # subject; "the blob, close to the top": the previous phrase's owner
                    continuing = subject if subject is not None else topic
                    owner = main if tokens[lo] in _VERB_OPENERS or continuing is None else continuing
                    if owner is None:
                        later = [k for j, k in first_noun_at if j > lo]
                        owner = later[0] if later else default_owner
                topic = owner
                if owner == "DT" and not neg:
                    fallback.append(claim)
                if owner != "T" or neg:
                    continue
                inferred_center[len(parsed.claims)] = inferred
                if not mention:
                    first_plural.append(plural_sentence)
                mention.append(len(parsed.claims))
                parsed.claims.append(claim)
            first = next((_noun_kind(tokens, j) for j in range(lo, hi) if _noun_kind(tokens, j)), None)
            if first is not None:
                subject = first
    new_mention()
    if not parsed.claims and fallback:
        parsed.claims = list(fallback)
        parsed.mentions = [list(range(len(fallback)))]
        marked, first_plural = [False], [False]
    count = stated_count(text)
    if count is None and first_plural and _PLURAL_KEY.match(text):
        # "Targets: upper left, lower right", "Target locations: …": places listed under a plural key, one per target
        count, first_plural[0] = 2, True
    _regroup(parsed, count, marked, first_plural, inferred_center)
    _settle_centres(parsed, inferred_center)
    parsed.distinct = (distinct or (count or 0) >= 2 or ones >= 2) and len(parsed.mentions) > 1
    return parsed


_PLURAL_KEY = re.compile(r"^[\s*#>_-]*(?:(?:small|detected|candidate)\s+)?(?:targets|objects|detections|target\s+(?:locations|positions))"
                         r"[\s*_]*[:=]", re.IGNORECASE)

_Item = tuple[int, Claim, bool, str | None, bool]  # (token index, claim, centre inferred, owner, negated)


def _clause_items(tokens: list[str], lo: int, hi: int) -> list[_Item]:
    """The position phrases and clock positions of one clause, with their owners."""
    items: list[_Item] = []
    prev_end = -1
    for ph in _phrases(tokens, lo, hi):
        owner, neg = _owner(tokens, lo, hi, ph.start, ph.end)
        claim, inferred = ph.claim()
        between = tokens[prev_end + 1: ph.start] if prev_end >= 0 else []
        if items and "or" in between and not any(_negates(tokens, k) for k in range(prev_end + 1, ph.start)):
            # "in the upper left or upper center": one claim with alternatives
            first = items[-1][1]
            alts = (first.alternatives or (first,)) + (claim,)
            merged = Claim(first.vertical, first.horizontal, f"{first.phrase} or {claim.phrase}", alternatives=alts)
            items[-1] = (items[-1][0], merged, False, items[-1][3], items[-1][4])
        else:
            items.append((ph.start, claim, inferred, owner, neg))
        prev_end = ph.end
    for at, claim in _clock_claims(tokens, lo, hi):
        owner, neg = _owner(tokens, lo, hi, at, at + 1)
        items.append((at, claim, False, owner, neg))
    return items


def _markers(tokens: list[str], lo: int, hi: int) -> tuple[list[int], int, bool]:
    """Mention markers of one clause ("one", "another", "a second target", "Target 2"): their indices, how
    many are "one", and whether one insists on a distinct target."""
    markers: list[int] = []
    ones, distinct = 0, False
    for j in range(lo, hi):
        tok = tokens[j]
        prev = tokens[j - 1] if j > 0 else ""
        prev2 = tokens[j - 2] if j > 1 else ""
        if prev in _COMPARE_PRE or prev2 in _COMPARE_PRE and prev == "the":
            continue  # "than the first", "left of the other": a comparison, no new target
        nxt = tokens[j + 1] if j + 1 < len(tokens) else ""
        if tok == "other" and (prev != "the" or nxt in OTHER_NOUNS):
            continue  # "no other objects", "other features": not a second target
        if tok == "another" and nxt in OTHER_NOUNS:
            continue
        # "a third target", "First target: …", "a dimmer second target"; not "the left third"
        ordinal = tok in _ORDINALS and nxt != "of" and (
            prev in ("a", "an", "the")
            or (nxt in TARGET_NOUNS and (prev in ("", "\n") or prev in _SENTENCE_MARKS or prev in _CLAUSE_MARKS))
            or (nxt in TARGET_NOUNS and prev2 in ("a", "an", "the")))
        one = tok == "one" and nxt not in ("third", "quarter", "half", "fifth", "fourth") and (_noun_kind(tokens, j) == "T" or any(
            _noun_kind(tokens, k) == "T" for k in range(j + 1, min(hi, j + 4))))  # "one small target"
        if ordinal or tok in _MENTION_ORDINALS or one or (tok in ("target", "object") and j + 1 < hi and tokens[j + 1].isdigit()):
            markers.append(j)
            ones += tok == "one"
            if tok in ("another", "other") or (ordinal and tok not in ("first", "last")) or tok in ("target", "object"):
                distinct = True
    return markers, ones, distinct


def _regroup(parsed: ParsedText, count: int | None, marked: list[bool], first_plural: list[bool],
             inferred_center: dict[int, bool]) -> None:
    """Mentions of a text that counts several targets, regrouped in place."""
    # "two targets near the top: one centred, another further right": the plural header's claims
    # hold for every target it introduces
    if (count or 0) >= 2 and len(parsed.mentions) >= 3 and not marked[0] and first_plural[0] and all(marked[1:]):
        header, rest = parsed.mentions[0], parsed.mentions[1:]
        groups = []
        for group in rest:
            copies = []
            for i in header:
                inferred_center[len(parsed.claims)] = inferred_center.get(i, False)
                copies.append(len(parsed.claims))
                parsed.claims.append(parsed.claims[i])
            groups.append(copies + group)
        parsed.mentions = groups
    elif (count or 0) >= 2:
        # "the targets are in the upper left and the lower right": a plural subject's places are
        # one per target, not all true of one
        split: list[list[int]] = []
        for k, group in enumerate(parsed.mentions):
            if not marked[k] and first_plural[k] and _clash([parsed.claims[i] for i in group]):
                split.extend([i] for i in group)
            else:
                split.append(group)
        parsed.mentions = split


def _settle_centres(parsed: ParsedText, inferred_center: dict[int, bool]) -> None:
    """Centres that only filled axes by default, settled against their mention's other claims (in place)."""
    # a centre that filled both axes by default yields the axes a sibling claim names ("in the left
    # part, near the middle" → vertical centre); with both axes named elsewhere it only modifies
    keep: dict[int, Claim] = {}
    for group in parsed.mentions:
        named = [parsed.claims[i] for i in group if not inferred_center.get(i) and parsed.claims[i].clock is None]
        named_v = any(c.vertical for c in named)
        named_h = any(c.horizontal for c in named)
        for i in group:
            c = parsed.claims[i]
            if inferred_center.get(i):
                if named_v and named_h:
                    continue
                c = Claim(None if named_v else c.vertical, None if named_h else c.horizontal, c.phrase)
            keep[i] = c
    order = sorted(keep)  # claims in no mention (a distributed header) are dropped
    renumber = {old: new for new, old in enumerate(order)}
    parsed.claims = [keep[i] for i in order]
    parsed.mentions = [[renumber[i] for i in g if i in renumber] for g in parsed.mentions]
    parsed.mentions = [g for g in parsed.mentions if g]


def _clash(claims: list[Claim]) -> bool:
    """Two claims give one axis different values ('upper left' and 'lower right')."""
    for axis in ("vertical", "horizontal"):
        values = {getattr(c, axis) for c in claims if c.clock is None and not c.alternatives} - {None}
        if len(values) > 1:
            return True
    return False


def parse_claims(text: str) -> list[Claim]:
    """The regions `text` claims for the target, one `Claim` per phrase, in reading order."""
    return parse_text(text).claims
