"""A runner for any local vision-language model folder, through Hugging Face transformers.

AutoProcessor + AutoModelForImageTextToText + the processor's chat template, greedy decoding, batches
(left padding), device and dtype options. Loads from local folders only (``local_files_only=True``) and
never runs code shipped inside a model folder. max_new_tokens follows upstream's ``inference.py``: twice the
caption's length in the model's own tokens (``--max-new-tokens N`` overrides it; lmms-eval uses 120).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

__all__ = ["UPSTREAM_FALLBACK_MAX_NEW_TOKENS", "TransformersRunner", "resolve_device", "resolve_dtype"]

UPSTREAM_FALLBACK_MAX_NEW_TOKENS = 200
_DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16"}
_DTYPES.update({"fp32": "float32", "float32": "float32"})


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is visible (else ``"cpu"``); any other value is kept."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_dtype(dtype: str, device: str) -> Any:  # a torch.dtype
    """``"auto"`` -> bfloat16 on a GPU (upstream's choice), float32 on CPU; else bf16, fp16 or fp32."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be 'auto' or one of {sorted(_DTYPES)}, got {dtype!r}")
    return getattr(torch, _DTYPES[dtype])


class TransformersRunner:
    """Greedy answers of a local image-text-to-text model for (image, prompt) pairs."""

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        max_new_tokens: int | None = None,
    ) -> None:
        """Load the processor and model from ``path`` (a folder written by ``save_pretrained``).

        ``max_new_tokens=None`` follows upstream (2 x caption tokens, 200 without a caption).
        """
        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(f"model folder {str(folder)!r} does not exist")
        config_file = folder / "config.json"
        if not config_file.is_file():
            raise ValueError(f"{str(folder)!r} is not a model folder: it has no config.json")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_new_tokens is not None and max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        try:
            import torch  # noqa: F401
            from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor
            from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
        except ImportError as err:
            raise ImportError("the transformers runner needs: pip install 'vcr-wiki[eval]'") from err
        try:
            config = AutoConfig.from_pretrained(folder, local_files_only=True)
        except (ValueError, OSError, KeyError, json.JSONDecodeError) as err:
            raise ValueError(f"{str(folder)!r}: unreadable model config ({err})") from err
        if config.model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
            raise ValueError(
                f"{str(folder)!r} is not a vision-language model: model_type {config.model_type!r} has no "
                "image-text-to-text class in transformers"
            )
        try:
            processor = AutoProcessor.from_pretrained(folder, local_files_only=True)  # type: ignore[no-untyped-call]
        except (ValueError, OSError, KeyError, TypeError) as err:
            raise ValueError(f"{str(folder)!r}: no usable processor ({err})") from err
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is None or getattr(processor, "image_processor", None) is None:
            raise ValueError(
                f"{str(folder)!r}: the processor ({type(processor).__name__}) has no image processor and "
                "tokenizer; is this a vision-language model folder?"
            )
        if getattr(processor, "chat_template", None) is None:
            raise ValueError(f"{str(folder)!r}: the processor has no chat template (chat_template.jinja)")
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        model: Any = AutoModelForImageTextToText.from_pretrained(
            folder, local_files_only=True, dtype=self.dtype
        )
        self.model = model.to(self.device).eval()
        self.processor = processor
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)
        self.max_new_tokens = max_new_tokens
        self.path = folder
        self.name = f"transformers:{folder.name}"
        self._layout: str | None = None

    def budget_for(self, caption: str | None) -> int:
        """max_new_tokens for one sample: the fixed value if given, else upstream's 2 x caption tokens."""
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        if not caption:
            return UPSTREAM_FALLBACK_MAX_NEW_TOKENS
        return max(1, 2 * len(self.tokenizer.encode(caption)))

    def _prompt(self, prompt: str) -> str:
        conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        return str(
            self.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        )

    def _encode(self, texts: list[str], images: list[Image.Image]) -> Any:  # a BatchFeature
        """Processor inputs; images as a flat list (one per prompt) or, for processors that want it
        (Idefics-style), one list per prompt. The working layout is remembered."""
        layouts = [self._layout] if self._layout else ["flat", "nested"]
        for k, layout in enumerate(layouts):
            batch = images if layout == "flat" else [[im] for im in images]
            try:
                inputs = self.processor(text=texts, images=batch, padding=True, return_tensors="pt")
            except (ValueError, TypeError, IndexError):
                if k == len(layouts) - 1:
                    raise
                continue
            self._layout = layout
            return inputs
        raise AssertionError("unreachable")

    def predict(
        self,
        images: Sequence[Image.Image],
        prompts: Sequence[str],
        max_new_tokens: Sequence[int] | int | None = None,
    ) -> list[str]:
        """Greedy answers, ``batch_size`` pairs at a time; ``max_new_tokens`` per pair (or one for all)."""
        import torch

        if len(images) != len(prompts):
            raise ValueError(f"got {len(images)} images but {len(prompts)} prompts")
        if max_new_tokens is None:
            budgets = [self.budget_for(None)] * len(images)
        elif isinstance(max_new_tokens, int):
            budgets = [max_new_tokens] * len(images)
        else:
            budgets = [int(b) for b in max_new_tokens]
            if len(budgets) != len(images):
                raise ValueError(f"got {len(budgets)} max_new_tokens for {len(images)} images")
        out: list[str] = []
        for start in range(0, len(images), self.batch_size):
            stop = start + self.batch_size
            texts = [self._prompt(p) for p in prompts[start:stop]]
            batch_images = [im.convert("RGB") for im in images[start:stop]]
            batch_budgets = budgets[start:stop]
            inputs = self._encode(texts, batch_images)
            inputs = inputs.to(self.device)
            for key, value in inputs.items():  # pixel tensors follow the model's dtype
                if torch.is_floating_point(value):
                    inputs[key] = value.to(self.dtype)
            with torch.inference_mode():
                generated = self.model.generate(
                    **inputs,
                    do_sample=False,
                    num_beams=1,
                    max_new_tokens=max(batch_budgets),
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = generated[:, inputs["input_ids"].shape[1] :]
            rows = [row[:budget] for row, budget in zip(new_tokens, batch_budgets, strict=True)]
            out.extend(self.tokenizer.batch_decode(rows, skip_special_tokens=True))
        return out
