"""Word tables of the prose reader: position words, nouns that own them, clause words, rewrites.

Data only (plus `canonical`): `langir.text.claims` and its helpers read these tables.
"""

from __future__ import annotations

import re

from langir.data.positions import SYNONYMS, TABLE1_WORDS

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
    "ones", "pixel", "pixels", "cluster", "anomaly", "anomalies", "emitter", "emitters", "patch",
    "vehicle", "vehicles", "car", "cars", "truck"
])
# light around the target: its own place only when no target was named before ("a faint glow in the upper
# left"); after one it is the target's glow, whose direction is no claim ("with a glow trailing off to the left")
GLOW_NOUNS = frozenset({"glow", "flare", "halo", "bloom", "corona", "shadow", "tail"})
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


def canonical(word: str) -> str | None:
    """Canonical position word ('upper', 'lower', 'left', 'right', 'center') of a lower-case word, or None."""
    word = SYNONYMS.get(word, _EXTRA.get(word, word))
    return word if word in TABLE1_WORDS else None
