"""The runnable code blocks of the READMEs and the directives above them (shared by the README tests).

A fenced block whose language is bash, sh, shell, python or py is runnable. HTML comment lines directly
above its opening fence (blank lines allowed between them) carry directives:

- ``<!-- readme-test: skip: REASON -->``: the block is not run as a script (templates, GPU-only
  commands, installs; an install block is installed by ``test_readme_installs.py`` instead).
- ``<!-- readme-test: replace "OLD" "NEW" -->``: substitute before running (to shrink a long run).
- ``<!-- readme-test: timeout SECONDS -->``: the block's time limit (default 600 s).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

RUNNABLE = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<body>.*?)\s*-->\s*$")
DEFAULT_TIMEOUT = 600.0


@dataclass
class Block:
    """One runnable code block of a README and how to run it."""

    readme: Path
    line: int  # 1-based line of the opening fence
    kind: str  # "bash" or "python"
    code: str
    skip: str | None = None
    replacements: list[tuple[str, str]] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT

    def prepared(self) -> str:
        """The code with every replacement applied; an unused replacement is an error."""
        code = self.code
        for old, new in self.replacements:
            if old not in code:
                raise ValueError(f"{self.readme}:{self.line}: replace target {old!r} is not in the block")
            code = code.replace(old, new)
        return code


def apply_directive(block: Block, body: str) -> None:
    """Apply one directive's text to a block; raise ValueError on an unknown directive."""
    if body.startswith("skip:"):
        block.skip = body[len("skip:") :].strip() or "no reason given"
    elif body.startswith("replace "):
        parts = shlex.split(body[len("replace ") :])
        if len(parts) != 2:
            raise ValueError(f"{block.readme}:{block.line}: replace takes two quoted strings: {body!r}")
        block.replacements.append((parts[0], parts[1]))
    elif body.startswith("timeout "):
        block.timeout = float(body.split()[1])
    else:
        raise ValueError(f"{block.readme}:{block.line}: unknown readme-test directive {body!r}")


def readme_blocks(readme: Path) -> list[Block]:
    """The runnable blocks of a README in order, with their directives applied."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = DIRECTIVE.match(line)
        fence = FENCE.match(line)
        if directive:
            pending.append(directive.group("body"))
        elif fence:
            indent, lang = fence.group("indent"), fence.group("lang").lower()
            start = index
            body: list[str] = []
            index += 1
            while index < len(lines) and lines[index].strip() != "```":
                text = lines[index]
                body.append(text[len(indent) :] if text.startswith(indent) else text.lstrip())
                index += 1
            if lang in RUNNABLE:
                block = Block(readme, start + 1, RUNNABLE[lang], "\n".join(body) + "\n")
                for text in pending:
                    apply_directive(block, text)
                blocks.append(block)
            elif pending:
                raise ValueError(
                    f"{readme}:{start + 1}: readme-test directive above a {lang or 'plain'} block"
                )
            pending = []
        elif line.strip() and pending:
            raise ValueError(f"{readme}:{index + 1}: readme-test directive not directly above a block")
        index += 1
    return blocks


ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", *sorted((ROOT / "packages").glob("*/README.md"))]


def readme_id(readme: Path) -> str:
    """A short name for a README: its package folder, or 'root'."""
    return "root" if readme.parent == ROOT else readme.parent.name


ALL_BLOCKS = [block for readme in READMES for block in readme_blocks(readme)]
