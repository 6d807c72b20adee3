"""One answer being written: which targets it speaks of, right or wrong positions, and the truth it states."""

from __future__ import annotations

import math
import random

from tests.curate.answers_b_geometry import (
    FAR,
    SCALES,
    Frame,
    cell,
    far_cells,
    from_scale,
    min_dist,
    to_scale,
    wordable,
)


class Reject(Exception):
    """This frame cannot carry this answer; the generator tries the next frame."""


# (row, col) → locative phrases (with their preposition) and bare tags
LOC = {
    (0, 0): ["in the upper-left corner", "in the top left", "up in the top-left corner of the frame", "near the upper left"],
    (0, 1): ["at the top centre", "in the upper middle of the frame", "near the top, horizontally centred", "in the top-center region"],
    (0, 2): ["in the upper-right corner", "in the top right", "up toward the top-right corner", "near the upper right"],
    (1, 0): ["on the middle left", "at the left edge, about halfway down", "on the left side, vertically centred", "in the middle-left region"],
    (1, 1): ["in the centre of the image", "near the middle of the frame", "roughly dead centre", "in the central region"],
    (1, 2): ["on the middle right", "at the right side, about halfway down", "on the right, vertically centred", "in the middle-right region"],
    (2, 0): ["in the lower-left corner", "in the bottom left", "down in the bottom-left part of the frame", "near the lower left"],
    (2, 1): ["at the bottom centre", "in the lower middle of the frame", "near the bottom, horizontally centred", "in the bottom-center region"],
    (2, 2): ["in the lower-right corner", "in the bottom right", "down toward the bottom-right corner", "near the lower right"],
}
TAG = {
    (0, 0): ["upper-left", "top-left", "upper left"], (0, 1): ["top-center", "upper middle", "top centre"],
    (0, 2): ["upper-right", "top-right", "upper right"], (1, 0): ["middle-left", "center-left", "left, mid-height"],
    (1, 1): ["center", "centre", "middle of the frame"], (1, 2): ["middle-right", "center-right", "right, mid-height"],
    (2, 0): ["lower-left", "bottom-left", "lower left"], (2, 1): ["bottom-center", "lower middle", "bottom centre"],
    (2, 2): ["lower-right", "bottom-right", "lower right"],
}
COUNT = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}
ORDINAL = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh"]


