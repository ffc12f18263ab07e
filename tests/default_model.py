"""The default model (SmolLM2-135M-Instruct GGUF) for tests, found the way
`MODEL=smollm2-135m` finds it: in the cache setup.sh fills, else fetched there."""
from __future__ import annotations

from pathlib import Path


def smollm2_gguf() -> Path | None:
    """Its path, or None when it cannot be had (offline with an empty cache)."""
    from model.sources import locate_model
    try:
        return locate_model("smollm2-135m").path
    except ValueError:
        return None


SKIP_REASON = "SmolLM2 GGUF cannot be had: offline and not in the cache (run ./setup.sh once online)"
