#!/usr/bin/env python3
"""Build the bundled sample course used by lecturefind's examples and tests.

Output (default ``examples/sample-course/``)::

    lecture01_eigenvalues.mp4                 8 slides, ~2 min, starts at t=0
    lecture02_bus_arbitration.mp4             2 s black lead-in, then 8 slides
    handout_eigenvalues_and_arbitration.pdf   9 slide pages (5 shared with the
                                              videos, 4 extra; 5 with a text
                                              layer, 4 image-only)
    ground_truth.json                         slide timings, texts, questions
    slides/*.png                              renders of the two diagram slides
    README.md                                 licence (CC0) + file list

Everything is generated from scratch from the text in this file (original
work, CC0):

* slides are drawn with Pillow (DejaVu fonts from Debian's fonts-dejavu-core),
  rendered at 2x and downsampled to 1280x720;
* narration is synthesised with the Debian ``espeak-ng`` binary
  (``-v en-us -s 160``); every slide stays on screen for
  ``PRE_S`` silence + its narration + at least ``POST_S`` silence, rounded up
  to a whole video frame (10 fps), so ``start_s``/``end_s`` in
  ground_truth.json are exact and frame-aligned;
* videos are muxed with ffmpeg (the static binary from ``imageio-ffmpeg`` if
  installed, otherwise ``ffmpeg`` on PATH): H.264 yuv420p, CRF 30, 10 fps,
  key frames forced at every slide change, AAC mono 48 kb/s;
* the PDF is written by hand (no PDF library needed): every page is the slide
  PNG embedded losslessly (Flate + PNG predictors, so shared pages are
  pixel-identical to the video renders), and text-layer pages additionally get
  invisible text (render mode 3, Helvetica, with a ToUnicode CMap so that
  λ, −, ≠, ⇒, ² ... extract correctly) positioned over each visible string.

Usage::

    python scripts/build_sample_course.py [--out DIR] [--force]

Without ``--force`` the script does nothing if all outputs already exist.
Requirements: Pillow, numpy, espeak-ng, ffmpeg (imageio-ffmpeg optional),
DejaVu fonts.  Intermediates go to a temporary directory.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

# --------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------
W, H = 1280, 720          # output resolution
SS = 2                    # supersampling factor for drawing
FPS = 10
SAMPLE_RATE = 22050       # espeak-ng native rate
PRE_S = 0.3               # silence before narration on each slide
POST_S = 0.6              # minimum silence after narration on each slide
LEAD_IN_S = {"lecture02_bus_arbitration.mp4": 2.0}
VOICE = ["-v", "en-us", "-s", "160"]

BG = (248, 246, 240)
INK = (34, 34, 44)
TITLE = (20, 50, 110)
ACCENT = (230, 120, 30)
MUTED = (120, 120, 130)
BLUE = (40, 100, 200)
RED = (200, 50, 50)
GREEN = (40, 150, 80)

COURSE = "Engineering Foundations"
PDF_NAME = "handout_eigenvalues_and_arbitration.pdf"

# --------------------------------------------------------------------------
# content
# --------------------------------------------------------------------------
# Each slide: kind, title, body (text slides; lines starting with "• " get a
# drawn bullet), draw (diagram/plot function name), say (narration that
# reads/paraphrases the slide), only (extra sentences that are spoken but
# appear on no slide).

LECTURES = [
    {
        "file": "lecture01_eigenvalues.mp4",
        "footer": f"{COURSE} · Lecture 1",
        "slides": [
            dict(kind="text", title="Eigenvalues and Eigenvectors",
                 body=["Lecture 1 of " + COURSE, "",
                       "• What a matrix does to a vector",
                       "• The characteristic polynomial",
                       "• Deriving det(A − λI) = 0",
                       "• A worked 2 × 2 example"],
                 say="Welcome to the first lecture on eigenvalues. We will see what a matrix does "
                     "to a vector, meet the characteristic polynomial, derive the determinant "
                     "condition, and work through an example.",
                 only=["The word eigen is German for own, and David Hilbert brought it into "
                       "mathematics in 1904."]),
            dict(kind="text", title="A matrix is a linear map",
                 body=["• A matrix A sends a vector x to Ax",
                       "• Most vectors are rotated and stretched",
                       "• Some special vectors are only scaled",
                       "• Those directions are the eigenvectors"],
                 say="A matrix takes a vector x and returns A times x. Most vectors come out "
                     "pointing somewhere new. A few special vectors are only scaled: those are the"
                     " eigenvectors.",
                 only=[]),
            dict(kind="diagram", title="Geometric picture", draw="draw_vectors",
                 say="In this picture, v lies on a special line: A sends it to five times v, along"
                     " the same line. The vector w is turned off its line.",
                 only=["Leonhard Euler met this idea in the seventeen fifties, while studying the "
                       "axes about which a rigid body can spin."]),
            dict(kind="text", title="Deriving the eigenvalue condition",
                 body=["Av = λv   with   v ≠ 0",
                       "Av − λv = 0",
                       "(A − λI) v = 0",
                       "A nonzero solution exists ⇒ A − λI is singular",
                       "⇒  det(A − λI) = 0"],
                 say="Start from A v equals lambda v, with v not zero. Insert the identity matrix "
                     "to get A minus lambda I, times v, equals zero. A nonzero v exists only if A "
                     "minus lambda I is singular, so its determinant is zero.",
                 only=[]),
            dict(kind="text", title="The characteristic polynomial",
                 body=["• p(λ) = det(A − λI)",
                       "• For an n × n matrix p has degree n",
                       "• Eigenvalues are the roots of p(λ)",
                       "• At most n distinct eigenvalues",
                       "• 2 × 2 case: p(λ) = λ² − (tr A) λ + det A"],
                 say="Expanding this determinant gives the characteristic polynomial. For an n by "
                     "n matrix it has degree n, so there are at most n eigenvalues. For two by two"
                     " matrices, p is lambda squared, minus the trace times lambda, plus the "
                     "determinant.",
                 only=["Niels Henrik Abel proved in 1824 that equations of degree five have no "
                       "general root formula, so large matrices need numerical methods."]),
            dict(kind="plot", title="Plot of p(λ) = λ² − 7λ + 10", draw="draw_charpoly",
                 say="Here is the characteristic polynomial of our example, plotted against "
                     "lambda. The curve crosses zero at lambda equals two and at lambda equals "
                     "five: those are the eigenvalues.",
                 only=["The lowest point of this parabola sits at lambda equals three point five, "
                       "halfway between the roots."]),
            dict(kind="text", title="Worked example",
                 body=["A has rows (4, 1) and (2, 3)",
                       "det(A − λI) = (4 − λ)(3 − λ) − 2",
                       "= λ² − 7λ + 10 = (λ − 2)(λ − 5)",
                       "λ = 5:  eigenvector (1, 1)",
                       "λ = 2:  eigenvector (1, −2)"],
                 say="In the worked example, A has rows four one and two three. The determinant of"
                     " A minus lambda I works out to lambda squared minus seven lambda plus ten, "
                     "which factors into the eigenvalues two and five. Their eigenvectors are one "
                     "one, and one minus two.",
                 only=[]),
            dict(kind="text", title="Why eigenvalues matter",
                 body=["• Stability of dynamical systems",
                       "• Vibration modes of structures",
                       "• Principal component analysis",
                       "• Ranking web pages"],
                 say="Eigenvalues show up everywhere: the stability of dynamical systems, the "
                     "vibration modes of buildings, principal component analysis, and even the "
                     "ranking of web pages.",
                 only=["Google's PageRank, described by Sergey Brin and Larry Page in 1998, is "
                       "essentially the dominant eigenvector of a giant link matrix."]),
        ],
    },
    {
        "file": "lecture02_bus_arbitration.mp4",
        "footer": f"{COURSE} · Lecture 2",
        "slides": [
            dict(kind="text", title="Bus Arbitration",
                 body=["Lecture 2 of " + COURSE, "",
                       "• Why a shared bus needs rules",
                       "• The arbiter: request and grant",
                       "• Fixed priority versus round-robin",
                       "• Starvation and fairness"],
                 say="Welcome to lecture two, on bus arbitration. We will see why a shared bus "
                     "needs rules, meet the arbiter, compare fixed priority with round-robin, and "
                     "discuss starvation.",
                 only=["A famous early shared bus is the Unibus of the PDP-11 minicomputer, "
                       "introduced by Digital Equipment Corporation in 1970."]),
            dict(kind="text", title="The shared bus",
                 body=["• Several masters: CPU, DMA engine, network card",
                       "• One set of address and data wires",
                       "• Only one master may drive the bus at a time",
                       "• Two drivers at once → bus contention"],
                 say="A shared bus connects several masters, such as the processor, a DMA engine "
                     "and a network card, to the same wires. Only one master may drive them at a "
                     "time; two at once means contention and corrupted data.",
                 only=[]),
            dict(kind="diagram", title="Block diagram", draw="draw_bus",
                 say="In this block diagram, three masters hang off one shared bus, together "
                     "with the memory. Each master has its own request line into the arbiter, "
                     "and gets its own grant line back.",
                 only=["On our lab board the arbiter lives in a small FPGA clocked at fifty "
                       "megahertz."]),
            dict(kind="text", title="Request and grant handshake",
                 body=["1. A master raises its REQ line",
                       "2. The arbiter picks one winner and raises its GNT",
                       "3. The winner drives the bus, then drops REQ",
                       "4. The arbiter drops GNT; the next round begins"],
                 say="The protocol is a handshake. A master raises its request line. The arbiter "
                     "picks one winner and raises its grant. The winner uses the bus and drops its"
                     " request, then the arbiter drops the grant and the next round begins.",
                 only=[]),
            dict(kind="text", title="Fixed priority",
                 body=["• Every master has a fixed rank",
                       "• The highest-ranked requester always wins",
                       "• Hardware: a simple priority encoder",
                       "• Danger: low-ranked masters can starve"],
                 say="With fixed priority, every master has a permanent rank, and the highest "
                     "ranked requester always wins. The hardware is just a priority encoder. The "
                     "danger is starvation: a low ranked master may wait forever.",
                 only=["A classic variant is the daisy chain, where the grant ripples from device to"
                       " device in the order in which they are wired."]),
            dict(kind="plot", title="Measured share of bus grants", draw="draw_bars",
                 say="This chart compares both schemes under heavy load. With fixed priority, "
                     "master zero takes most of the bus, and master three almost nothing. With "
                     "round-robin, each master gets about a quarter.",
                 only=["These numbers come from a simulation of twenty thousand clock cycles, with "
                       "every master requesting the bus about sixty percent of the time."]),
            dict(kind="text", title="Round-robin arbitration",
                 body=["• Priority rotates after every grant",
                       "• The last winner moves to the back of the queue",
                       "• Each requester is served within N rounds",
                       "• Costs a little more logic: a pointer register"],
                 say="Round-robin rotates the priority after every grant. The last winner moves to"
                     " the back of the queue, so with N masters, everyone is served within N "
                     "rounds. The price is a pointer register that remembers the last winner.",
                 only=[]),
            dict(kind="text", title="Summary",
                 body=["• Starvation: a requester waits forever",
                       "• Fixed priority: simple but unfair",
                       "• Round-robin: fair, bounded waiting time",
                       "• Hybrids: priority classes, round-robin inside"],
                 say="To sum up: starvation means that a requester waits forever. Fixed priority "
                     "is simple but unfair. Round-robin is fair and bounds the waiting time. Real "
                     "systems often mix both.",
                 only=[]),
        ],
    },
]

HANDOUT_FOOTER = f"{COURSE} · Handout"
# Handout pages: ("video", lecture index, slide index, text_layer) or
# ("extra", slide spec, text_layer)
HANDOUT = [
    ("extra", dict(kind="text", title="Course Handout",
                   body=[COURSE, "",
                         "• Lecture 1: Eigenvalues and eigenvectors",
                         "• Lecture 2: Bus arbitration",
                         "• Selected slides plus extra material",
                         "• Exercises for the tutorial sessions"]), True),
    ("video", 0, 3, True),
    ("video", 0, 2, False),
    ("video", 0, 5, True),
    ("extra", dict(kind="text", title="Extra: diagonalization",
                   body=["• n independent eigenvectors ⇒ A = P D P⁻¹",
                         "• The columns of P are the eigenvectors",
                         "• D is diagonal, holding the eigenvalues",
                         "• Matrix powers become cheap: only D is raised",
                         "• Not every matrix is diagonalizable"]), False),
    ("extra", dict(kind="text", title="Extra: triangular matrices",
                   body=["• Eigenvalues of a triangular matrix are",
                         "   simply its diagonal entries",
                         "• Example: rows (2, 7, 1), (0, 3, 4), (0, 0, 6)",
                         "   has eigenvalues 2, 3 and 6",
                         "• Reason: det(A − λI) multiplies the (diagonal − λ) terms"]), True),
    ("video", 1, 2, False),
    ("video", 1, 6, True),
    ("extra", dict(kind="text", title="Exercise: a 4-master arbiter",
                   body=["• Inputs: REQ[3:0], clock and reset",
                         "• Outputs: GNT[3:0], one-hot or all zero",
                         "• Keep a 2-bit pointer to the last winner",
                         "• Prove that no master waits more than 3 grants",
                         "• Bonus: add a high-priority class for the CPU"]), False),
]

QUESTIONS = [
    # visible: paraphrase what is written on a slide
    ("visible", "why must the determinant of A minus lambda times the identity vanish for an eigenvector", 0, 3),
    ("visible", "which eigenvector goes with eigenvalue 2 in the worked two by two example", 0, 6),
    ("visible", "fixed rank arbitration implemented with a priority encoder", 1, 4),
    ("visible", "what goes wrong when two masters drive the shared wires simultaneously", 1, 1),
    # spoken: facts that are only said, never shown
    ("spoken", "who introduced the word eigen into mathematics and in which year", 0, 0),
    ("spoken", "who proved in 1824 that degree five polynomials have no general root formula", 0, 4),
    ("spoken", "where is the minimum of the parabola of the characteristic polynomial", 0, 5),
    ("spoken", "what clock frequency does the FPGA arbiter on the lab board use", 1, 2),
    ("spoken", "how many clock cycles did the arbitration simulation run for", 1, 5),
    ("spoken", "which 1970 minicomputer used the Unibus", 1, 0),
    # pdf: content of handout pages (1-based page numbers)
    ("pdf", "writing A as P D P inverse using a basis of eigenvectors", None, 5),
    ("pdf", "eigenvalues of an upper triangular matrix are on its diagonal", None, 6),
    ("pdf", "tutorial exercise: four-input round-robin arbiter with a two-bit pointer", None, 9),
]


# --------------------------------------------------------------------------
# fonts
# --------------------------------------------------------------------------
def find_font(bold: bool) -> str:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    pattern = "DejaVu Sans:style=Bold" if bold else "DejaVu Sans:style=Book"
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True,
                             text=True, timeout=20).stdout.strip()
        if out and os.path.basename(out) == name and os.path.isfile(out):
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    roots = ["/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts"),
             os.path.expanduser("~/.local/share/fonts"), "/Library/Fonts",
             "C:/Windows/Fonts"]
    try:  # matplotlib bundles DejaVu
        import matplotlib  # type: ignore
        roots.append(os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data"))
    except Exception:
        pass
    for root in roots:
        hits = sorted(glob.glob(os.path.join(root, "**", name), recursive=True))
        if hits:
            return hits[0]
    sys.exit(f"font {name} not found; install Debian package fonts-dejavu-core")


# no "fi"/"fl" ligatures, so rendered text matches the text layer character by character
NOLIGA = {"features": ["-liga", "-clig"]} if features.check("raqm") else {}
_FONT_FILES: dict[bool, str] = {}
_FONTS: dict[tuple[int, bool], ImageFont.FreeTypeFont] = {}


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    key = (size, bold)
    if key not in _FONTS:
        if bold not in _FONT_FILES:
            _FONT_FILES[bold] = find_font(bold)
        _FONTS[key] = ImageFont.truetype(_FONT_FILES[bold], size)
    return _FONTS[key]


# --------------------------------------------------------------------------
# slide canvas (draws at SS x, records every string for the PDF text layer)
# --------------------------------------------------------------------------
@dataclass
class TextItem:
    text: str
    x: float          # left edge, output px
    baseline: float   # baseline y, output px
    width: float      # advance width, output px
    size: float       # em size, output px


@dataclass
class Canvas:
    img: Image.Image = field(default_factory=lambda: Image.new("RGB", (W * SS, H * SS), BG))
    items: list = field(default_factory=list)

    def __post_init__(self):
        self.d = ImageDraw.Draw(self.img)

    def text(self, x, y, s, size, bold=False, fill=INK, align="l"):
        """Draw string s with its baseline at y; x is the left/middle/right edge."""
        f = font(size * SS, bold)
        self.d.text((x * SS, y * SS), s, font=f, fill=fill, anchor=align + "s", **NOLIGA)
        wpx = f.getlength(s, **NOLIGA) / SS
        left = {"l": x, "m": x - wpx / 2, "r": x - wpx}[align]
        self.items.append(TextItem(s, left, y, wpx, size))
        return wpx

    def line(self, pts, fill=INK, width=3):
        self.d.line([(x * SS, y * SS) for x, y in pts], fill=fill, width=int(width * SS),
                    joint="curve")

    def dashed(self, p0, p1, fill=MUTED, width=2, dash=12, gap=9):
        (x0, y0), (x1, y1) = p0, p1
        n = math.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / n, (y1 - y0) / n
        t = 0.0
        while t < n:
            t2 = min(n, t + dash)
            self.line([(x0 + ux * t, y0 + uy * t), (x0 + ux * t2, y0 + uy * t2)], fill, width)
            t = t2 + gap

    def arrow(self, p0, p1, fill=INK, width=4, head=18):
        (x0, y0), (x1, y1) = p0, p1
        ang = math.atan2(y1 - y0, x1 - x0)
        bx, by = x1 - head * math.cos(ang), y1 - head * math.sin(ang)
        self.line([(x0, y0), (bx, by)], fill, width)
        left = (bx + head * 0.5 * math.sin(ang), by - head * 0.5 * math.cos(ang))
        right = (bx - head * 0.5 * math.sin(ang), by + head * 0.5 * math.cos(ang))
        self.polygon([(x1, y1), left, right], fill)

    def polygon(self, pts, fill, outline=None):
        self.d.polygon([(x * SS, y * SS) for x, y in pts], fill=fill, outline=outline)

    def rect(self, box, fill=None, outline=INK, width=3, radius=0):
        x0, y0, x1, y1 = box
        self.d.rounded_rectangle((x0 * SS, y0 * SS, x1 * SS, y1 * SS), radius=radius * SS,
                                 fill=fill, outline=outline, width=int(width * SS))

    def circle(self, c, r, fill=None, outline=INK, width=3):
        x, y = c
        self.d.ellipse(((x - r) * SS, (y - r) * SS, (x + r) * SS, (y + r) * SS), fill=fill,
                       outline=outline, width=int(width * SS))

    def paste_array(self, arr, box):
        """Paste an RGB uint8 array (output px size) at box (x0, y0)."""
        im = Image.fromarray(arr, "RGB").resize((arr.shape[1] * SS, arr.shape[0] * SS),
                                                Image.NEAREST)
        self.img.paste(im, (int(box[0] * SS), int(box[1] * SS)))

    def final(self) -> Image.Image:
        return self.img.resize((W, H), Image.LANCZOS)


def frame(c: Canvas, title: str, footer: str, page: str):
    c.rect((0, 0, W, 14), fill=TITLE, outline=None, width=0)
    c.text(70, 100, title, 52, bold=True, fill=TITLE)
    c.rect((70, 122, 250, 130), fill=ACCENT, outline=None, width=0)
    c.line([(40, 672), (W - 40, 672)], fill=(210, 206, 196), width=2)
    c.text(70, 702, footer, 20, fill=MUTED)
    c.text(W - 70, 702, page, 20, fill=MUTED, align="r")


def draw_text_body(c: Canvas, body):
    y, size = 215, 38
    for line in body:
        if not line:
            y += 30
            continue
        if line.startswith("• "):
            s = line[2:]
            c.circle((92, y - 13), 7, fill=ACCENT, outline=None, width=0)
            sz = size
            while font(sz).getlength(s, **NOLIGA) > W - 120 - 130 and sz > 24:
                sz -= 1
            c.text(120, y, s, sz)
        elif line.startswith("   "):
            s = line.strip()
            y -= 8
            c.text(120, y, s, size)
        else:
            sz = size
            while font(sz).getlength(line, **NOLIGA) > W - 160 and sz > 24:
                sz -= 1
            c.text(80, y, line, sz, fill=INK if "=" in line or line[0].isdigit() else BLUE)
        y += 72


# --- diagram / plot slides -------------------------------------------------
def draw_vectors(c: Canvas):
    ox, oy, u = 190, 600, 84          # origin and px per unit
    P = lambda x, y: (ox + x * u, oy - y * u)  # noqa: E731
    # grid
    for i in range(0, 8):
        c.line([P(i, 0), P(i, 5.3)], fill=(225, 222, 214), width=1)
    for j in range(0, 6):
        c.line([P(0, j), P(7.3, j)], fill=(225, 222, 214), width=1)
    c.arrow(P(-0.3, 0), P(7.6, 0), fill=MUTED, width=2, head=14)
    c.arrow(P(0, -0.3), P(0, 5.5), fill=MUTED, width=2, head=14)
    # eigen-direction (dashed) through v = (1, 1)
    c.dashed(P(0, 0), P(5.3, 5.3), fill=RED, width=2)
    c.arrow(P(0, 0), P(5, 5), fill=(240, 170, 170), width=10, head=30)   # Av = 5v
    c.arrow(P(0, 0), P(1, 1), fill=RED, width=6, head=22)                # v
    c.text(P(1, 1)[0] + 14, P(1, 1)[1] + 10, "v", 34, bold=True, fill=RED)
    c.text(P(5, 5)[0] + 20, P(5, 5)[1] + 12, "Av = 5v", 34, bold=True, fill=RED)
    # w = (1, 0) -> Aw = (4, 2)
    c.arrow(P(0, 0), P(4, 2), fill=(160, 190, 240), width=10, head=30)   # Aw
    c.arrow(P(0, 0), P(1.6, 0), fill=BLUE, width=6, head=22)             # w (drawn longer)
    c.text(P(1.6, 0)[0] - 10, P(1.6, 0)[1] + 38, "w", 34, bold=True, fill=BLUE)
    c.text(P(4, 2)[0] + 20, P(4, 2)[1] + 12, "Aw", 34, bold=True, fill=BLUE)
    # swept angle between w and Aw
    r = 150
    c.d.arc(((ox - r) * SS, (oy - r) * SS, (ox + r) * SS, (oy + r) * SS),
            start=-math.degrees(math.atan2(2, 4)), end=0, fill=BLUE, width=3 * SS)
    # unit circle -> ellipse inset on the right
    cx, cy = 1050, 390
    c.rect((cx - 150, cy - 150, cx + 150, cy + 150), fill=(255, 255, 255), outline=(210, 206, 196),
           width=2, radius=16)
    c.circle((cx, cy), 70, outline=MUTED, width=3)
    a = np.array([[4, 1], [2, 3]], float)
    pts = []
    for k in range(73):
        t = 2 * math.pi * k / 72
        x, y = a @ np.array([math.cos(t), math.sin(t)])
        pts.append((cx + x * 27, cy - y * 27))
    c.line(pts, fill=ACCENT, width=4)


def draw_charpoly(c: Canvas):
    x0, y0, x1, y1 = 150, 170, 1190, 640   # plot area
    lam_min, lam_max, p_min, p_max = 0.0, 7.0, -3.0, 11.0
    X = lambda lam: x0 + (lam - lam_min) / (lam_max - lam_min) * (x1 - x0)  # noqa: E731
    Y = lambda p: y1 - (p - p_min) / (p_max - p_min) * (y1 - y0)        # noqa: E731
    # "raster" background: smooth colour field depending on sign/size of p
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(float)
    lam = lam_min + (xs - x0) / (x1 - x0) * (lam_max - lam_min)
    pv = p_min + (y1 - ys) / (y1 - y0) * (p_max - p_min)
    curve = lam ** 2 - 7 * lam + 10
    below = pv < curve
    t = np.clip((ys - y0) / (y1 - y0), 0, 1)
    base = np.stack([235 + 15 * t, 242 + 8 * t, 252 - 6 * t], -1)
    shade = np.stack([255 - 30 * (1 - t), 236 - 40 * (1 - t), 205 - 50 * (1 - t)], -1)
    arr = np.where(below[..., None], shade, base)
    neg = (curve < 0) & (pv > curve) & (pv < 0)
    arr[neg] = [205, 232, 215]
    c.paste_array(arr.clip(0, 255).astype(np.uint8), (x0, y0))
    c.rect((x0, y0, x1, y1), outline=MUTED, width=2)
    # axes + ticks
    c.line([(x0, Y(0)), (x1, Y(0))], fill=INK, width=3)
    for k in range(0, 8):
        c.line([(X(k), Y(0) - 7), (X(k), Y(0) + 7)], fill=INK, width=3)
        c.text(X(k), Y(0) + 34, str(k), 24, fill=INK, align="m")
    for p in (-2, 2, 4, 6, 8, 10):
        c.line([(x0 - 8, Y(p)), (x0, Y(p))], fill=INK, width=2)
        c.text(x0 - 14, Y(p) + 9, str(p).replace("-", "−"), 24, fill=INK, align="r")
    c.text(x1 - 10, Y(0) - 16, "λ", 32, bold=True, fill=INK, align="r")
    c.text(x0 + 16, y0 + 40, "p(λ)", 32, bold=True, fill=INK)
    # curve
    pts = [(X(lam), Y(lam * lam - 7 * lam + 10)) for lam in np.linspace(lam_min, lam_max, 200)
           if p_min <= lam * lam - 7 * lam + 10 <= p_max]
    c.line(pts, fill=BLUE, width=5)
    for r in (2, 5):
        c.circle((X(r), Y(0)), 13, fill=RED, outline=(255, 255, 255), width=3)
    c.text(X(2) + 22, Y(0) - 26, "λ = 2", 30, bold=True, fill=RED)
    c.text(X(5) - 22, Y(0) - 26, "λ = 5", 30, bold=True, fill=RED, align="r")


def draw_bus(c: Canvas):
    bus_y = 470
    c.rect((90, bus_y - 16, 1190, bus_y + 16), fill=(70, 80, 100), outline=None, width=0,
           radius=8)
    c.text(100, bus_y + 56, "shared bus", 28, fill=MUTED)
    masters = [("CPU", 190), ("DMA", 450), ("NIC", 710)]
    for name, x in masters:
        c.rect((x - 95, 290, x + 95, 380), fill=(215, 230, 250), outline=BLUE, width=4,
               radius=12)
        c.text(x, 348, name, 34, bold=True, fill=TITLE, align="m")
        c.line([(x, 380), (x, bus_y - 16)], fill=(70, 80, 100), width=8)
    mx = 1010
    c.rect((mx - 110, 540, mx + 110, 630), fill=(220, 240, 225), outline=GREEN, width=4,
           radius=12)
    c.text(mx, 598, "Memory", 32, bold=True, fill=(20, 90, 45), align="m")
    c.line([(mx, bus_y + 16), (mx, 540)], fill=(70, 80, 100), width=8)
    ax0, ax1, ay0, ay1 = 330, 830, 160, 225
    c.rect((ax0, ay0, ax1, ay1), fill=(253, 230, 205), outline=ACCENT, width=4, radius=12)
    c.text((ax0 + ax1) / 2, 205, "Arbiter", 34, bold=True, fill=(150, 70, 10), align="m")
    for _name, x in masters:
        ax = (ax0 + ax1) / 2 + (x - 450) * 0.75
        c.arrow((x - 28, 290), (ax - 28, ay1), fill=RED, width=3, head=14)
        c.arrow((ax + 28, ay1), (x + 28, 290), fill=GREEN, width=3, head=14)
    c.text(190 - 40, 272, "REQ", 22, bold=True, fill=RED, align="r")
    c.text(190 + 42, 272, "GNT", 22, bold=True, fill=GREEN)


def draw_bars(c: Canvas):
    x0, y0, x1, y1 = 170, 210, 1000, 600
    fixed = [61, 27, 10, 2]
    rr = [26, 25, 25, 24]
    Y = lambda v: y1 - v / 70 * (y1 - y0)  # noqa: E731
    for v in range(0, 71, 10):
        c.line([(x0, Y(v)), (x1, Y(v))], fill=(222, 219, 210), width=1)
        c.text(x0 - 12, Y(v) + 8, str(v), 22, fill=INK, align="r")
    c.text(x0 - 60, y0 - 30, "% of grants", 24, fill=MUTED)
    gw = (x1 - x0) / 4
    for i in range(4):
        gx = x0 + gw * i
        for j, (vals, col) in enumerate(((fixed, BLUE), (rr, ACCENT))):
            bx0 = gx + 35 + j * 75
            bx1 = bx0 + 68
            top = Y(vals[i])
            hpx = int(round(y1 - top))
            if hpx > 0:  # vertical gradient bar
                t = np.linspace(0, 1, hpx)[:, None, None]
                colr = np.array(col, float)
                arr = (colr * (0.75 + 0.35 * t) + 0 * t).clip(0, 255)
                arr = np.repeat(arr, int(bx1 - bx0), axis=1).astype(np.uint8)
                c.paste_array(arr, (bx0, y1 - hpx))
            c.text((bx0 + bx1) / 2, top - 10, str(vals[i]), 22, bold=True, fill=INK,
                   align="m")
        c.text(gx + gw / 2, y1 + 36, f"M{i}", 28, bold=True, fill=INK, align="m")
    c.line([(x0, y1), (x1, y1)], fill=INK, width=3)
    c.line([(x0, y0), (x0, y1)], fill=INK, width=3)
    # legend
    c.rect((1030, 250, 1060, 280), fill=BLUE, outline=None, width=0)
    c.text(1070, 275, "fixed", 26, fill=INK)
    c.text(1070, 305, "priority", 26, fill=INK)
    c.rect((1030, 350, 1060, 380), fill=ACCENT, outline=None, width=0)
    c.text(1070, 375, "round-", 26, fill=INK)
    c.text(1070, 405, "robin", 26, fill=INK)


DRAWERS = {f.__name__: f for f in (draw_vectors, draw_charpoly, draw_bus, draw_bars)}


def render_slide(spec: dict, footer: str, page: str):
    c = Canvas()
    frame(c, spec["title"], footer, page)
    if spec["kind"] == "text":
        draw_text_body(c, spec["body"])
    else:
        DRAWERS[spec["draw"]](c)
    img = c.final()
    # reading order: title, then body/labels, footer last
    items = [c.items[0]] + c.items[3:] + c.items[1:3]
    return img, items


# --------------------------------------------------------------------------
# audio / video
# --------------------------------------------------------------------------
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg  # type: ignore
        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and os.path.isfile(exe):
            return exe
    except Exception:
        pass
    exe = shutil.which("ffmpeg")
    if not exe:
        sys.exit("ffmpeg not found (pip install imageio-ffmpeg or apt install ffmpeg)")
    return exe


def synth(text: str, wav: Path) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if not exe:
        sys.exit("espeak-ng not found (apt install espeak-ng)")
    txt = wav.with_suffix(".txt")
    txt.write_text(text, encoding="utf-8")
    subprocess.run([exe, *VOICE, "-w", str(wav), "-f", str(txt)], check=True)
    with wave.open(str(wav), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, "unexpected espeak format"
        assert w.getframerate() == SAMPLE_RATE, w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    # trim espeak's own leading/trailing silence so our gaps are what we say
    nz = np.flatnonzero(np.abs(data.astype(np.int32)) > 100)
    return data[nz[0]:nz[-1] + 1] if len(nz) else data


def write_wav(path: Path, data: np.ndarray):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(data.astype("<i2").tobytes())


def build_video(lec: dict, tmp: Path, out: Path, slide_imgs: list) -> list:
    spf = SAMPLE_RATE // FPS                       # samples per video frame (2205)
    audio, segs, meta = [], [], []
    t_frames = 0
    lead = LEAD_IN_S.get(lec["file"], 0.0)
    if lead:
        n = int(round(lead * FPS))
        black = tmp / f"{lec['file']}_black.png"
        Image.new("RGB", (W, H), (0, 0, 0)).save(black)
        segs.append((black, n))
        audio.append(np.zeros(n * spf, np.int16))
        t_frames += n
    for i, spec in enumerate(lec["slides"]):
        text = " ".join([spec["say"], *spec["only"]])
        speech = synth(text, tmp / f"{lec['file']}_{i}.wav")
        need = int(PRE_S * SAMPLE_RATE) + len(speech) + int(POST_S * SAMPLE_RATE)
        n = -(-need // spf)                      # frames, rounded up
        seg = np.zeros(n * spf, np.int16)
        s0 = int(PRE_S * SAMPLE_RATE)
        seg[s0:s0 + len(speech)] = speech
        audio.append(seg)
        png = tmp / f"{lec['file']}_{i}.png"
        slide_imgs[i][0].save(png)
        segs.append((png, n))
        meta.append(dict(start_frames=t_frames, end_frames=t_frames + n,
                         speech_start_s=round(t_frames / FPS + PRE_S, 3),
                         speech_end_s=round(t_frames / FPS + PRE_S + len(speech) / SAMPLE_RATE, 3),
                         text=text))
        t_frames += n
    wav = tmp / f"{lec['file']}.wav"
    write_wav(wav, np.concatenate(audio))
    cmd = [ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error"]
    for png, n in segs:
        cmd += ["-loop", "1", "-framerate", str(FPS), "-t", f"{(n - 0.5) / FPS:.3f}",
                "-i", str(png)]
    cmd += ["-i", str(wav)]
    k = len(segs)
    fc = "".join(f"[{i}:v]" for i in range(k)) + f"concat=n={k}:v=1:a=0,format=yuv420p[v]"
    keys = ",".join(f"{m['start_frames'] / FPS:.1f}" for m in meta)
    cmd += ["-filter_complex", fc, "-map", "[v]", "-map", f"{k}:a",
            "-c:v", "libx264", "-preset", "medium", "-crf", "30", "-tune", "stillimage",
            "-r", str(FPS), "-g", str(10 * FPS), "-force_key_frames", keys,
            "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "48k", "-ac", "1", "-ar", str(SAMPLE_RATE),
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
            "-flags:a", "+bitexact", "-movflags", "+faststart", str(out)]
    subprocess.run(cmd, check=True)
    return meta


# --------------------------------------------------------------------------
# PDF writer (images + invisible text layer)
# --------------------------------------------------------------------------
def png_idat(img: Image.Image, tmp: Path) -> bytes:
    p = tmp / "page.png"
    img.convert("RGB").save(p, optimize=True)
    b = p.read_bytes()
    pos, data = 8, b""
    while pos < len(b):
        ln, typ = struct.unpack(">I4s", b[pos:pos + 8])
        if typ == b"IDAT":
            data += b[pos + 8:pos + 8 + ln]
        pos += 12 + ln
    return data


def write_pdf(path: Path, pages: list, tmp: Path):
    """pages: list of (PIL image W x H, list[TextItem] or None)."""
    chars = sorted({ch for _, items in pages if items for it in items for ch in it.text})
    code = {chr(i): i for i in range(32, 127)}
    nxt = 128
    for ch in chars:
        if ch not in code:
            code[ch] = nxt
            nxt += 1
    assert nxt <= 256, "too many distinct characters for a simple font"
    scale = 72 / 96                                   # px -> pt  (1280 px = 960 pt)
    pw, ph = W * scale, H * scale
    objs: list[bytes] = []

    def add(b: bytes) -> int:
        objs.append(b)
        return len(objs)

    def stream(dict_body: str, data: bytes) -> bytes:
        return (f"<< {dict_body} /Length {len(data)} >>\nstream\n".encode() + data
                + b"\nendstream")

    catalog = add(b"")      # placeholders, filled below
    pages_id = add(b"")
    used = sorted((c, ch) for ch, c in code.items() if ch in chars or 32 <= c < 127)
    cmap = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
            "1 begincodespacerange", "<00> <FF>", "endcodespacerange"]
    for i in range(0, len(used), 100):
        chunk = used[i:i + 100]
        cmap.append(f"{len(chunk)} beginbfchar")
        cmap += [f"<{c:02X}> <{ord(ch):04X}>" for c, ch in chunk]
        cmap.append("endbfchar")
    cmap += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    tounicode = add(stream("", "\n".join(cmap).encode()))
    widths = " ".join(["500"] * (256 - 32))
    font_id = add(f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 32 "
                  f"/LastChar 255 /Widths [{widths}] /ToUnicode {tounicode} 0 R >>".encode())
    kids = []
    for img, items in pages:
        idat = png_idat(img, tmp)
        im_id = add(stream(f"/Type /XObject /Subtype /Image /Width {W} /Height {H} "
                           f"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode "
                           f"/DecodeParms << /Predictor 15 /Colors 3 /BitsPerComponent 8 "
                           f"/Columns {W} >>", idat))
        ops = [f"q {pw:.2f} 0 0 {ph:.2f} 0 0 cm /Im0 Do Q"]
        for it in items or []:
            fs = it.size * scale
            tz = 100.0 * (it.width * scale) / (len(it.text) * 0.5 * fs)
            hexs = "".join(f"{code[ch]:02X}" for ch in it.text)
            ops.append(f"BT 3 Tr /F1 {fs:.2f} Tf {tz:.2f} Tz 1 0 0 1 {it.x * scale:.2f} "
                       f"{ph - it.baseline * scale:.2f} Tm <{hexs}> Tj ET")
        content = zlib.compress("\n".join(ops).encode(), 9)
        c_id = add(stream("/Filter /FlateDecode", content))
        res = f"/XObject << /Im0 {im_id} 0 R >>"
        if items:
            res += f" /Font << /F1 {font_id} 0 R >>"
        kids.append(add(f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {pw:.0f} "
                        f"{ph:.0f}] /Resources << {res} >> /Contents {c_id} 0 R >>".encode()))
    objs[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
    objs[pages_id - 1] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                          f"/Count {len(kids)} >>").encode()
    info = add(b"<< /Title (Engineering Foundations - course handout) "
               b"/Producer (scripts/build_sample_course.py) >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, b in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + b + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objs) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    path.write_bytes(bytes(out))


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
README = """\
# Sample course

