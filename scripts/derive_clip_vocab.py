"""Derive the CLIP vocab.json and merges.txt of models/sdxl-base/tokenizer{,_2} from open_clip's BPE file."""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKENIZER_DIRS = (
    REPO_ROOT / "models" / "sdxl-base" / "tokenizer",
    REPO_ROOT / "models" / "sdxl-base" / "tokenizer_2",
)
# The merges file ships inside the open_clip_torch wheel; we read it out of the zip rather than installing the
# package, because installing it would pull torch/torchvision and could change the pinned torch.
BPE_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
# Both SDXL text encoders (OpenAI CLIP ViT-L/14 and OpenCLIP ViT-bigG/14) use this one 49408-token vocabulary.
VOCAB_SIZE = 49408


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible byte -> printable character table (openai/CLIP simple_tokenizer.py)."""
    # Printable Latin-1 bytes map to themselves; the rest are shifted above 255 so no token contains
    # whitespace or control characters, which the BPE would otherwise split on.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def derive(bpe_text: str) -> tuple[dict[str, int], list[str]]:
    """Build (vocab, merges) exactly as CLIP's SimpleTokenizer.__init__ does."""
    # Line 0 is the file's "#version" header; CLIP keeps the first 49152 - 256 - 2 merges so that
    # 256 byte tokens + 256 "</w>" byte tokens + merges + 2 specials come to 49408 ids.
    merge_lines = bpe_text.split("\n")[1 : 49152 - 256 - 2 + 1]
    merges = [tuple(line.split()) for line in merge_lines]
    tokens = list(bytes_to_unicode().values())
    tokens += [t + "</w>" for t in tokens]
    tokens += ["".join(pair) for pair in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(tokens)}
    if len(vocab) != VOCAB_SIZE or len(tokens) != VOCAB_SIZE:
        raise SystemExit(f"derived {len(vocab)} distinct tokens from {len(tokens)}, expected {VOCAB_SIZE}")
    return vocab, [" ".join(pair) for pair in merges]


def read_bpe_from_wheel(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return gzip.decompress(archive.read(BPE_MEMBER)).decode("utf-8")


def download_wheel(into: Path) -> Path:
    # --no-deps: we only want the data file, never open_clip's dependencies (torch among them).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "open_clip_torch",
            "-d",
            str(into),
        ],
        check=True,
    )
    return next(into.glob("open_clip_torch-*.whl"))


def write(vocab: dict[str, int], merges: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # ensure_ascii=False and no trailing newline: byte-for-byte the layout of the vocab.json files on the Hub.
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    # Hugging Face's merges.txt format: a "#version" header that its loaders skip, then one merge per line.
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wheel", type=Path, help="an open_clip_torch wheel already on disk (else pip downloads one)")
    args = parser.parse_args()
    if args.wheel is not None:
        bpe_text = read_bpe_from_wheel(args.wheel)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            bpe_text = read_bpe_from_wheel(download_wheel(Path(tmp)))
    vocab, merges = derive(bpe_text)
    for folder in TOKENIZER_DIRS:
        write(vocab, merges, folder)
        print(f"wrote {folder.relative_to(REPO_ROOT)}: {len(vocab)} tokens, {len(merges)} merges")


if __name__ == "__main__":
    main()
