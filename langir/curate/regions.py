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
from dataclasses import dataclass, field

import numpy as np

from langir.data.positions import SYNONYMS, TABLE1_WORDS
from langir.data.text_rules import stated_count

MAX_GAP = 3
STRICTNESS = ("broad", "grid")
# Interval of each axis value on [0, 1) per scale (see the module docstring).
_HALF = {"upper": (0.0, 0.5), "left": (0.0, 0.5), "lower": (0.5, 1.0), "right": (0.5, 1.0)}
_THIRD = {"upper": (0.0, 1 / 3), "left": (0.0, 1 / 3), "lower": (2 / 3, 1.0), "right": (2 / 3, 1.0)}
_NEAR = {"upper": (1 / 6, 0.5), "left": (1 / 6, 0.5), "lower": (0.5, 5 / 6), "right": (0.5, 5 / 6)}
CENTER_INTERVAL = (1 / 3, 2 / 3)
# kept for older callers: the broad intervals
CLOCK_HALF_ANGLE = {"grid": 45.0, "broad": 60.0}

_EXTRA = {
    "leftmost": "left", "rightmost": "right", "topmost": "upper", "uppermost": "upper", "bottommost": "lower",
    "lowermost": "lower", "centered": "center", "centred": "center", "centrally": "center", "midpoint": "center",
}
_VERTICAL = frozenset({"upper", "lower"})
_HORIZONTAL = frozenset({"left", "right"})
_SUPERLATIVE = frozenset({"leftmost", "rightmost", "topmost", "uppermost", "bottommost", "lowermost"})

TARGET_NOUNS = frozenset([
    "target", "targets", "it", "itself", "object", "objects", "spot", "spots", "dot", "dots", "blob", "blobs",
    "point", "points", "speck", "specks", "source", "sources", "signature", "signatures", "aircraft", "airplane",
    "aeroplane", "plane", "planes", "jet", "drone", "drones", "uav", "uavs", "helicopter", "bird", "birds",
    "missile", "ship", "ships", "boat", "boats", "vessel", "vessels", "hotspot", "hotspots", "blip", "blips", "one",
    "ones", "pixel", "pixels", "cluster", "anomaly", "anomalies", "emitter", "emitters", "patch", "glow", "flare",
    "vehicle", "vehicles", "car", "cars", "truck"
])
OTHER_NOUNS = frozenset([
    "cloud", "clouds", "cirrus", "cumulus", "bank", "tree", "trees", "treeline", "treetops", "forest", "foliage",
    "vegetation", "bush", "bushes", "grass", "horizon", "building", "buildings", "structure", "structures", "house",
    "houses", "roof", "roofs", "rooftop", "rooftops", "roofline", "tower", "towers", "mast", "masts", "pole",
    "poles", "antenna", "chimney", "wall", "walls", "bridge", "crane", "cranes", "road", "roads", "street", "sky",
    "ground", "land", "terrain", "earth", "hill", "hills", "hillside", "mountain", "mountains", "ridge", "ridges",
    "cliff", "cliffs", "rock", "rocks", "sea", "ocean", "water", "waves", "wave", "coast", "coastline", "shore",
    "shoreline", "island", "background", "clutter", "haze", "fog", "mist", "smoke", "sun", "glare", "glint",
    "reflection", "reflections", "noise", "contrail", "trail", "streak", "wire", "wires", "cable", "cables",
    "powerline", "field", "fields", "city", "skyline", "window", "windows", "lamp", "lights", "texture"
])
# other things that are also where the target is seen: "a target in the sky on the right"
CONTAINER_OTHERS = frozenset({"sky", "background", "air", "distance", "haze", "clutter"})
# containers and parts of the image: never the owner of a position
PLACE_NOUNS = frozenset([
    "image", "images", "frame", "picture", "photo", "photograph", "scene", "view", "field", "region", "area",
    "part", "portion", "section", "zone", "corner", "corners", "side", "sides", "edge", "edges", "half", "quadrant",
    "third", "border", "borders", "margin", "boundary", "location", "position"
])
_PROXIMITY = frozenset({"near", "next", "beside", "by", "close", "adjacent", "among", "amid", "amidst", "atop",
                        "alongside", "within", "inside", "embedded", "surrounded", "front"})
