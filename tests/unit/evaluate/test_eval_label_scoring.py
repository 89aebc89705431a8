"""Label scoring picks the right label once tiny-random has learnt a trivial mapping."""
from __future__ import annotations

import torch

from honed.evaluate.label_search import score_labels
from honed.evaluate.perplexity import answer_perplexity
from honed.models.load import load_model

MAPPING = {"apple": "billing", "banana": "shipping", "cherry": "login", "damson": "billing_disputes"}
SYSTEM = "Route the ticket."


def conversation(word: str) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"ticket about {word}"}]


def train_mapping(model, tokenizer, steps: int = 150) -> float:
    """Plain torch: full-batch Adam on the answer tokens of each (prompt, label) pair."""
    rows, targets = [], []
    for word, label in MAPPING.items():
        prompt = tokenizer.apply_chat_template(conversation(word), tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template([*conversation(word), {"role": "assistant", "content": label}],
                                             tokenize=False)
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        a = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
        rows.append(p + a)
        targets.append([-100] * len(p) + a)
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    labels = torch.tensor([t + [-100] * (width - len(t)) for t in targets])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        if float(loss) < 0.02:
            break
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    return float(loss.detach())




def test_label_scoring_picks_the_learnt_label(one_thread):
    torch.manual_seed(0)
    model, tokenizer = load_model("tiny-random", seed=1)
    words, labels = list(MAPPING), sorted(set(MAPPING.values()))
    references = [MAPPING[w] for w in words]
    before_ppl = answer_perplexity(model, tokenizer, [conversation(w) for w in words], references)
    final_loss = train_mapping(model, tokenizer)
    assert final_loss < 0.1
    predicted = score_labels(model, tokenizer, [conversation(w) for w in words], labels, description="test")
    assert predicted == references  # includes "billing" vs "billing_disputes", a label that is a prefix of another
    after_ppl = answer_perplexity(model, tokenizer, [conversation(w) for w in words], references)
    assert after_ppl < before_ppl / 10 and after_ppl < 1.5
