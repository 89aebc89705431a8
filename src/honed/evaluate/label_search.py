"""The most likely label of each prompt by an exact best-first search over the label trie.

A label's log-likelihood is a sum of log-probabilities, each ≤ 0, so a partly scored label can only lose
score as its remaining tokens are added. Once some complete label scores higher than every unfinished trie
node, no unfinished label can beat it: the rest of the trie need not run through the model. The answer is
the same argmax as scoring every label in full (`honed.evaluate.generate.label_scores`), and the winner's
score is exact; a model that is sure of its answer (a fine-tune, a few-shot prompt) runs a handful of label
tokens per example instead of the whole trie.

Each round runs, for a batch of examples, the next trie nodes worth expanding (the best few per example, each
followed by its single-child chain) in one forward over a growing cache: the shared prefix, every example's
prompt, and the nodes already run. A mask lets each token see the prefix, its example's prompt and its own
ancestors only, and its position continues along its path, so every log-probability equals the plain one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from honed.core.progress import make_progress
from honed.evaluate.generate import LabelTrie, label_inputs

EXPAND_PER_ROUND = 2  # best unfinished nodes per example per round: fewer rounds vs fewer wasted tokens


def score_labels(model, tokenizer, conversations: list[list[dict]], labels: list[str], *,
                 description: str, batch_size: int = 8) -> list[str]:
    """For each conversation, the label with the highest total log-likelihood as the assistant's answer."""
    winners, _ = best_labels(model, tokenizer, conversations, labels, description=description, batch_size=batch_size)
    return [labels[i] for i in winners]


def best_labels(model, tokenizer, conversations: list[list[dict]], labels: list[str], *, description: str = "",
                batch_size: int = 8) -> tuple[list[int], list[float]]:
    """(index of the best label, its log P(label + end of turn | prompt)) for every conversation."""
    import torch

    model.eval()
    trie, token_lists, prefix = label_inputs(model, tokenizer, conversations, labels)
    winners, scores = [], []
    with make_progress() as progress, torch.inference_mode():
        task = progress.add_task(description, total=len(token_lists), info=f"label search, {trie.size}-token trie")
        for start in range(0, len(token_lists), batch_size):
            chunk = token_lists[start:start + batch_size]
            for search in _search_chunk(model, prefix, chunk, trie):
                winners.append(search.winner)
                scores.append(search.best)
            progress.advance(task, len(chunk))
    return winners, scores


@dataclass
class _Search:
    """One example's search state: scores of the trie nodes whose token has been predicted."""

    trie: LabelTrie
    scores: dict[int, float] = field(default_factory=dict)  # node -> log P(path to and including the node)
    expanded: dict[int, int] = field(default_factory=dict)  # node -> its packed position in the cache
    prompt_end: int = -1  # packed position of the prompt's last token
    prompt_length: int = 0
    best: float = float("-inf")
    winner: int = -1

    def predict(self, parent: int, log_probs) -> None:
        """Score `parent`'s children (parent -1: the first label tokens) from the distribution after it."""
        base = self.scores[parent] if parent >= 0 else 0.0
        for child in self.trie.children.get(parent, []):
            self.scores[child] = base + float(log_probs[self.trie.tokens[child]])
        for label, path in enumerate(self.trie.paths):
            final = path[-1]
            if final in self.scores and (self.scores[final] > self.best
                                         or (self.scores[final] == self.best and label < self.winner)):
                self.best, self.winner = self.scores[final], label

    def to_expand(self, limit: int) -> list[list[int]]:
        """Up to `limit` chains of nodes to run next: the best unfinished nodes that could still win, each
        with its descendants while they have a single child (likely to be needed next)."""
        open_nodes = [n for n, s in self.scores.items()
                      if n not in self.expanded and self.trie.children.get(n) and s > self.best]
        open_nodes.sort(key=lambda n: -self.scores[n])
        chains = []
        for node in open_nodes[:limit]:
            chain = [node]
            while len(self.trie.children.get(chain[-1], [])) == 1 and self.trie.children.get(
                    self.trie.children[chain[-1]][0]):
                chain.append(self.trie.children[chain[-1]][0])
            chains.append(chain)
        return chains


