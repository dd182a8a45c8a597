"""Text from input shown on the page as text: Streamlit reads markdown (links, images,
colours, maths) in labels, captions and messages, so every markdown character is escaped."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=^\"'&])")


def plain(text: object) -> str:
    """`text` escaped so that markdown shows it exactly as typed, and renders no markup."""
    return _MARKDOWN.sub(r"\\\1", str(text))