A tiny, fully synthetic course ("{course}") bundled with lecturefind for
examples and tests. It is generated by `scripts/build_sample_course.py`
(`python scripts/build_sample_course.py --force` rebuilds it).

## Licence

All content (slide text, narration, drawings, questions) is original work
written for this project and is dedicated to the public domain under
[CC0 1.0](https://creativecommons.org/publicdomain/zero/1.0/). Slides are
rendered with the DejaVu Sans fonts (free licence, Bitstream Vera derivative);
speech is synthesised with espeak-ng.

## Files

{files}

## ground_truth.json

- `videos[]`: `file`, `duration_s`, `lead_in_s`, `slides[]` with `index` (0-based),
  `start_s`/`end_s` (exact, frame-aligned at {fps} fps), `speech_start_s`/`speech_end_s`,
  `kind` (`text`/`diagram`/`plot`), `title`, `visible_text` (every drawn string,
  newline-separated, footer last), `spoken_text` (exact espeak-ng input),
  `spoken_only` (sentences said but shown on no slide), `image` (PNG under
  `slides/` or null).
- `pdfs[]`: `file`, `pages[]` with `page` (1-based), `text_layer`, `same_as`
  (`{{"video", "slide"}}` or null), `kind`, `title`, `visible_text`.
- `questions[]`: `text`, `kind` (`visible`/`spoken`/`pdf`), `answer`
  (`{{"file", "start_s", "end_s"}}` for videos, `{{"file", "page"}}` for the PDF).
"""

FILE_DESCR = {
    "lecture01_eigenvalues.mp4": "Lecture 1, linear algebra: eigenvalues and the characteristic "
                                 "polynomial (8 slides, espeak-ng narration, no lead-in).",
    "lecture02_bus_arbitration.mp4": "Lecture 2, digital circuits: bus arbitration (2 s black "
                                     "lead-in, then 8 slides).",
    PDF_NAME: "Slide handout (9 pages): 5 pages identical to video slides, 4 extra; pages "
              "1, 2, 4, 6, 8 have a text layer, 3, 5, 7, 9 are image-only.",
    "ground_truth.json": "Slide timings, visible/spoken text, PDF page info and test "
                         "questions with expected answers.",
    "slides/": "PNG renders (1280x720) of the two diagram slides, exactly as shown in the "
               "videos (plot slides are not stored: extract frames if needed).",
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = Path(__file__).resolve().parent.parent
    ap.add_argument("--out", type=Path, default=root / "examples" / "sample-course")
    ap.add_argument("--force", action="store_true", help="rebuild even if outputs exist")
    args = ap.parse_args(argv)
    out: Path = args.out
    targets = [out / L["file"] for L in LECTURES] + [out / PDF_NAME,
                                                     out / "ground_truth.json",
                                                     out / "README.md"]
    if not args.force and all(p.exists() for p in targets):
        print(f"{out}: sample course already built (use --force to rebuild)")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    (out / "slides").mkdir(exist_ok=True)
    for old in (out / "slides").glob("*.png"):   # stale renders from an earlier build
        old.unlink()
    truth = {"course": COURSE, "fps": FPS, "resolution": [W, H],
             "voice": "espeak-ng " + " ".join(VOICE), "videos": [], "pdfs": [],
             "questions": []}
    renders = {}
    with tempfile.TemporaryDirectory(prefix="sample-course-") as td:
        tmp = Path(td)
        for li, lec in enumerate(LECTURES):
            n = len(lec["slides"])
            imgs = [render_slide(s, lec["footer"], f"{i + 1} / {n}")
                    for i, s in enumerate(lec["slides"])]
            renders[li] = imgs
            meta = build_video(lec, tmp, out / lec["file"], imgs)
            slides = []
            for i, (spec, (img, items), m) in enumerate(zip(lec["slides"], imgs, meta)):
                if spec["kind"] == "diagram":
                    img.save(out / "slides" / f"{Path(lec['file']).stem}_slide{i}.png",
                             optimize=True)
                slides.append({
                    "index": i,
                    "start_s": round(m["start_frames"] / FPS, 3),
                    "end_s": round(m["end_frames"] / FPS, 3),
                    "speech_start_s": m["speech_start_s"],
                    "speech_end_s": m["speech_end_s"],
                    "kind": spec["kind"],
                    "title": spec["title"],
                    "visible_text": "\n".join(it.text for it in items),
                    "spoken_text": m["text"],
                    "spoken_only": list(spec["only"]),
                    "image": (f"slides/{Path(lec['file']).stem}_slide{i}.png"
                              if spec["kind"] == "diagram" else None),
                })
            truth["videos"].append({
                "file": lec["file"],
                "duration_s": slides[-1]["end_s"],
                "lead_in_s": LEAD_IN_S.get(lec["file"], 0.0),
                "slides": slides,
            })
        pages, pinfo = [], []
        extra_no = 0
        for pno, entry in enumerate(HANDOUT, 1):
            if entry[0] == "video":
                _, li, si, tl = entry
                img, items = renders[li][si]
                spec = LECTURES[li]["slides"][si]
                same = {"video": LECTURES[li]["file"], "slide": si}
            else:
                _, spec, tl = entry
                extra_no += 1
                img, items = render_slide(spec, HANDOUT_FOOTER, f"H{extra_no}")
                same = None
            pages.append((img, items if tl else None))
            pinfo.append({"page": pno, "text_layer": tl, "same_as": same,
                          "kind": spec["kind"], "title": spec["title"],
                          "visible_text": "\n".join(it.text for it in items)})
        write_pdf(out / PDF_NAME, pages, tmp)
        truth["pdfs"].append({"file": PDF_NAME, "pages": pinfo})
    for kind, q, li, idx in QUESTIONS:
        if kind == "pdf":
            ans = {"file": PDF_NAME, "page": idx}
        else:
            s = truth["videos"][li]["slides"][idx]
            ans = {"file": LECTURES[li]["file"], "start_s": s["start_s"], "end_s": s["end_s"]}
        truth["questions"].append({"text": q, "kind": kind, "answer": ans})
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False)
                                           + "\n", encoding="utf-8")
    files = "\n".join(f"- `{k}`: {v}" for k, v in FILE_DESCR.items())
    (out / "README.md").write_text(README.format(course=COURSE, files=files, fps=FPS), encoding="utf-8")
    for p in sorted(out.rglob("*")):
        if p.is_file():
            print(f"{p.stat().st_size:>10}  {p.relative_to(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
