"""Photo-like distortions of slide images for tests and benchmarks (never used by the product).

BGR uint8 in, BGR uint8 out; `rng` is a numpy Generator, so every photo is reproducible from a seed.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np


def perspective(img: np.ndarray, rng: np.random.Generator, amount: float = 0.08) -> np.ndarray:
    """Keystone/skew: each corner moved by up to ±amount of the width/height; dark grey where nothing maps."""
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = (src + rng.uniform(-amount, amount, (4, 2)) * [w, h]).astype(np.float32)
    dst -= dst.min(axis=0)
    size = tuple(int(v) + 1 for v in dst.max(axis=0))
    return cv2.warpPerspective(img, cv2.getPerspectiveTransform(src, dst), size, flags=cv2.INTER_LINEAR,
                               borderValue=(45, 42, 40))


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    """Rotation about the centre, canvas grown so nothing is cut off."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * s + w * c), int(h * c + w * s)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(img, m, (nw, nh), borderValue=(35, 33, 30))


def blur(img: np.ndarray, sigma: float = 2.5) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def jpeg(img: np.ndarray, quality: int = 50) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def low_contrast(img: np.ndarray, gain: float = 0.45, lift: float = 70.0,
                 cast: tuple[float, float, float] = (0.82, 1.0, 1.22)) -> np.ndarray:
    """A washed-out projector: contrast squeezed, blacks lifted, a warm (BGR gains) colour cast."""
    f = img.astype(np.float32) * gain + lift
    return np.clip(f * np.float32(cast), 0, 255).astype(np.uint8)


def noise(img: np.ndarray, rng: np.random.Generator, sigma: float = 6.0) -> np.ndarray:
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def projector_photo(img: np.ndarray, rng: np.random.Generator, fill: float = 0.6) -> np.ndarray:
    """The slide on a screen in a dim lecture hall: it fills ~fill of the photo's width, corners skewed ±8%,
    a dark uneven room around it (letterboxing that is not a uniform bar), sensor noise."""
    h, w = img.shape[:2]
    W = int(w / fill)
    H = int(W * 0.75)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    room = np.dstack([28 + 30 * xx / W, 30 + 22 * yy / H, 38 + 26 * (1 - yy / H)])
    room += rng.normal(0, 5, room.shape)
    room = np.clip(room, 0, 255).astype(np.uint8)
    cv2.rectangle(room, (0, int(H * 0.88)), (W, H), (20, 22, 25), -1)            # desks in the foreground
    x0, y0 = (W - w) / 2, (H - h) / 2 - H * 0.05
    rect = np.float32([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]])
    dst = (rect + rng.uniform(-0.08, 0.08, (4, 2)) * [w, h]).astype(np.float32)
    m = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), dst)
    warped = cv2.warpPerspective(img, m, (W, H))
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (W, H)) > 127
    room[mask] = warped[mask]
    return noise(room, rng, 4.0)


def crop(img: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """box = (x0, y0, x1, y1) as fractions of the width/height."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(img[int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)])


def street_scene(rng: np.random.Generator, sign: Optional[str] = None, w: int = 1280, h: int = 960) -> np.ndarray:
    """Something that is not in the course: sky/grass gradients, random shapes, noise, optionally a street sign."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.dstack([200 - 60 * yy / h, 170 - 40 * yy / h, 120 + 20 * yy / h + 10 * xx / w])
    img[int(h * 0.55):] = (60 + 20 * rng.random(), 110 + 30 * rng.random(), 70)
    img = img.astype(np.uint8)
    for _ in range(30):
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.circle(img, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(10, 120)), colour, -1)
        elif kind == 1:
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            cv2.rectangle(img, (x, y), (x + int(rng.integers(20, 300)), y + int(rng.integers(20, 300))), colour, -1)
        else:
            cv2.fillPoly(img, [rng.integers(0, [w, h], (5, 2)).astype(np.int32)], colour)
    if sign:
        cv2.line(img, (640, 420), (640, h), (90, 90, 90), 12)
        cv2.rectangle(img, (400, 300), (880, 420), (40, 120, 30), -1)
        cv2.rectangle(img, (410, 310), (870, 410), (255, 255, 255), 3)
        scale = 1.7 if len(sign) > 9 else 2.2
        (tw, _), _ = cv2.getTextSize(sign, cv2.FONT_HERSHEY_SIMPLEX, scale, 5)
        cv2.putText(img, sign, (640 - tw // 2, 382), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 5,
                    cv2.LINE_AA)
    return blur(noise(img, rng, 12.0), 1.2)