_NEGATORS = frozenset({"not", "isn't", "aren't", "wasn't", "never", "neither", "nor", "without", "outside",
                       "nowhere", "instead", "rather_than", "unlike", "nothing", "none", "no"})
_NEGATOR_BEFORE_FROM = frozenset({"away", "far"})  # "away from", "far from"
_EXCEPTIONS = frozenset({"except", "besides", "apart", "but", "save", "other"})  # "other than"
_CLAUSE_WORDS = frozenset({"and", "but", "while", "whereas", "although", "though", "with", "which", "who", "that",
                           "where", "yet", "because", "since", "whilst", "then", "plus", "as"})
_RELATIVE = frozenset({"which", "who", "that", "where"})
_SUBORDINATE = frozenset({"which", "who", "that", "where", "with", "although", "though", "while", "whereas",
                          "because", "since", "whilst", "as"})
# a clause without a noun that opens with one of these continues the sentence's main subject
# ("…, is located in the centre"); other noun-less clauses continue the previous phrase's owner
# ("the blob on the left, close to the top")
_VERB_OPENERS = frozenset([
    "is", "are", "was", "were", "lies", "lie", "sits", "sit", "appears", "appear", "seems", "seem", "can", "could",
    "may", "might", "located", "positioned", "situated", "visible", "found", "seen", "placed", "stands", "shows",
    "it's", "its", "remains", "hovers", "floats"
])
_SENTENCE_MARKS = frozenset({".", "!", "?", ";", "\n"})
_CLAUSE_MARKS = frozenset({",", ":", "(", ")", "—", "–", '"'})
_RIGHT_INTENSIFIED = frozenset([
    "at", "next", "by", "on", "in", "above", "below", "beside", "near", "there", "here", "along", "up", "against",
    "over", "under", "where", "into", "onto", "inside", "beneath", "behind", "across", "before", "after", "away",
    "now", "around", "through", "off", "to", "within", "between", "adjacent", "alongside", "atop"
])
_SIDE_PRE = frozenset({"the", "far", "upper", "lower", "top", "bottom", "center", "middle", "mid", "to", "extreme",
                       "very", "central", "its", "their", "image's", "frame's"})
_LEFT_VERB_PRE = frozenset({"has", "have", "had", "having", "been", "who", "just", "being"})
_LEFT_VERB_POST = frozenset({"behind", "a", "an", "its", "their", "his", "her", "no", "nothing", "little", "over",
                             "unexplored", "alone", "traces", "marks"})
_HALF_WORDS = frozenset({"half", "quadrant", "side", "sides", "hand", "halves"})
_PART_WORDS = frozenset({"part", "portion", "region", "area", "section", "zone", "parts", "areas"})
_THIRD_WORDS = frozenset({"third", "edge", "edges", "corner", "border", "margin", "boundary", "far", "extreme",
                          "periphery", "very", "rim"})
