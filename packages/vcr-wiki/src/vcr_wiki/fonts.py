"""Fonts: the shipped Arial-metric font for English and a system CJK font for Chinese.

Upstream renders with Arial (en) and SimSun ``simsun.ttc`` (zh), both proprietary. This package ships
Liberation Sans (SIL OFL 1.1, same advance widths as Arial) and looks for a CJK font on the system.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

ZH_FONT_ENV = "VCR_WIKI_ZH_FONT"
EN_FONT_ENV = "VCR_WIKI_EN_FONT"

# Closest to SimSun first (SimSun itself, then Ming/Song faces), then any CJK face.
_ZH_CANDIDATES = (
    "C:/Windows/Fonts/simsun.ttc",
    "/usr/share/fonts/truetype/simsun/simsun.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/System/Library/Fonts/Supplemental/Songti.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)

ZH_FONT_HELP = (
    "no Chinese (CJK) font found. Install one, e.g. on Debian/Ubuntu "
    "`sudo apt-get install fonts-arphic-uming` (Ming style, closest to SimSun) or `fonts-noto-cjk`, "
    f"or pass --font /path/to/font.ttc (or set {ZH_FONT_ENV})."
)


class FontNotFoundError(FileNotFoundError):
    """No usable font for the requested language; the message says how to get one."""


def shipped_en_font() -> Path:
    """Path of the shipped Liberation Sans Regular (Arial-metric, SIL OFL 1.1)."""
    path = resources.files("vcr_wiki") / "data" / "fonts" / "LiberationSans-Regular.ttf"
    return Path(str(path))


def _fc_list_zh() -> list[str]:
    """Font files fontconfig reports for Chinese, or [] without fontconfig."""
    exe = shutil.which("fc-list")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})
    # Prefer Ming/Song (serif) faces, which look like SimSun, over sans faces.
    rank = ("simsun", "uming", "serifcjk", "song", "ming")
    return sorted(files, key=lambda f: next((i for i, r in enumerate(rank) if r in f.lower()), len(rank)))


def find_zh_font() -> Path:
    """A CJK font on this system: $VCR_WIKI_ZH_FONT, known paths, then fontconfig."""
    env = os.environ.get(ZH_FONT_ENV)
    if env:
        if not Path(env).is_file():
            raise FontNotFoundError(f"{ZH_FONT_ENV}={env!r} is not a file; {ZH_FONT_HELP}")
        return Path(env)
    for cand in _ZH_CANDIDATES:
        if Path(cand).is_file():
            return Path(cand)
    for cand in _fc_list_zh():
        if Path(cand).is_file():
            return Path(cand)
    raise FontNotFoundError(ZH_FONT_HELP)


def resolve_font(lang: str, font: str | os.PathLike[str] | None = None) -> Path:
    """The font file to render ``lang`` with: ``font`` when given, else the default for the language."""
    if font is not None:
        path = Path(font)
        if not path.is_file():
            hint = f"; {ZH_FONT_HELP}" if lang == "zh" else ""
            raise FontNotFoundError(f"font file {str(path)!r} does not exist{hint}")
        return path
    if lang == "en":
        env = os.environ.get(EN_FONT_ENV)
        return Path(env) if env else shipped_en_font()
    if lang == "zh":
        return find_zh_font()
    raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