class Ctx:
    """Builds one answer's numbers and words for `frame` as `kind` says, and records what was stated."""

    def __init__(self, rng: random.Random, frame: Frame, kind: str, words: str, sent: tuple[int, int] | None) -> None:
        self.rng, self.frame, self.kind, self.sent = rng, frame, kind, sent
        self.n = len(frame.targets)
        self.claims: list[dict] = []
        self.regions: list[dict] = []
        self.count: int | None = None
        eligible = all(wordable(frame, t) for t in frame.targets)
        self.num_ok = self.words_ok = kind == "correct"
        if kind == "disagree":
            self.num_ok = rng.random() < 0.5
            self.words_ok = not self.num_ok
        want_words = words == "always" or kind == "disagree" or (words == "optional" and rng.random() < 0.6)
        self.words_on = want_words and eligible and words != "never"
        if (words == "always" or kind == "disagree") and not self.words_on:
            raise Reject("targets too close to a third line for words")
        self.far = far_cells(frame)
        if self.words_on and not self.words_ok and not self.far:
            raise Reject("no cell two steps from every target")
        self._wrong: dict[int, tuple[float, float, tuple[int, int]]] = {}

    # --- positions -------------------------------------------------------------------------------------
    def wrong_xy(self, i: int) -> tuple[float, float, tuple[int, int]]:
        """A point (and its cell) far from every target; inside a far cell when the words are wrong too."""
        if i in self._wrong:
            return self._wrong[i]
        f = self.frame
        cells = self.far if self.far else [None]
        for _ in range(400):
            cl = self.rng.choice(cells)
            if cl is None:
                x, y = self.rng.uniform(0.06, 0.94) * f.w, self.rng.uniform(0.06, 0.94) * f.h
            else:
                x = (cl[1] + self.rng.uniform(0.2, 0.8)) / 3 * f.w
                y = (cl[0] + self.rng.uniform(0.2, 0.8)) / 3 * f.h
            others = [v[:2] for v in self._wrong.values()]
            if min_dist(f, (x, y, x, y)) >= FAR + 0.03 and all(math.hypot((x - a) / f.w, (y - b) / f.h) > 0.12 for a, b in others):
                self._wrong[i] = (x, y, cell(f, x, y))
                return self._wrong[i]
        raise Reject("no far point")

    def _fmt(self, v: float, scale: str, dec: int | None) -> str:
        if dec is None:
            dec = {"frac": 3, "pct": 1}.get(scale, 0)
        return f"{v:.{dec}f}" if dec else str(int(round(v)))

    def _hit(self, x: float, y: float, i: int) -> bool:
        t = self.frame.targets[i]
        return t.x0 - 0.5 <= x <= t.x1 + 0.5 and t.y0 - 0.5 <= y <= t.y1 + 0.5

    def pt(self, i: int, scale: str, dec: int | None = None, ok: bool | None = None) -> tuple[str, str]:
        """Target i's point as written on `scale` (y first for a *yx scale), right or wrong as planned."""
        ok = self.num_ok if ok is None else ok
        t = self.frame.targets[i]
        x, y = (t.cx, t.cy) if ok else self.wrong_xy(i)[:2]
        for d in [dec] if dec is not None else ([None, 1, 2] if scale == "px" else [None]):
            vx, vy = to_scale(x, y, scale, self.frame, self.sent)
            sx, sy = self._fmt(vx, scale, d), self._fmt(vy, scale, d)
            bx, by = from_scale(float(sx), float(sy), scale, self.frame, self.sent)
            sh = 0.5 if SCALES[scale] is not None else -0.5  # the other pixel-centre convention
            shifted = (bx + sh, by + sh)
            if not ok or (self._hit(bx, by, i) and self._hit(*shifted, i)):
                break
        else:
            raise Reject("point does not survive rounding")
        if not ok and min_dist(self.frame, (bx, by, bx, by)) < FAR:
            raise Reject("wrong point drifted")
        vals = [sy, sx] if scale.endswith("yx") else [sx, sy]
        self.claims.append({"shape": "point", "scale": scale, "values": [float(v) for v in vals]})
        return (vals[0], vals[1])

    def box(self, i: int, scale: str, shape: str = "box", dec: int | None = None, ok: bool | None = None) -> list[str]:
        """Target i's box as written: "box" x0,y0,x1,y1 (y0,x0,y1,x1 on a *yx scale), "xywh" or "cwh"."""
        ok = self.num_ok if ok is None else ok
        f, rng = self.frame, self.rng
        if ok:
            t = f.targets[i]
            p = rng.choice([1, 1, 2, 3])
            x0, y0, x1, y1 = max(0, t.x0 - p), max(0, t.y0 - p), min(f.w - 1, t.x1 + p), min(f.h - 1, t.y1 + p)
        else:
            x, y, _ = self.wrong_xy(i)
            hw, hh = rng.uniform(2, 5), rng.uniform(2, 5)
            x0, y0, x1, y1 = x - hw, y - hh, x + hw, y + hh
        a0, b0 = to_scale(x0, y0, scale, f, self.sent)
        a1, b1 = to_scale(x1, y1, scale, f, self.sent)
        if SCALES[scale] is not None:  # the box's outer edges, not pixel centres
            a0, b0 = to_scale(x0 - 0.5, y0 - 0.5, scale, f, self.sent)
            a1, b1 = to_scale(x1 + 0.5, y1 + 0.5, scale, f, self.sent)
        d = dec if dec is not None else {"frac": 2, "pct": 1}.get(scale, 0)
        q = 10**d
        a0, b0 = math.floor(a0 * q) / q, math.floor(b0 * q) / q
        a1, b1 = math.ceil(a1 * q) / q, math.ceil(b1 * q) / q
        if shape == "cwh":  # even sizes keep the written centre exact
            a1 += (round((a1 - a0) * q) % 2) / q
            b1 += (round((b1 - b0) * q) % 2) / q
        if shape == "box":
            nums = [b0, a0, b1, a1] if scale.endswith("yx") else [a0, b0, a1, b1]
        elif shape == "xywh":
            nums = [a0, b0, a1 - a0, b1 - b0]
        else:
            nums = [(a0 + a1) / 2, (b0 + b1) / 2, a1 - a0, b1 - b0]
        strs = [self._fmt(v, scale, d) for v in nums]
        self.claims.append({"shape": shape, "scale": scale, "values": [float(s) for s in strs]})
        return strs

    # --- words -----------------------------------------------------------------------------------------
    def _cell(self, i: int, ok: bool | None) -> tuple[int, int]:
        ok = self.words_ok if ok is None else ok
        if not self.words_on and ok is self.words_ok:
            raise Reject("words not planned")
        t = self.frame.targets[i]
        return cell(self.frame, t.cx, t.cy) if ok else self.wrong_xy(i)[2]

    def loc(self, i: int, ok: bool | None = None) -> str:
        c = self._cell(i, ok)
        self.regions.append({"rows": [c[0]], "cols": [c[1]]})
        return self.rng.choice(LOC[c])

    def tag(self, i: int, ok: bool | None = None) -> str:
        c = self._cell(i, ok)
        self.regions.append({"rows": [c[0]], "cols": [c[1]]})
        return self.rng.choice(TAG[c])

    def side(self, i: int, ok: bool | None = None) -> str:
        """A column-only phrase ("on the right side"); centre columns fall back to a cell phrase."""
        c = self._cell(i, ok)
        if c[1] == 1:
            return self.loc(i, ok)
        self.regions.append({"rows": [0, 1, 2], "cols": [c[1]]})
        word = "left" if c[1] == 0 else "right"
        return self.rng.choice([f"on the {word} side", f"toward the {word} edge", f"over on the {word}", f"in the {word} third of the frame"])

    def state_count(self, n: int | None = None) -> str:
        self.count = self.n if n is None else n
        return COUNT.get(self.count, str(self.count))

    def truth(self) -> dict:
        return {"frame": self.frame.name, "claims": self.claims, "regions": self.regions, "count": self.count}