_MENTION_ORDINALS = frozenset({"another", "other"})
_ORDINALS = frozenset({"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "last"})
_COMPARE_PRE = frozenset({"than", "of", "from", "to", "as", "with"})
_PLURAL_WORDS = frozenset({"targets", "objects", "spots", "dots", "blobs", "points", "sources", "two", "three", "both",
                           "several", "multiple", "pair"})
_NEAR_MARKS = frozenset({"slightly", "somewhat", "marginally", "offcenter", "bit", "little"})
_NOT_PLACES = frozenset({
    "contrast", "intensity", "intensities", "temperature", "temperatures", "resolution", "signal", "brightness",
    "priority", "angle", "angles", "limit", "bound", "case", "atmosphere", "altitude", "altitudes", "level", "levels",
    "values", "value", "energy", "frequency", "quality", "confidence", "probability", "likelihood", "answer", "choice",
})
_DEGREE = frozenset({"slightly", "bit", "little", "somewhat", "much", "further", "farther", "even", "marginally", "lot"})
_PLACE_AFTER = frozenset({"left", "right", "center", "middle", "half", "part", "portion", "corner", "third", "edge",
                          "region", "area", "side", "quadrant", "section", "border"})
_NUMBERS = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"])}

# (trigger words, pattern, replacement): a rule runs only when a trigger word is in the text
# (each regex scan costs ~15 µs; most texts need few of these rules)
_REWRITE_RULES: list[tuple[tuple[str, ...] | None, str, str]] = [
    (None, r"[*#`_>|]+", " "),
    (None, r"^\s*(?:[-•]|\d+[.)])\s+", "\n"),  # list items: each its own sentence
    (('‘', '’'), r"[‘’]", "'"),
    (('“', '”'), r"[“”]", '"'),
    (('centre',), r"\bcentre\b", "center"),
    (('centred',), r"\bcentred\b", "centered"),
    (('hand',), r"\b(left|right)[- ]hand\b", r"\1"),
    (('far',), r"\bnot\s+(?:too\s+|very\s+|that\s+)?far\s+from\b", "near"),
    (('more',), r"\bno\s+more\s+than\b", "within"),
    (('rather',), r"\brather\s+than\b", "rather_than"),
    (('than',), r"\bother\s+than\b", "rather_than"),
    (('apart',), r"\bapart\s+from\b", "besides"),
    # "on top of a cloud" is no position; "at the top of the frame" is
    (('top',), r"\bon\s+top\s+of\b(?!\s+the\s+(?:image|frame|picture|scene|view)\b)", "atop"),
    # directions relative to the image centre
    (('and',), r"\b(up|upward|upwards|above)\s+and\s+(?:to\s+the\s+)?(left|right)\b(?:\s+(?:of|from)\s+(?:the\s+)?(?:image\s+|frame\s+)?center(?:\s+of\s+the\s+(?:image|frame|picture))?)?", r"half_upper half_\2"),
    (('and',), r"\b(down|downward|downwards|below)\s+and\s+(?:to\s+the\s+)?(left|right)\b(?:\s+(?:of|from)\s+(?:the\s+)?(?:image\s+|frame\s+)?center(?:\s+of\s+the\s+(?:image|frame|picture))?)?", r"half_lower half_\2"),
    (('and',), r"\b(?:to\s+the\s+)?(left|right)\s+and\s+(up|upward|above)\b", r"half_upper half_\1"),
    (('and',), r"\b(?:to\s+the\s+)?(left|right)\s+and\s+(down|downward|below)\b", r"half_lower half_\1"),
    (('of',), r"\b(slightly|just|a\s+bit|a\s+little|somewhat|marginally|a\s+touch)\s+(?:to\s+the\s+)?(left|right)\s+of\s+(?:the\s+)?(?:image\s+|frame\s+)?(?:center|middle)\b(?:\s+of\s+the\s+(?:image|frame|picture))?", r"near_\2"),
    (('above', 'below', 'than'), r"\b(slightly|just|a\s+bit|a\s+little|somewhat|marginally|a\s+touch)\s+(above|below|higher\s+than|lower\s+than)\s+(?:the\s+)?(?:image\s+|frame\s+)?(?:center|middle)\b(?:\s+of\s+the\s+(?:image|frame|picture))?", r"near_\2"),
    (('of',), r"\b(?:to\s+the\s+)?(left|right)\s+of\s+(?:the\s+)?(?:image\s+|frame\s+)?(?:center|middle)\b(?:\s+of\s+the\s+(?:image|frame|picture))?", r"\1 half"),
    (('above', 'below'), r"\b(above|below)\s+(?:the\s+)?(?:image\s+|frame\s+)?(?:center|middle)\b(?:\s+of\s+the\s+(?:image|frame|picture))?", r"\1_center"),
    # the centre as a reference point is no claim
    (('center',), r"\b(?:relative\s+to|with\s+respect\s+to|in\s+relation\s+to|measured\s+from|taking|from)\s+(?:the\s+)?(?:image\s+|frame's\s+|image's\s+)?center(?:\s+of\s+the\s+(?:image|frame|picture|scene))?(?:\s+as\s+(?:a\s+)?reference)?", " reference "),
    (('level',), r"\blevel\s+with\s+the\s+(?:image\s+)?(?:center|middle)\b", "vertically center"),
    (('mid', 'half'), r"\b(?:at\s+)?(mid|half)[- ]?(height|level|way\s+up|way\s+down)\b", "vertically center"),
    (('between',), r"\b(?:halfway|midway|equidistant)\s+between\s+the\s+(?:top|upper)(?:\s+edge)?\s+and\s+(?:the\s+)?(?:bottom|lower)(?:\s+edges?)?", "vertically center"),
    (('between',), r"\b(?:halfway|midway|equidistant)\s+between\s+the\s+(?:bottom|lower)(?:\s+edge)?\s+and\s+(?:the\s+)?(?:top|upper)(?:\s+edges?)?", "vertically center"),
    (('between',), r"\b(?:halfway|midway|equidistant)\s+between\s+the\s+(?:left|right)(?:\s+edge)?\s+and\s+(?:the\s+)?(?:left|right)(?:\s+edges?)?", "horizontally center"),
    (('halfway', 'midway'), r"\b(?:halfway|midway)\s+(up|down)\b", "vertically center"),
    (('across',), r"\b(?:halfway|midway)\s+across\b", "horizontally center"),
    (('mid',), r"\bmid[- ]?(?=left|right)", "center "),
    (('mid',), r"\bmid[- ]?(?=top|bottom|upper|lower)", "center "),
    (('dead',), r"\bdead\s+center\b", "center"),
    (('off',), r"\boff[- ]?cent(?:er|re)(?:ed)?\b", "offcenter"),
    (('east',), r"\bnorth[- ]?east(?:ern)?\b", "upper right"),
    (('west',), r"\bnorth[- ]?west(?:ern)?\b", "upper left"),
    (('east',), r"\bsouth[- ]?east(?:ern)?\b", "lower right"),
    (('west',), r"\bsouth[- ]?west(?:ern)?\b", "lower left"),
    (('north',), r"\bnorth(?:ern)?\b(?=\s+(?:part|portion|half|side|edge|region|area|corner|section|third|of))", "upper"),
    (('south',), r"\bsouth(?:ern)?\b(?=\s+(?:part|portion|half|side|edge|region|area|corner|section|third|of))", "lower"),
    (('east',), r"\beast(?:ern)?\b(?=\s+(?:part|portion|half|side|edge|region|area|corner|section|third|of))", "right"),
    (('west',), r"\bwest(?:ern)?\b(?=\s+(?:part|portion|half|side|edge|region|area|corner|section|third|of))", "left"),
    (('high', 'low'), r"\b(high|low)\s+(?:up\s+|down\s+)?(?=in\s+the\s+(?:image|frame|picture|scene|field|view|sky)|on\s+the\s+(?:left|right)|up\b|down\b)", r"\1_pos "),
]
_REWRITES: list[tuple[tuple[str, ...] | None, re.Pattern[str], str]] = [
    (t, re.compile(p, re.IGNORECASE), r) for t, p, r in _REWRITE_RULES
]
_TOKEN = re.compile(r"o'clock|\d+|[a-z_]+(?:'[a-z]+)?|\n|[.!?;:,()\"—–]")
_CLOCK_WORDS = {**_NUMBERS, **{str(i): i for i in range(1, 13)}}


@dataclass(frozen=True)
class Claim:
    """One claimed region: a value per axis (None = that axis is not constrained) and its scale."""

    vertical: str | None
    horizontal: str | None
    phrase: str  # the words of the text it came from
    v_scale: str = "plain"  # plain | half | third | near
    h_scale: str = "plain"
    clock: int | None = None  # 1..12: a direction from the image centre
    alternatives: tuple[Claim, ...] = ()  # "upper left or upper center": any of them may hold

    @property
    def label(self) -> str:
        """Readable name: 'upper left', 'center', 'center right', 'left', 'upper', '2 o'clock'."""
        if self.alternatives:
            return " or ".join(a.label for a in self.alternatives)
        if self.clock is not None:
            return f"{self.clock} o'clock"
        if self.vertical == "center" and self.horizontal == "center":
            return "center"
        return " ".join(w for w in (self.vertical, self.horizontal) if w)

    def _axis(self, value: str | None, scale: str, strictness: str) -> tuple[float, float]:
        if value is None:
            return 0.0, 1.0
        if value == "center":
            return CENTER_INTERVAL
        if scale == "near" and strictness == "grid":
            return _NEAR[value]
        if scale in ("half", "near") or (scale == "plain" and strictness == "broad"):
            return _HALF[value]
        return _THIRD[value]

    def bounds(self, tolerance: float = 0.0, strictness: str = "broad") -> tuple[float, float, float, float]:
        """(row0, row1, col0, col1) of the region, widened by `tolerance` on each constrained side."""
        if self.alternatives:  # the box around all alternatives
            boxes = np.array([a.bounds(tolerance, strictness) for a in self.alternatives])
            return (float(boxes[:, 0].min()), float(boxes[:, 1].max()), float(boxes[:, 2].min()), float(boxes[:, 3].max()))
        r0, r1 = self._axis(self.vertical, self.v_scale, strictness)
        c0, c1 = self._axis(self.horizontal, self.h_scale, strictness)
        t = tolerance
        return (r0 - t if r0 > 0 else r0, r1 + t if r1 < 1 else r1, c0 - t if c0 > 0 else c0, c1 + t if c1 < 1 else c1)

    def contains(self, points: np.ndarray, tolerance: float = 0.0, strictness: str = "broad") -> np.ndarray:
        """Which of the normalised (row, col) points (N×2) lie in the region (bool N)."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if self.alternatives:
            return np.any([a.contains(points, tolerance, strictness) for a in self.alternatives], axis=0)
        rows, cols = points[:, 0], points[:, 1]
        if self.clock is not None:
            dy, dx = 0.5 - rows, cols - 0.5
            angle = np.degrees(np.arctan2(dx, dy)) % 360
            diff = np.abs((angle - 30 * (self.clock % 12) + 180) % 360 - 180)
            # a target at the very centre has no direction: any hour is as good as any
            return (diff <= CLOCK_HALF_ANGLE[strictness]) | (np.hypot(dx, dy) < 0.05 + tolerance)
        r0, r1, c0, c1 = self.bounds(tolerance, strictness)
        # half-open intervals like positions.grid_cell / quadrant; the last one closed at 1
        in_r = (rows >= r0) & ((rows < r1) | (r1 >= 1))
        in_c = (cols >= c0) & ((cols < c1) | (c1 >= 1))
        return in_r & in_c

    def distance(self, points: np.ndarray, strictness: str = "broad") -> np.ndarray:
        """Euclidean distance (in image fractions) of each normalised point to the region; 0 inside."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if self.alternatives:
            return np.min([a.distance(points, strictness) for a in self.alternatives], axis=0)
        if self.clock is not None:
            inside = self.contains(points, 0.0, strictness)
            return np.where(inside, 0.0, np.hypot(points[:, 0] - 0.5, points[:, 1] - 0.5))
        r0, r1, c0, c1 = self.bounds(0.0, strictness)
        dr = np.maximum(np.maximum(r0 - points[:, 0], points[:, 0] - r1), 0.0)
        dc = np.maximum(np.maximum(c0 - points[:, 1], points[:, 1] - c1), 0.0)
        return np.hypot(dr, dc)


@dataclass
class ParsedText:
    """Target claims of a text, grouped into mentions (one per target spoken of)."""

    claims: list[Claim] = field(default_factory=list)
    mentions: list[list[int]] = field(default_factory=list)  # claim indices per mention
    distinct: bool = False  # the text insists on several distinct targets ("another", "the second", …)


def canonical(word: str) -> str | None:
    """Canonical position word ('upper', 'lower', 'left', 'right', 'center') of a lower-case word, or None."""
    word = SYNONYMS.get(word, _EXTRA.get(word, word))
    return word if word in TABLE1_WORDS else None


_FRACTIONS = {"half": 50, "a half": 50, "one half": 50, "a third": 33, "one third": 33, "two thirds": 67,
              "a quarter": 25, "one quarter": 25, "three quarters": 75, "a fifth": 20, "one fifth": 20,
              "two fifths": 40, "three fifths": 60, "four fifths": 80}
_OFFSET = re.compile(
    r"\b(?:about\s+|roughly\s+|approximately\s+|around\s+|some\s+)?"
    r"(\d{1,3})\s*(?:%|percent|per\s+cent)|((?:a|one|two|three|four)[- ](?:half|thirds|third|quarters|quarter|fifths|fifth))\b"
)
_OFFSET_TAIL = re.compile(r"\s+(?:of\s+the\s+(?:way|width|height)\s+)?(?:in\s+)?(?:from|down\s+from|up\s+from|across\s+from)\s+the\s+(left|right|top|bottom)\b")


def _offsets(text: str) -> str:
    """'30 % from the left' → 'left', 'two-thirds of the way down from the top' → 'lower' (the cell it names)."""
    out, pos = [], 0
    for m in _OFFSET.finditer(text):
        tail = _OFFSET_TAIL.match(text, m.end())
        if not tail:
            continue
        value = int(m.group(1)) if m.group(1) else _FRACTIONS.get(m.group(2).replace("-", " "), -1)
        if not 0 <= value <= 100:
            continue
        side = tail.group(1)
        frac = value / 100 if side in ("left", "top") else 1 - value / 100
        axis_low, axis_high = ("left", "right") if side in ("left", "right") else ("upper", "lower")
        word = axis_low if frac < 1 / 3 else axis_high if frac >= 2 / 3 else (
            "horizontally center" if side in ("left", "right") else "vertically center")
        out.append(text[pos: m.start()] + f" {word} ")
        pos = tail.end()
    return "".join(out) + text[pos:] if out else text


def _normalise(text: str) -> str:
    text = text.lower()
    if "\n" in text:
        lines = []
        for line in text.splitlines():
            for _, rx, repl in _REWRITES[:2]:
                line = rx.sub(repl, line)
            lines.append(line)
        text = "\n".join(lines)
    else:
        text = _REWRITES[0][1].sub(" ", text)
    if "from the" in text:
        text = _offsets(text)
    for trigger, rx, repl in _REWRITES[2:]:
        if trigger is None or any(t in text for t in trigger):
            text = rx.sub(repl, text)
    return text


# ---------------------------------------------------------------- tokens → items
@dataclass
class _Pos:
    """A position word: its canonical value, forced axis (for center) and scale."""

    index: int
    value: str  # upper lower left right center
    axis: str | None = None  # 'v' | 'h' for center pinned to one axis
    scale: str = "plain"
    raw: str = ""


def _position_word(tokens: list[str], i: int) -> _Pos | None:
    tok = tokens[i]
    prev = tokens[i - 1] if i > 0 else ""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok in ("near_left", "near_right", "near_above", "near_below", "near_higher", "near_lower"):
        value = {"near_left": "left", "near_right": "right", "near_above": "upper", "near_higher": "upper",
                 "near_below": "lower", "near_lower": "lower"}[tok]
        return _Pos(i, value, scale="near", raw=tok)
    if tok.startswith("half_") and tok[5:] in _HALF:
        return _Pos(i, tok[5:], scale="half", raw=tok[5:])
    if tok in ("above_center", "below_center"):
        return _Pos(i, "upper" if tok.startswith("above") else "lower", scale="half", raw=tok)
    if tok in ("high_pos", "low_pos"):
        return _Pos(i, "upper" if tok == "high_pos" else "lower", raw=tok)
    word = canonical(tok)
    if word is None:
        return None
    if nxt == "than":  # "lower than the other": a comparison, no region
        return None
    if nxt in _NOT_PLACES:
        return None  # "lower contrast", "top priority", "right angle", "upper atmosphere"
    if tok in ("lower", "upper") and prev in _DEGREE and nxt not in _PLACE_AFTER:
        return None  # "one slightly lower": a comparison with the other target
    if tok == "right" and nxt in _RIGHT_INTENSIFIED and prev not in _SIDE_PRE:
        return None  # "right at the left edge", "right next to a cloud"
    if tok == "left" and prev not in _SIDE_PRE and (prev in _LEFT_VERB_PRE or nxt in _LEFT_VERB_POST):
        return None  # "a jet has left a contrail"
    pos = _Pos(i, word, raw=tok)
    if tok in _SUPERLATIVE:
        pos.scale = "third"
    return pos


def _is_number(tok: str) -> bool:
    return tok in _CLOCK_WORDS


# ---------------------------------------------------------------- phrases
class _Phrase:
    def __init__(self) -> None:
        self.vertical: str | None = None
        self.horizontal: str | None = None
        self.v_scale = "plain"
        self.h_scale = "plain"
        self.center: str | None = None  # None | 'both' | 'v' | 'h'
        self.words: list[str] = []
        self.start = -1
        self.end = -1

    def empty(self) -> bool:
        return not (self.vertical or self.horizontal or self.center)

    def accepts(self, pos: _Pos) -> bool:
        if pos.value in _VERTICAL:
            return self.vertical is None and self.center != "v"
        if pos.value in _HORIZONTAL:
            return self.horizontal is None and self.center != "h"
        if self.center is not None:
            return False
        if pos.axis == "v":
            return self.vertical is None
        if pos.axis == "h":
            return self.horizontal is None
        return self.vertical is None or self.horizontal is None

    def add(self, pos: _Pos) -> None:
        if pos.value in _VERTICAL:
            self.vertical, self.v_scale = pos.value, pos.scale
        elif pos.value in _HORIZONTAL:
            self.horizontal, self.h_scale = pos.value, pos.scale
        else:
            self.center = pos.axis or "both"
        if self.start < 0:
            self.start = pos.index
        self.end = pos.index
        self.words.append(pos.raw)

    def single_side(self) -> bool:
        """One side axis named and nothing else ('upper', not 'upper left' or 'upper center')."""
        return self.center is None and (self.vertical is None) != (self.horizontal is None)

    def scale(self, scale: str) -> None:
        """A scale word after the phrase ('half', 'third', 'edge', 'corner') applies to its side axes."""
        for axis in ("v", "h"):
            value = self.vertical if axis == "v" else self.horizontal
            if value and value != "center":
                current = self.v_scale if axis == "v" else self.h_scale
                if current in ("plain", "near") or (current == "third" and scale == "half"):
                    if axis == "v":
                        self.v_scale = scale
                    else:
                        self.h_scale = scale

    def claim(self) -> tuple[Claim, bool]:
        """The claim, and whether its centre fills axes only by default (no axis word pinned it)."""
        vertical, horizontal = self.vertical, self.horizontal
        inferred = False
        if self.center == "v":
            vertical = "center"
        elif self.center == "h":
            horizontal = "center"
        elif self.center == "both":
            if vertical is None and horizontal is None:
                vertical = horizontal = "center"
                inferred = True
            elif vertical is None:
                vertical = "center"
            elif horizontal is None:
                horizontal = "center"
        return Claim(vertical, horizontal, " ".join(self.words), self.v_scale, self.h_scale), inferred


def _phrases(tokens: list[str], lo: int, hi: int) -> list[_Phrase]:
    """Position phrases among tokens[lo:hi] (one clause)."""
    found: list[_Phrase] = []
    phrase = _Phrase()
    gap = 0

    def close() -> None:
        nonlocal phrase
        if not phrase.empty():
            found.append(phrase)
        phrase = _Phrase()

    for i in range(lo, hi):
        tok = tokens[i]
        pos = _position_word(tokens, i)
        if pos is None:
            if _negates(tokens, i) or tok == "or":
                close()  # "centre rather than the upper left", "upper left or center": two phrases
                continue
            if not phrase.empty():
                if tok in _HALF_WORDS or (tok in _PART_WORDS and phrase.single_side()):
                    phrase.scale("half")  # "left side", "upper part of the image": broad by their words
                elif tok in _THIRD_WORDS and tok not in ("far", "very", "extreme"):
                    phrase.scale("third")
                gap += 1
                if gap > MAX_GAP:
                    close()
            continue
        # scale words before the phrase ("the far left", "the extreme right")
        if i > lo and tokens[i - 1] in ("far", "extreme", "very") and pos.value != "center":
            pos.scale = "third"
        elif pos.value != "center" and pos.scale == "plain" and _NEAR_MARKS & set(tokens[max(lo, i - 4): i]):
            pos.scale = "near"  # "slightly to the left", "just off-centre toward the upper right"
        if pos.value == "center":
            window = tokens[max(lo, i - 3): min(hi, i + 3)]
            if "vertically" in window:
                pos.axis = "v"
            elif "horizontally" in window or "across" in window:
                pos.axis = "h"
        if not phrase.empty() and not phrase.accepts(pos):
            if pos.value == "center" and phrase.vertical and phrase.horizontal:
                phrase.words.append(pos.raw)  # "the middle of the upper-left quadrant" only modifies
                phrase.end = i
                gap = 0
                continue
            close()
        phrase.add(pos)
        gap = 0
    close()
    # relative phrases: "left of the cloud", "to the right of the other target"
    kept = []
    for ph in found:
        j = ph.end + 1
        while j < hi and tokens[j] in _HALF_WORDS | _THIRD_WORDS | {"part", "portion", "region", "area", "section"}:
            j += 1
        if j < hi and (tokens[j] == "of" or (tokens[j] in ("in", "on", "within") and ph.center and not (ph.vertical or ph.horizontal))):
            # "left of the cloud", "centered in a gap between clouds": placed relative to a thing
            k = j + 1
            while k < hi and k < j + 5 and tokens[k] not in TARGET_NOUNS | OTHER_NOUNS | PLACE_NOUNS:
                k += 1
            if k < hi and tokens[k] in (TARGET_NOUNS | OTHER_NOUNS) - {"it"} and k <= j + 4:
                continue
        kept.append(ph)
    return kept


def _clock_claims(tokens: list[str], lo: int, hi: int) -> list[tuple[int, Claim]]:
    out = []
    for i in range(lo, hi):
        if tokens[i] == "o'clock" and i > lo and _is_number(tokens[i - 1]):
            hour = _CLOCK_WORDS[tokens[i - 1]]
            if 1 <= hour <= 12:
                v = "upper" if hour in (10, 11, 12, 1, 2) else "lower" if hour in (4, 5, 6, 7, 8) else "center"
                h = "right" if 1 <= hour <= 5 else "left" if 7 <= hour <= 11 else "center"
                out.append((i - 1, Claim(v, h, f"{tokens[i - 1]} o'clock", clock=hour)))
    return out


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
    return None


def _negates(tokens: list[str], k: int) -> bool:
    t = tokens[k]
    return t in _NEGATORS or (t in _NEGATOR_BEFORE_FROM and k + 1 < len(tokens) and tokens[k + 1] in ("from", "away"))


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
            items: list[tuple[int, Claim, bool, str | None, bool]] = []
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
            # mention markers in this clause, in order with the claims
            markers = []
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
                ordinal = tok in _ORDINALS and prev in ("a", "an", "the") and nxt != "of"  # "a third target", not "the left third"
                one = tok == "one" and nxt not in ("third", "quarter", "half", "fifth", "fourth") and (_noun_kind(tokens, j) == "T" or any(
                    _noun_kind(tokens, k) == "T" for k in range(j + 1, min(hi, j + 4))))  # "one small target"
                if ordinal or tok in _MENTION_ORDINALS or one or (
                    tok in ("target", "object") and j + 1 < hi and tokens[j + 1].isdigit()
                ):
                    markers.append(j)
                    ones += tok == "one"
                    if tok in ("another", "other") or (ordinal and tok not in ("first", "last")) or tok in ("target", "object"):
                        distinct = True
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
    parsed.distinct = (distinct or (count or 0) >= 2 or ones >= 2) and len(parsed.mentions) > 1
    return parsed


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


def claim_cells(claim: Claim, strictness: str = "broad") -> np.ndarray:
    """3×3 bool array of the grid cells (rows upper/center/lower × cols left/center/right) a claim overlaps."""
    cells = np.zeros((3, 3), dtype=bool)
    r0, r1, c0, c1 = claim.bounds(0.0, strictness)
    edges = np.array([0.0, 1 / 3, 2 / 3, 1.0])
    rows = (edges[:-1] < r1) & (edges[1:] > r0)
    cols = (edges[:-1] < c1) & (edges[1:] > c0)
    cells[np.ix_(rows, cols)] = True
    return cells
