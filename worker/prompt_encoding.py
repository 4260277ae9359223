"""SDXL prompt embeddings as AUTOMATIC1111 makes them: any length in 75-token chunks, with attention weights.

Each chunk is BOS + up to 75 tokens + EOS, padded to 77 with the tokenizer's own pad token, and goes through both
text encoders (penultimate hidden states, as diffusers' `encode_prompt` with clip_skip None); the encoders' outputs
are joined on the feature axis and the chunks on the sequence axis. The pooled vector is text_encoder_2's for the
first chunk. A chunk with weights is scaled token by token and its mean restored (A1111's "Original" emphasis), per
chunk and per encoder as A1111 does for SDXL; weights scale the hidden states only, never the pooled vector.
Chunks break before a word that would straddle 75 tokens at the last comma within 20 tokens (A1111's
`comma_padding_backtrack` at its default, 20), and at each BREAK.

Exact: a prompt of at most 75 tokens whose pieces are one unweighted text (no brackets, escapes or BREAK) gives
bit for bit what `pipeline.encode_prompt` gives, since it is the same token ids through the same calls; an empty
negative prompt is SDXL's zero conditioning (`force_zeros_for_empty_prompt`) as there. Not bit for bit A1111's:
weights are applied in float32 (A1111 works in the encoder's dtype; the same numbers for a float32 one), and the
chunks of a prompt are never padded to other prompts' counts, so a batch of pairs needs equal `count_chunks`
(A1111 pads a batch with empty chunks). Where a prompt has
several pieces, each is tokenized on its own (as A1111 does), so `a (b) c` may tokenize differently from `a b c`
at the piece edges. Several chunks go through an encoder as one batch, so a chunk's values may differ in the last
bits from encoding it alone; the same prompt always gives the same tensors. Textual-inversion embeddings in the
prompt are not looked up.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import torch
from diffusers import StableDiffusionXLPipeline
from diffusers.utils.torch_utils import get_module_execution_device

from worker.prompt_syntax import BREAK, ParsedPrompt, parse_prompt

CHUNK_TOKENS: Final = 75
COMMA_BACKTRACK: Final = 20  # A1111's comma_padding_backtrack default; 0 turns it off

# A prompt pair as it is encoded: the parsed positive, and the parsed negative or None for SDXL's zero conditioning.
PromptKey = tuple[ParsedPrompt, ParsedPrompt | None]
PromptEmbeddings = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass
class Chunk:
    """Up to 75 token ids of one tokenizer, without BOS/EOS, and each token's weight."""

    tokens: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


def prompt_cache_key(prompt: str, negative: str) -> PromptKey:
    """A hashable key equal for prompt pairs that encode the same, e.g. `(cat:1.0)` and `cat`."""
    # Only an empty string is the zero conditioning (as diffusers decides it), so `()` must not share its key.
    return parse_prompt(prompt), (parse_prompt(negative) if negative else None)


def split_into_chunks(parsed: ParsedPrompt, tokenizer: Any) -> list[Chunk]:
    """A1111's chunking of a parsed prompt for one tokenizer: 75 tokens a chunk, a new one at each BREAK."""
    comma = tokenizer.convert_tokens_to_ids(",</w>")
    if comma == tokenizer.unk_token_id:
        comma = None
    texts = [text for text, weight in parsed if (text, weight) != BREAK]
    # verbose=False: a long piece is chunked here, so the tokenizer's "longer than 77" warning is noise.
    encoded = tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False) if texts else None
    token_lists = iter(encoded.input_ids if encoded is not None else [])
    chunks: list[Chunk] = []
    chunk = Chunk()
    last_comma = -1
    for text, weight in parsed:
        if (text, weight) == BREAK:
            chunks.append(chunk)
            chunk, last_comma = Chunk(), -1
            continue
        for token in next(token_lists):
            if token == comma:
                last_comma = len(chunk.tokens)
            elif (
                len(chunk.tokens) == CHUNK_TOKENS and last_comma != -1 and CHUNK_TOKENS - last_comma <= COMMA_BACKTRACK
            ):
                # A full chunk with a comma near its end: what follows the comma moves on, so a phrase stays whole.
                cut = last_comma + 1
                moved = Chunk(chunk.tokens[cut:], chunk.weights[cut:])
                del chunk.tokens[cut:], chunk.weights[cut:]
                chunks.append(chunk)
                chunk, last_comma = moved, -1
            if len(chunk.tokens) == CHUNK_TOKENS:
                chunks.append(chunk)
                chunk, last_comma = Chunk(), -1
            chunk.tokens.append(token)
            chunk.weights.append(weight)
    # A trailing BREAK adds no empty chunk; an empty prompt is one empty chunk.
    if chunk.tokens or not chunks:
        chunks.append(chunk)
    return chunks


def count_chunks(pipeline: StableDiffusionXLPipeline, prompt: str, negative_prompt: str) -> int:
    """How many 77-token chunks encode_prompt_pair gives both sides; pairs batched together need the same count."""
    keys = [key for key in _keys(pipeline, prompt, negative_prompt) if key is not None]
    return max(len(split_into_chunks(key, tokenizer)) for key in keys for tokenizer, _ in _encoders(pipeline))


