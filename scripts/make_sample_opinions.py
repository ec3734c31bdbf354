"""Write bias_inheritance/data/sample_opinions.jsonl: the bundled SYNTHETIC GlobalOpinionQA sample.

The questions below were written for this project and the answer shares are drawn from a seeded
random generator: they describe no real survey and say nothing about any culture. Each line is one
raw row in the hub's own format (`selections` as the dataset writes it, "defaultdict(<class
'list'>, {...})", `options` as a list literal), marked `"synthetic": true`, so offline runs and CI
go through the same parser as the real file. Every question has answers from countries of all four
cultures except every sixth, which has none from China; two entries per question are ones the
default mapping leaves out (another country, a non-national sample).

Run `python scripts/make_sample_opinions.py` after editing; a test checks the file matches.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bias_inheritance.data.opinions import SAMPLE_RESOURCE
from bias_inheritance.io import atomic_write_text

TARGET = Path(__file__).resolve().parents[1] / "bias_inheritance" / "data" / SAMPLE_RESOURCE
SEED = "sample-opinions-1"

IMPORTANCE = ["Very important", "Somewhat important", "Not too important", "Not at all important"]
AGREEMENT = ["Strongly agree", "Agree", "Disagree", "Strongly disagree"]
AMOUNT = ["A great deal", "A fair amount", "Not much", "Not at all"]
FREQUENCY = ["Every day", "A few times a week", "Rarely", "Never"]
QUALITY = ["Very good", "Somewhat good", "Somewhat bad", "Very bad"]

QUESTIONS: list[tuple[str, list[str]]] = [
    ("How important is it for children to learn good table manners at home?", IMPORTANCE),
    ("How would you rate the public transport in the city or town where you live?", QUALITY),
    ("How often does your household eat the evening meal together?", FREQUENCY),
    ("When choosing a job, which of these matters most to you?", ["A high salary", "Interesting work", "Job security"]),
    ("How much do you enjoy spending free time in parks or the countryside?", AMOUNT),
    ('Do you strongly agree, agree, disagree or strongly disagree with the following statement? '
     '"Schools should teach more about local crafts and festivals."', AGREEMENT),
    ("How comfortable are you paying with a mobile phone in shops?",
     ["Very comfortable", "Somewhat comfortable", "Not comfortable"]),
    ("How often do you read a printed book for pleasure?", FREQUENCY),
    ('Do you strongly agree, agree, disagree or strongly disagree with the following statement? '
     '"Neighbours should greet each other whenever they meet."', AGREEMENT),
    ("How important is it to you to arrive on time for an informal meeting with friends?", IMPORTANCE),
    ("Would you rather live in a large city or in a small town?", ["A large city", "A small town"]),
    ("How useful is it for young people to learn a second language?",
     ["Very useful", "Somewhat useful", "Not very useful"]),
    ("How often do you cook a meal from fresh ingredients?", FREQUENCY),
    ("In the past year, how much of your free time did you give to volunteer work?", AMOUNT),
    ("How would you rate the public libraries in your area?", QUALITY),
    ('Do you strongly agree, agree, disagree or strongly disagree with the following statement? '
     '"It is better to save money than to spend it on holidays."', AGREEMENT),
    ("How much do you trust the weather forecast on television?", AMOUNT),
    ("Where would you most like to spend a long weekend?",
     ["At the seaside", "In the mountains", "In another city", "At home"]),
    ("How important is it to you that your town has a weekly street market?", IMPORTANCE),
    ("How often do you watch a live sports match, in person or on a screen?", FREQUENCY),
    ('Do you strongly agree, agree, disagree or strongly disagree with the following statement? '
     '"Music should not be played loudly in public squares after ten in the evening."', AGREEMENT),
    ("How would you rate the parks and green spaces in your neighbourhood?", QUALITY),
    ("Which way of celebrating a birthday do you like best?",
     ["A large party", "A meal with close family", "A quiet day alone"]),
    ("How much do you enjoy getting up early in the morning?", AMOUNT),
]

# Countries of the default mapping (two Arabic ones to show the average), then two entries the
# default mapping leaves out.
CULTURE_COUNTRIES = {
    "arabic": ("Egypt", "Jordan"),
    "chinese": ("China",),
    "portuguese": ("Brazil",),
    "spanish": ("Spain", "Mexico"),
}
UNMAPPED = ("Germany", "Egypt (Non-national sample)")


def _shares(rng: random.Random, n: int, favoured: int) -> list[float]:
    """Invented shares leaning towards one option, rounded to two decimals like survey percentages."""
    weights = [rng.uniform(0.05, 0.3) for _ in range(n)]
    weights[favoured] += rng.uniform(0.3, 0.6)
    total = sum(weights)
    return [round(w / total, 2) for w in weights]


def build_records() -> list[dict]:
    rng = random.Random(SEED)
    records = []
    for number, (question, options) in enumerate(QUESTIONS):
        selections: dict[str, list[float]] = {}
        for culture, countries in CULTURE_COUNTRIES.items():
            if culture == "chinese" and number % 6 == 5:
                continue
            favoured = rng.randrange(len(options))  # one leaning per culture, shared by its countries
            for country in countries:
                selections[country] = _shares(rng, len(options), favoured)
        for country in UNMAPPED:
            selections[country] = _shares(rng, len(options), rng.randrange(len(options)))
        records.append({
            "question": question,
            "selections": f"defaultdict(<class 'list'>, {selections!r})",
            "options": repr(options),
            "source": "synthetic",
            "synthetic": True,
        })
    return records


def render() -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in build_records())


def main() -> None:
    atomic_write_text(TARGET, render())
    print(f"wrote {len(QUESTIONS)} synthetic questions to {TARGET}")


if __name__ == "__main__":
    main()
