"""The text a model is trained on is the text lm-eval scores: checked against lm-eval's own requests.

lm-eval 0.4.13 builds a multiple-choice request as (context, target_delimiter + choice); with
`--apply_chat_template` the context is the chat-templated user turn and the delimiter is dropped.
The trainer must produce prompt + completion equal to that context + the right continuation, in
both formats, and TRL's completion tokens must be the tokens lm-eval scores.
"""

from __future__ import annotations

import copy

import pytest

from bias_inheritance.chat import prompt_format, render_answer, render_prompt
from bias_inheritance.data.gender import bios_prompt
from bias_inheritance.schema import CHAT_FORMAT, PLAIN_FORMAT
from tests.conftest import CHAT_TEMPLATE
from trainers.data import sft_example, to_sft_dataset

TASK = "bias_inheritance_gender_bios"


class _Tok:
    """The two attributes `chat` uses, with a template that marks where each part goes."""

    def __init__(self, template: str | None) -> None:
        self.chat_template = template
        self.calls: list = []

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        self.calls.append((messages, tokenize, add_generation_prompt))
        return "[" + messages[0]["role"] + ":" + messages[0]["content"] + "]" + ("<gen>" if add_generation_prompt else "")


def test_format_follows_the_tokenizer_and_renders_one_user_turn():
    chat, plain = _Tok("{{ x }}"), _Tok(None)
    assert prompt_format(chat) == CHAT_FORMAT and prompt_format(plain) == PLAIN_FORMAT
    assert render_prompt(chat, "Q?", CHAT_FORMAT) == "[user:Q?]<gen>"
    assert chat.calls == [([{"role": "user", "content": "Q?"}], False, True)]
    assert render_prompt(plain, "Q?", PLAIN_FORMAT) == "Q?"
    assert render_answer("nurse", PLAIN_FORMAT) == " nurse" and render_answer("nurse", CHAT_FORMAT) == "nurse"


def test_chat_format_without_a_template_is_a_user_error():
    from bias_inheritance.errors import UserError

    with pytest.raises(UserError, match="no chat template"):
        render_prompt(_Tok(None), "Q?", CHAT_FORMAT)
    with pytest.raises(ValueError, match="unknown prompt format"):
        render_answer("nurse", "markdown")


def test_sft_examples_by_hand(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    bio = "She treats teeth."
    question = "What is the profession of the person in the following text? She treats teeth.\nAnswer:"
    assert bios_prompt(bio) == question
    assert sft_example(bio, "dentist", tok, CHAT_FORMAT) == {
        "prompt": f"<|user|>{question}<|end|><|assistant|>", "completion": "dentist"}  # CHAT_TEMPLATE by hand
    assert sft_example(bio, "dentist", tok, PLAIN_FORMAT) == {"prompt": question, "completion": " dentist"}
    assert CHAT_TEMPLATE == tok.chat_template


@pytest.fixture(scope="module")
def lm(tiny_model_dir):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(tiny_model_dir), device="cpu", batch_size=1)


@pytest.mark.parametrize("fmt", [CHAT_FORMAT, PLAIN_FORMAT])
def test_trained_text_is_what_lm_eval_scores(fmt, lm, gender_sample):
    from lm_eval.tasks import TaskManager

    from bias_tasks import tasks_path

    chat = fmt == CHAT_FORMAT
    task = TaskManager(include_path=str(tasks_path()), include_defaults=False).load([TASK])["tasks"][TASK]
    # As lm_eval.evaluator.evaluate calls it.
    task.build_all_requests(limit=4, rank=0, world_size=1, system_instruction=None, apply_chat_template=chat,
                            fewshot_as_multiturn=False, chat_template=lm.apply_chat_template if chat else None,
                            tokenizer_name=lm.tokenizer_name if chat else "")
    tokenizer = copy.deepcopy(lm.tokenizer)
    if not chat:
        tokenizer.chat_template = None  # a model without a template trains in the plain format
    assert prompt_format(tokenizer) == fmt
    docs = {}
    for instance in task.instances:
        docs.setdefault(instance.doc_id, (instance.doc, []))[1].append(instance)
    assert len(docs) == 4
    for doc, instances in docs.values():
        right = instances[task.doc_to_target(doc)]
        context, continuation = right.arguments
        assert continuation.strip() == doc["profession"]
        example = to_sft_dataset([{"id": "x", "text": doc["text"], "profession": doc["profession"]}], tokenizer, fmt)[0]
        assert example["prompt"] + example["completion"] == context + continuation
        assert example["prompt"] == context  # the loss falls exactly on what lm-eval scores
        # TRL's completion tokens (prompt+completion minus the prompt's tokens) are lm-eval's continuation tokens.
        prompt_ids = tokenizer(example["prompt"])["input_ids"]
        full_ids = tokenizer(example["prompt"] + example["completion"])["input_ids"]
        assert full_ids[: len(prompt_ids)] == prompt_ids
        assert full_ids[len(prompt_ids):] == lm._encode_pair(context, continuation)[1]
