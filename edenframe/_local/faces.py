"""image/face_detection offline with OpenCV's Haar cascade (`haarcascade_frontalface_default.xml`).

Needs `opencv-python-headless<5`: OpenCV 5 removed `CascadeClassifier` and the cascade files.

What it returns: one item per detected face with its `bounding_box` (relative 0..1 coordinates, as Eden AI) and a
`confidence`. Everything else Eden AI's schema has (landmarks, emotions, pose, age, gender, hair, quality, ...) is
left empty, never guessed: null scalars, empty lists, every required struct present. The cascade finds upright
frontal faces only (profiles and strongly tilted faces are missed) and gives no landmarks.

`confidence` squashes the cascade's final-stage score ("level weight", from `detectMultiScale3` with
`outputRejectLevels=True`) with a logistic centred at 2.0. It orders detections sensibly (a clear frontal face
scored 4.6 -> 0.93; false positives seen at lower `minNeighbors` scored 0.9-2.6 -> 0.25-0.64) but is not a
calibrated probability.

Images are scaled down so that their longer side is at most 1280 px before detection (faces smaller than about 2%
of that side are then missed); coordinates are relative, so the scaling does not show in the output.
"""

from __future__ import annotations

import math
import threading
from functools import cache
from typing import Any

import cv2
import numpy as np

from .._catalog import get_subfeature
from .._schema import ListOf, Struct, Type
from ._files import ItemError, load_bytes, map_items
from ._shared import load_once

CASCADE = "haarcascade_frontalface_default.xml"
MAX_SIDE = 1280
SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 5
MIN_SIZE = (24, 24)  # the cascade's window
CONFIDENCE_CENTRE = 2.0

_LOCK = threading.Lock()


@load_once
def _classifier() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + CASCADE
    classifier = cv2.CascadeClassifier(path)
    if classifier.empty():
        raise RuntimeError(f"OpenCV could not load its face cascade {path}; reinstall 'opencv-python-headless<5'")
    return classifier


def _blank(kind: Type) -> Any:
    """An empty value of a schema type: a struct of empties, [] for a list, None for a scalar."""
    if isinstance(kind, Struct):
        return {name: _blank(field) for name, field in kind.fields}
    if isinstance(kind, ListOf):
        return []
    return None


@cache
def _face_type() -> Struct:
    items = get_subfeature("image/face_detection").output.field("items")
    assert isinstance(items, ListOf) and isinstance(items.item, Struct)
    return items.item


def _face(confidence: float, box: dict[str, float]) -> dict[str, Any]:
    face = _blank(_face_type())
    face["confidence"] = confidence
    face["bounding_box"] = box
    return face


def _decode(data: bytes) -> np.ndarray:
    grey = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        if data[:5] == b"%PDF-":
            raise ItemError("local face detection reads images (JPEG, PNG, WebP, BMP, TIFF...), not PDF files")
        raise ItemError("not a readable image: OpenCV reads JPEG, PNG, WebP, BMP, TIFF and similar formats")
    return grey


def detect(grey: np.ndarray) -> list[dict[str, Any]]:
    """Faces in a greyscale image, largest first: `[{confidence, bounding_box}]` with relative coordinates."""
    height, width = grey.shape[:2]
    scale = min(1.0, MAX_SIDE / max(height, width))
    if scale < 1.0:
        grey = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    h, w = grey.shape[:2]
    with _LOCK:  # one classifier object; OpenCV parallelises inside the call
        boxes, _, weights = _classifier().detectMultiScale3(
            grey,
            scaleFactor=SCALE_FACTOR,
            minNeighbors=MIN_NEIGHBORS,
            minSize=MIN_SIZE,
            outputRejectLevels=True,
        )
    faces = []
    for box_px, weight in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(weights).reshape(-1), strict=True):
        x, y, bw, bh = (int(v) for v in box_px)
        confidence = 1.0 / (1.0 + math.exp(-(float(weight) - CONFIDENCE_CENTRE)))
        box = {
            "x_min": round(max(0.0, x / w), 6),
            "x_max": round(min(1.0, (x + bw) / w), 6),
            "y_min": round(max(0.0, y / h), 6),
            "y_max": round(min(1.0, (y + bh) / h), 6),
        }
        faces.append((bw * bh, _face(round(confidence, 6), box)))
    return [face for _, face in sorted(faces, key=lambda pair: -pair[0])]


def compute(items: list[dict]) -> list[dict]:
    """One `{items: [face, ...]}` per image (an empty list when no face is found)."""
    _classifier()
    return map_items(items, lambda item: {"items": detect(_decode(load_bytes(item)))})
