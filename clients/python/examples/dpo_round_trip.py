"""The round trip a team runs, end to end, in a minute on a CPU:

1. generate response pairs (here: templated answers, a careful one and a sloppy one);
2. send them to Arbiter for judgement;
3. judge them — here three simulated annotators through the client, in practice
   people in the browser;
4. export the judgements as a TRL ``DatasetDict``;
5. one DPO step with TRL on a tiny, randomly initialised causal language model and a
   tokenizer built on the spot from the exported text (nothing is downloaded).

It proves that what Arbiter exports is what ``trl.DPOTrainer`` reads. Run it against
a server where ``ARBITER_TOKEN`` is an admin's token:

    pip install -r clients/python/requirements-examples.txt ./clients/python
    arbiter serve --demo &            # prints the admin token
    ARBITER_URL=http://127.0.0.1:8080 ARBITER_TOKEN=arb_… python clients/python/examples/dpo_round_trip.py
"""

from __future__ import annotations

import copy
import random
import sys
import tempfile
import time

from arbiter_rlhf import Arbiter

PAIRS = 60
TOPICS = ["tides", "rainbows", "vaccines", "compilers", "glaciers", "photosynthesis", "inflation", "volcanoes"]


def generate_pairs(run: str) -> list[dict[str, str]]:
    """What a team would get from vLLM or an API: one prompt, two candidate answers."""
    randomness = random.Random(1)
    rows = []
    for index in range(PAIRS):
        topic = TOPICS[index % len(TOPICS)]
        careful = f"{topic.capitalize()} are explained step by step: the cause, the effect, and an example you can check."
        sloppy = f"idk, {topic} just happen."
        swap = randomness.random() < 0.5
        rows.append(
            {
                "id": f"{run}-{index}",
                "prompt": f"Explain {topic} to a curious ten-year-old (question {index}).",
                "response_a": sloppy if swap else careful,
                "response_b": careful if swap else sloppy,
                "model_a": "sloppy-model" if swap else "careful-model",
                "model_b": "careful-model" if swap else "sloppy-model",
            }
        )
    return rows


def judge(client: Arbiter, project_id: int, run: str) -> int:
    """Three simulated annotators, 95% careful, judging whatever the server leases them."""
    randomness = random.Random(2)
    judged = 0
    for number in range(3):
        annotator = client.users.create(f"{run}-annotator-{number}")
        with client.as_user(annotator.token) as session:
            project = session.projects.get(project_id)
            while (task := project.next()) is not None:
                careful = "left" if "step by step" in (task.left or "") else "right"
                sloppy = "right" if careful == "left" else "left"
                task.submit(careful if randomness.random() < 0.95 else sloppy, duration_ms=5000)
                judged += 1
    return judged


def dpo_step(dataset: object) -> tuple[float, bool]:
    """One DPO step on a tiny model built from a config (no weights downloaded): the
    loss (log 2 on the first step, where the policy is its reference) and whether the
    step changed the policy's weights."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' renames, not ours
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from trl import DPOConfig, DPOTrainer

    train = dataset["train"]  # type: ignore[index]
    texts = list(train["prompt"]) + list(train["chosen"]) + list(train["rejected"])
    word_level = Tokenizer(models.WordLevel(unk_token="<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    word_level.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["<unk>", "<pad>", "<s>", "</s>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=word_level, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>")

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    reference = copy.deepcopy(model)  # DPO's frozen reference: the policy as it starts
    with tempfile.TemporaryDirectory() as output:
        args = DPOConfig(
            output_dir=output,
            max_steps=1,
            per_device_train_batch_size=4,
            learning_rate=1e-3,
            logging_steps=1,
            report_to=[],
            save_strategy="no",
            use_cpu=True,
            seed=0,
        )
        # Only the DPO columns: label_source and margin stay in the export for people.
        columns = [name for name in train.column_names if name not in ("prompt", "chosen", "rejected")]
        trainer = DPOTrainer(model=model, ref_model=reference, args=args, train_dataset=train.remove_columns(columns), processing_class=tokenizer)
        result = trainer.train()
    moved = any(not torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters()))
    return float(result.training_loss), moved


def main() -> int:
    started = time.monotonic()
    run = f"dpo-{int(time.time())}"
    with Arbiter(timeout=120) as client:
        project = client.projects.create(f"DPO round trip {run}", overlap=3, gold_rate=0, repeat_rate=0)
        report = project.add_pairs(generate_pairs(run), progress=False)
        print(f"imported {report.imported} pairs into project {project.id}")
        print(f"judged {judge(client, project.id, run)} times by 3 annotators")
        dataset = project.export("trl", test_fraction=0.2, seed=1, margin=True, progress=False)
        print(dataset)
        counts = dataset.manifest["counts"]
        print(f"exported {counts['pairs_exported']} pairs ({counts['label_sources']})")
        careful = sum("step by step" in chosen for chosen in dataset["train"]["chosen"])
        print(f"careful answer chosen in {careful} of {dataset['train'].num_rows} training rows")
        loss, moved = dpo_step(dataset)
        print(f"one DPO step: loss {loss:.4f} (log 2 = 0.6931 where the policy is its reference); weights changed: {moved}")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0 if counts["pairs_exported"] == PAIRS and moved and abs(loss - 0.6931) < 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())
