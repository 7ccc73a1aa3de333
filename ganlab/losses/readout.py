"""How D's mean outputs are recorded and labelled: probabilities D(x), or a critic's raw scores.

No torch here: the CLI's tables and bars read these names too."""

from __future__ import annotations

# metrics.jsonl keys for D's mean output on a real and a generated batch, with their labels: mean
# probabilities D(x), D(G(z)) when sigmoid(D) is one, else the mean raw scores of a critic
PROBABILITY_KEYS = (("d_real", "D(x)"), ("d_fake", "D(G(z))"))
CRITIC_KEYS = (("critic_real", "C(x)"), ("critic_fake", "C(G(z))"))


def d_output_keys(d_is_probability: bool) -> tuple[tuple[str, str], tuple[str, str]]:
    """(key, label) for real and generated: which of the two pairs above a loss's runs record."""
    return PROBABILITY_KEYS if d_is_probability else CRITIC_KEYS


def d_output_keys_in(row: dict) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The pair a metrics row or summary holds, or None (a row without D outputs)."""
    for keys in (PROBABILITY_KEYS, CRITIC_KEYS):
        if all(k in row for k, _ in keys):
            return keys
    return None