def _search_chunk(model, prefix, chunk: list[list[int]], trie: LabelTrie) -> list[_Search]:
    """Best-first search for a few prompts at once; the prefix cache is cropped back afterwards."""
    from transformers import DynamicCache

    skip = len(prefix.ids) if prefix is not None else 0
    cache = prefix.cache if prefix is not None else DynamicCache(config=model.config)
    packed = _PackedRow(skip)
    searches = [_Search(trie) for _ in chunk]
    try:
        rows = []
        for search, ids in zip(searches, chunk):
            rows += packed.plan_prompt(search, ids[skip:])
        while rows:
            packed.run(model, cache, rows)
            rows = [row for search in searches for chain in search.to_expand(EXPAND_PER_ROUND)
                    for row in packed.plan_chain(search, chain)]
        return searches
    finally:
        cache.crop(-packed.size)  # back to the prefix alone (a negative count removes that many tokens)


class _PackedRow:
    """The tokens appended to the cache after the prefix, as one packed row, and who each may attend to.
    A planned row is (token, parent's packed position or -1, position id, (search, node) to score after it)."""

    def __init__(self, skip: int):
        self.skip, self.size = skip, 0
        self.sees: list[list[int]] = []  # packed position -> packed positions it attends to (itself included)

    def plan_prompt(self, search: _Search, own: list[int]) -> list[tuple]:
        first = self.size
        rows = [(token, first + j - 1 if j else -1, self.skip + j, None) for j, token in enumerate(own)]
        rows[-1] = (*rows[-1][:3], (search, -1))  # the first label tokens are predicted after the prompt
        search.prompt_end, search.prompt_length = first + len(own) - 1, len(own)
        self.size += len(own)
        return rows

    def plan_chain(self, search: _Search, chain: list[int]) -> list[tuple]:
        parent_node = search.trie.parents[chain[0]]
        parent_at = search.expanded[parent_node] if parent_node >= 0 else search.prompt_end
        rows = []
        for node in chain:
            search.expanded[node] = self.size
            position = self.skip + search.prompt_length + search.trie.depths[node]
            rows.append((search.trie.tokens[node], parent_at, position, (search, node)))
            parent_at = self.size
            self.size += 1
        return rows

    def run(self, model, cache, rows: list[tuple]) -> None:
        """One forward of the planned rows; then each search scores the children of the nodes it asked for."""
        import torch

        device = model.device
        begin = len(self.sees)
        for i, (_, parent, _, _) in enumerate(rows):
            self.sees.append((self.sees[parent] if parent >= 0 else []) + [begin + i])
        mask = torch.zeros(len(rows), self.skip + begin + len(rows), dtype=torch.bool, device=device)
        mask[:, :self.skip] = True
        row_index = [i for i in range(len(rows)) for _ in self.sees[begin + i]]
        columns = [self.skip + p for i in range(len(rows)) for p in self.sees[begin + i]]
        mask[torch.tensor(row_index, device=device), torch.tensor(columns, device=device)] = True
        wanted = [i for i, row in enumerate(rows) if row[3] is not None]
        out = model(input_ids=torch.tensor([[row[0] for row in rows]], device=device),
                    position_ids=torch.tensor([[row[2] for row in rows]], device=device),
                    attention_mask=mask[None, None], past_key_values=cache, use_cache=True,
                    logits_to_keep=torch.tensor(wanted, device=device))
        log_probs = torch.log_softmax(out.logits[0].float(), -1).cpu()
        for k, i in enumerate(wanted):
            search, node = rows[i][3]
            search.predict(node, log_probs[k])
