"""Sanity runners that know the ground truth: the oracle and the 'copy visible text' baseline.

Both recognise an image by a hash of its pixels, so they keep the plain ``predict(images, prompts)``
interface and fail loudly on an image they were not given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from PIL import Image

__all__ = ["CopyVisibleTextRunner", "OracleRunner", "image_key", "visible_text"]


def image_key(image: Image.Image) -> str:
    """A hash of an image's mode, size and pixels."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{image.mode}:{image.size[0]}x{image.size[1]}:".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def visible_text(caption: str, crossed_texts: Sequence[str], language: str) -> str:
    """The caption with each masked n-gram removed (its first occurrence, as the masks are placed)."""
    text = caption
    for span in crossed_texts:
        at = text.find(span)
        if at >= 0:
            text = text[:at] + (" " if language == "en" else "") + text[at + len(span) :]
    return " ".join(text.split()) if language == "en" else text


class _LookupRunner:
    """Answers by looking the image up in a table built from the dataset."""

    name = "lookup"

    def __init__(self, pairs: Iterable[tuple[Image.Image, str]]) -> None:
        self._answers: dict[str, str] = {}
        for image, answer in pairs:
            self._answers[image_key(image)] = answer

    def __len__(self) -> int:
        return len(self._answers)

    def predict(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> list[str]:
        """The stored answer of each image (KeyError naming the image's hash when unknown)."""
        if len(images) != len(prompts):
            raise ValueError(f"got {len(images)} images but {len(prompts)} prompts")
        out = []
        for image in images:
            key = image_key(image)
            if key not in self._answers:
                raise KeyError(f"{self.name}: image {key} (size {image.size}) is not in its dataset")
            out.append(self._answers[key])
        return out


class OracleRunner(_LookupRunner):
    """Returns the ground-truth n-grams of each image, one per line: scores 100/100 by construction."""

    name = "oracle"

    @staticmethod
    def answer(crossed_texts: Sequence[str]) -> str:
        """The oracle's answer for a sample: its blanks, one per line."""
        return "\n".join(crossed_texts)


class CopyVisibleTextRunner(_LookupRunner):
    """Returns the caption without its masked n-grams: a perfect reader that restores nothing."""

    name = "copy-visible"