def encode_prompt_pair(pipeline: StableDiffusionXLPipeline, prompt: str, negative_prompt: str) -> PromptEmbeddings:
    """(prompt_embeds, negative_prompt_embeds, pooled, negative_pooled) for one pair, both of the same length."""
    encoders = _encoders(pipeline)
    positive_key, negative_key = _keys(pipeline, prompt, negative_prompt)
    positive = [split_into_chunks(positive_key, tokenizer) for tokenizer, _ in encoders]
    negative = (
        [split_into_chunks(negative_key, tokenizer) for tokenizer, _ in encoders] if negative_key is not None else []
    )
    # Both sides of classifier-free guidance must have the same sequence length, so the shorter gets empty chunks.
    count = max(len(chunks) for chunks in positive + negative)
    with torch.inference_mode():
        prompt_embeds, pooled = _encode(encoders, positive, count)
        if negative_key is None:
            negative_embeds, negative_pooled = torch.zeros_like(prompt_embeds), torch.zeros_like(pooled)
        else:
            negative_embeds, negative_pooled = _encode(encoders, negative, count)
    # As diffusers' encode_prompt: the sequences in text_encoder_2's dtype on the execution device, pooled as is.
    dtype = pipeline.text_encoder_2.dtype if pipeline.text_encoder_2 is not None else pipeline.unet.dtype
    device = pipeline._execution_device
    return (
        prompt_embeds.to(dtype=dtype, device=device),
        negative_embeds.to(dtype=dtype, device=device),
        pooled,
        negative_pooled,
    )


def _encoders(pipeline: StableDiffusionXLPipeline) -> list[tuple[Any, Any]]:
    # SDXL's refiner has text_encoder_2 alone; diffusers then encodes with that one only.
    pairs = ((pipeline.tokenizer, pipeline.text_encoder), (pipeline.tokenizer_2, pipeline.text_encoder_2))
    return [(tokenizer, encoder) for tokenizer, encoder in pairs if encoder is not None]


def _keys(pipeline: StableDiffusionXLPipeline, prompt: str, negative_prompt: str) -> PromptKey:
    positive, negative = prompt_cache_key(prompt, negative_prompt)
    if negative is None and not pipeline.config.force_zeros_for_empty_prompt:
        negative = parse_prompt("")  # a model that encodes "" instead of zeroing it
    return positive, negative


def _encode(
    encoders: Sequence[tuple[Any, Any]], chunks_per_encoder: Sequence[list[Chunk]], count: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden states (1, count x 77, features) of all encoders, and the pooled vector of the first chunk."""
    hidden_states: list[torch.Tensor] = []
    pooled: torch.Tensor | None = None
    for (tokenizer, encoder), own_chunks in zip(encoders, chunks_per_encoder, strict=True):
        chunks = own_chunks + [Chunk() for _ in range(count - len(own_chunks))]
        ids = torch.tensor(
            [_chunk_ids(chunk, tokenizer) for chunk in chunks], device=get_module_execution_device(encoder)
        )
        output = encoder(ids, output_hidden_states=True)
        # As diffusers: the pooled vector comes from the encoder whose first output is 2-D (text_encoder_2's).
        if pooled is None and output[0].ndim == 2:
            pooled = output[0][:1]
        hidden_states.append(_emphasise(output.hidden_states[-2], chunks))
    assert pooled is not None, "SDXL's text_encoder_2 gives the pooled vector"
    joined = torch.cat(hidden_states, dim=-1)
    return joined.reshape(1, -1, joined.shape[-1]), pooled


def _chunk_ids(chunk: Chunk, tokenizer: Any) -> list[int]:
    padding = [tokenizer.pad_token_id] * (CHUNK_TOKENS - len(chunk.tokens))
    return [tokenizer.bos_token_id, *chunk.tokens, tokenizer.eos_token_id, *padding]


def _emphasise(hidden: torch.Tensor, chunks: Sequence[Chunk]) -> torch.Tensor:
    """Each token's hidden state times its weight, each chunk's mean restored; unweighted chunks untouched."""
    if all(weight == 1.0 for chunk in chunks for weight in chunk.weights):
        return hidden  # bit-identical to no emphasis, and no copy
    rows = []
    for row, chunk in zip(hidden, chunks, strict=True):
        if all(weight == 1.0 for weight in chunk.weights):
            rows.append(row)
            continue
        padding = [1.0] * (row.shape[0] - 1 - len(chunk.weights))
        weights = torch.tensor([1.0, *chunk.weights, *padding], dtype=torch.float32, device=row.device)
        # In float32, so a half-precision encoder's means are not rounded before the ratio is taken.
        z = row.float()
        original_mean = z.mean()
        z = z * weights[:, None]
        new_mean = z.mean()
        # A1111 divides unguarded; weights that cancel the mean to exactly zero leave it unrestored, not NaN
        # (torch.where rather than an `if`, so a GPU does not wait for the host).
        z = z * torch.where(new_mean != 0, original_mean / new_mean, 1.0)
        rows.append(z.to(row.dtype))
    return torch.stack(rows)
