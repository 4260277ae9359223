"""A1111-style long and weighted prompts through the demo model's real CLIP tokenizers and SDXL text encoders."""

from typing import Any

import pytest
import torch
from diffusers import StableDiffusionXLPipeline

from worker.model_loader import LoadedModel
from worker.prompt_encoding import (
    CHUNK_TOKENS,
    PromptEmbeddings,
    count_chunks,
    encode_prompt_pair,
    prompt_cache_key,
    split_into_chunks,
)
from worker.prompt_syntax import parse_prompt

SEQUENCE = CHUNK_TOKENS + 2  # BOS + 75 tokens + EOS
PHRASE = "(a lighthouse:1.2) on a [rocky] cliff, ((stormy sea)), "
LONG_WEIGHTED = (PHRASE * (2000 // len(PHRASE) + 1))[:2000]
# 100 tokens: a second chunk holds the words from token 76 on.
LONG_PLAIN = "cat " * 100


@pytest.fixture(scope="module")
def pipeline(demo_model: LoadedModel) -> StableDiffusionXLPipeline:
    return demo_model.pipeline


def diffusers_encoding(pipeline: StableDiffusionXLPipeline, prompt: str, negative: str) -> PromptEmbeddings:
    with torch.inference_mode():
        result: PromptEmbeddings = pipeline.encode_prompt(
            prompt=prompt,
            device=pipeline._execution_device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=True,
            negative_prompt=negative or None,
        )
    return result


def assert_identical(ours: PromptEmbeddings, theirs: PromptEmbeddings) -> None:
    for mine, other in zip(ours, theirs, strict=True):
        assert mine.shape == other.shape
        assert mine.dtype == other.dtype
        assert torch.equal(mine, other)


@pytest.mark.parametrize("negative", ["", "blurry, low quality"])
@pytest.mark.parametrize("prompt", ["a lighthouse at dusk, oil painting", "", "cat"])
def test_a_short_unweighted_prompt_is_exactly_diffusers_encoding(
    pipeline: StableDiffusionXLPipeline, prompt: str, negative: str
) -> None:
    assert_identical(encode_prompt_pair(pipeline, prompt, negative), diffusers_encoding(pipeline, prompt, negative))


def test_the_sequence_grows_by_77_a_chunk_and_both_sides_match(pipeline: StableDiffusionXLPipeline) -> None:
    embeds, negative, pooled, negative_pooled = encode_prompt_pair(pipeline, LONG_WEIGHTED, "blurry")
    assert embeds.shape[1] % SEQUENCE == 0
    assert embeds.shape[1] >= 5 * SEQUENCE  # 2000 characters are several hundred tokens
    assert negative.shape == embeds.shape
    features = pipeline.text_encoder.config.hidden_size + pipeline.text_encoder_2.config.hidden_size
    assert embeds.shape == (1, embeds.shape[1], features)
    assert pooled.shape == negative_pooled.shape == (1, pipeline.text_encoder_2.config.projection_dim)
    assert torch.isfinite(embeds).all()


def test_a_long_negative_lengthens_the_positive_too(pipeline: StableDiffusionXLPipeline) -> None:
    embeds, negative, _, _ = encode_prompt_pair(pipeline, "cat", LONG_WEIGHTED)
    assert embeds.shape == negative.shape
    assert embeds.shape[1] > SEQUENCE
    short, _, _, _ = encode_prompt_pair(pipeline, "cat", "")
    torch.testing.assert_close(embeds[:, :SEQUENCE], short)


def test_words_past_token_77_reach_both_encoders(pipeline: StableDiffusionXLPipeline) -> None:
    red, _, red_pooled, _ = encode_prompt_pair(pipeline, LONG_PLAIN + " red", "")
    blue, _, blue_pooled, _ = encode_prompt_pair(pipeline, LONG_PLAIN + " blue", "")
    assert red.shape[1] == 2 * SEQUENCE
    first = pipeline.text_encoder.config.hidden_size
    torch.testing.assert_close(red[:, :SEQUENCE], blue[:, :SEQUENCE])
    assert not torch.allclose(red[:, SEQUENCE:, :first], blue[:, SEQUENCE:, :first])
    assert not torch.allclose(red[:, SEQUENCE:, first:], blue[:, SEQUENCE:, first:])
    # The pooled vector is the first chunk's, as A1111's.
    torch.testing.assert_close(red_pooled, blue_pooled)


def test_the_pooled_vector_is_the_first_chunks(pipeline: StableDiffusionXLPipeline) -> None:
    _, _, pooled, _ = encode_prompt_pair(pipeline, "a lighthouse BREAK stormy sea, rocks", "")
    _, _, alone, _ = diffusers_encoding(pipeline, "a lighthouse", "")
    torch.testing.assert_close(pooled, alone)


def test_break_starts_a_new_chunk(pipeline: StableDiffusionXLPipeline) -> None:
    embeds, negative, _, _ = encode_prompt_pair(pipeline, "a lighthouse BREAK stormy sea", "")
    assert embeds.shape[1] == negative.shape[1] == 2 * SEQUENCE
    first, _, _, _ = diffusers_encoding(pipeline, "a lighthouse", "")
    second, _, _, _ = diffusers_encoding(pipeline, "stormy sea", "")
    torch.testing.assert_close(embeds, torch.cat([first, second], dim=1))


def test_a_weight_of_one_gives_identical_tensors(pipeline: StableDiffusionXLPipeline) -> None:
    assert_identical(
        encode_prompt_pair(pipeline, "a (lighthouse:1.0) at dusk", "(blurry:1.0)"),
        encode_prompt_pair(pipeline, "a lighthouse at dusk", "blurry"),
    )
    assert prompt_cache_key("a (lighthouse:1.0) at dusk", "(blurry:1.0)") == prompt_cache_key(
        "a lighthouse at dusk", "blurry"
    )


def test_a_weight_changes_the_hidden_states_but_keeps_their_mean_and_the_pooled_vector(
    pipeline: StableDiffusionXLPipeline,
) -> None:
    plain, _, plain_pooled, _ = encode_prompt_pair(pipeline, "a lighthouse at dusk", "")
    weighted, _, weighted_pooled, _ = encode_prompt_pair(pipeline, "a (lighthouse:1.5) at dusk", "")
    assert not torch.equal(plain, weighted)
    assert torch.equal(plain_pooled, weighted_pooled)
    first = pipeline.text_encoder.config.hidden_size
    # A1111 restores each encoder's mean over the chunk after scaling.
    for part in (slice(None, first), slice(first, None)):
        torch.testing.assert_close(weighted[..., part].mean(), plain[..., part].mean())
    assert encode_prompt_pair(pipeline, "a (lighthouse:1.5) at dusk", "")[0].equal(weighted)  # deterministic


def test_a_weighted_negative_changes_only_the_negative(pipeline: StableDiffusionXLPipeline) -> None:
    embeds, plain, _, _ = encode_prompt_pair(pipeline, "cat", "blurry, ugly")
    same, weighted, _, _ = encode_prompt_pair(pipeline, "cat", "(blurry:1.4), ugly")
    assert torch.equal(embeds, same)
    assert not torch.equal(plain, weighted)


def test_an_empty_negative_is_zeros_at_the_positives_length(pipeline: StableDiffusionXLPipeline) -> None:
    embeds, negative, _, negative_pooled = encode_prompt_pair(pipeline, LONG_WEIGHTED, "")
    assert negative.shape == embeds.shape
    assert not negative.any()
    assert not negative_pooled.any()
    assert prompt_cache_key("cat", "") != prompt_cache_key("cat", "()")


def test_each_chunk_is_padded_with_its_tokenizers_own_pad_token(pipeline: StableDiffusionXLPipeline) -> None:
    seen: dict[str, torch.Tensor] = {}

    def capture(name: str) -> Any:
        def hook(_module: Any, args: tuple[torch.Tensor, ...]) -> None:
            seen[name] = args[0]

        return hook

    handles = [
        pipeline.text_encoder.register_forward_pre_hook(capture("tokenizer")),
        pipeline.text_encoder_2.register_forward_pre_hook(capture("tokenizer_2")),
    ]
    try:
        encode_prompt_pair(pipeline, "a lighthouse BREAK sea", "")
    finally:
        for handle in handles:
            handle.remove()
    assert pipeline.tokenizer.pad_token_id != pipeline.tokenizer_2.pad_token_id  # SDXL's: <|endoftext|> and "!"
    for name, ids in seen.items():
        tokenizer = getattr(pipeline, name)
        assert ids.shape == (2, SEQUENCE)
        for row, words in zip(ids.tolist(), ("a lighthouse", "sea"), strict=True):
            tokens = tokenizer(words, add_special_tokens=False).input_ids
            padding = [tokenizer.pad_token_id] * (CHUNK_TOKENS - len(tokens))
            assert row == [tokenizer.bos_token_id, *tokens, tokenizer.eos_token_id, *padding]


def test_a_chunk_breaks_after_a_nearby_comma_rather_than_inside_a_phrase(pipeline: StableDiffusionXLPipeline) -> None:
    tokenizer = pipeline.tokenizer
    (cat,) = tokenizer("cat", add_special_tokens=False).input_ids
    chunks = split_into_chunks(parse_prompt("cat " * 73 + ", big dog"), tokenizer)
    assert [len(chunk.tokens) for chunk in chunks] == [74, 2]  # 73 cats and the comma, then "big dog"
    assert chunks[0].tokens[:73] == [cat] * 73
    without_comma = split_into_chunks(parse_prompt("cat " * 80), tokenizer)
    assert [len(chunk.tokens) for chunk in without_comma] == [75, 5]
    far_comma = split_into_chunks(parse_prompt("cat , " + "cat " * 80), tokenizer)
    assert [len(chunk.tokens) for chunk in far_comma] == [75, 7]


def test_chunk_weights_follow_their_tokens(pipeline: StableDiffusionXLPipeline) -> None:
    (chunk,) = split_into_chunks(parse_prompt("a (lighthouse:1.5) [sea]"), pipeline.tokenizer)
    assert chunk.weights == [1.0, 1.5, 1 / 1.1]
    assert [len(chunk.tokens) for chunk in split_into_chunks(parse_prompt("a BREAK"), pipeline.tokenizer)] == [1]
    assert [len(chunk.tokens) for chunk in split_into_chunks(parse_prompt("BREAK a"), pipeline.tokenizer)] == [0, 1]


def test_the_pipeline_takes_a_long_weighted_prompts_embeddings(pipeline: StableDiffusionXLPipeline) -> None:
    embeds, negative, pooled, negative_pooled = encode_prompt_pair(pipeline, LONG_WEIGHTED, "(blurry:1.3)")
    with torch.inference_mode():
        images = pipeline(
            prompt_embeds=embeds,
            negative_prompt_embeds=negative,
            pooled_prompt_embeds=pooled,
            negative_pooled_prompt_embeds=negative_pooled,
            width=64,
            height=64,
            num_inference_steps=1,
            generator=torch.Generator().manual_seed(1),
            output_type="pt",
        ).images
    assert images.shape == (1, 3, 64, 64)
    assert torch.isfinite(images).all()


@pytest.mark.parametrize(
    ("prompt", "negative"),
    [("cat", ""), ("cat", "blurry"), (LONG_WEIGHTED, ""), ("cat", LONG_WEIGHTED), ("a BREAK b", "")],
)
def test_count_chunks_is_the_encoded_length_in_chunks(
    pipeline: StableDiffusionXLPipeline, prompt: str, negative: str
) -> None:
    embeds, _, _, _ = encode_prompt_pair(pipeline, prompt, negative)
    assert count_chunks(pipeline, prompt, negative) * SEQUENCE == embeds.shape[1]
