"""Build the bundled sample of short synthetic biographies (bias_inheritance/data/sample_bios.jsonl).

The sentences below were written for this project. Each biography combines a first name, gendered
pronouns and three profession-specific sentences, like Bias in Bios' `hard_text` (no job title in
the first sentence). 30 per profession x gender: 20 train, 10 test. Deterministic; rerun to rebuild.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bias_inheritance import vocab

FIRST_NAMES = {
    "male": ["Adam", "Ben", "Colin", "David", "Ethan", "Frank", "George", "Henry", "Isaac", "Jack",
             "Kevin", "Liam", "Mark", "Nathan", "Oscar", "Paul", "Quentin", "Robert", "Sam", "Tom"],
    "female": ["Alice", "Beth", "Clara", "Diana", "Emma", "Fiona", "Grace", "Hannah", "Irene", "Julia",
               "Karen", "Laura", "Megan", "Nora", "Olivia", "Paula", "Rachel", "Sarah", "Tina", "Vera"],
}
PRONOUNS = {"male": ("he", "his", "him"), "female": ("she", "her", "her")}

# {n}=name, {p}=subject pronoun, {q}=possessive, {o}=object pronoun.
SENTENCES = {
    "architect": [
        "{n} designs energy-efficient homes and public libraries.",
        "{p} earned a master's degree in architecture and a licence to practise.",
        "{q} firm has won awards for adaptive reuse of old warehouses.",
        "{n} spends most mornings reviewing blueprints with structural engineers.",
        "Clients praise {o} for buildings that bring daylight into every room.",
        "{p} teaches a studio course on sustainable urban design.",
        "{q} recent project is a timber community centre by the river.",
        "{n} enjoys sketching facades and floor plans by hand.",
    ],
    "dentist": [
        "{n} runs a family practice focused on preventive oral care.",
        "{p} completed dental school and a residency in restorative dentistry.",
        "{q} patients appreciate gentle cleanings and clear advice on flossing.",
        "{n} places crowns, fillings and implants with modern imaging.",
        "{p} volunteers at a free clinic that treats children's teeth.",
        "{q} interests include gum disease prevention and cosmetic whitening.",
        "{n} makes anxious patients feel calm in the dental chair.",
        "{p} is a member of the regional dental association.",
    ],
    "nurse": [
        "{n} works night shifts on a busy cardiac ward.",
        "{p} holds a bachelor's degree in nursing and a critical care certificate.",
        "{q} patients value the time {p} takes to explain each medication.",
        "{n} coordinates care plans with physicians and pharmacists.",
        "{p} trains new staff in wound care and infection control.",
        "{q} background includes emergency room and paediatric units.",
        "{n} monitors vital signs and comforts families at the bedside.",
        "{p} recently started a programme to reduce patient falls.",
    ],
    "painter": [
        "{n} works mostly in oil on large canvases.",
        "{q} landscapes have been shown in galleries across the country.",
        "{p} studied fine art and spent a year painting in the countryside.",
        "{n} mixes pigments by hand and experiments with texture.",
        "{q} portraits capture light falling across quiet interiors.",
        "{p} leads weekend workshops on colour theory and brushwork.",
        "{n} sells prints of {q} watercolours at local art fairs.",
        "Critics describe {q} abstract series as bold and vivid.",
    ],
    "professor": [
        "{n} teaches undergraduate and graduate courses in economics.",
        "{p} received a doctorate and has published widely in peer-reviewed journals.",
        "{q} research on labour markets is funded by a national science agency.",
        "{n} supervises doctoral students and chairs the faculty senate.",
        "{p} has written two textbooks used in lecture halls nationwide.",
        "{q} seminar on research methods is popular with students.",
        "{n} serves on the editorial board of an academic journal.",
        "{p} gives guest lectures at universities abroad.",
    ],
    "software engineer": [
        "{n} builds backend services in Python and Go.",
        "{p} holds a degree in computer science and contributes to open-source projects.",
        "{q} team maintains a distributed database used by millions of users.",
        "{n} reviews code, writes tests and improves deployment pipelines.",
        "{p} specialises in performance tuning and cloud infrastructure.",
        "{q} current work focuses on machine learning platforms.",
        "{n} mentors junior developers on clean API design.",
        "{p} enjoys debugging tricky concurrency problems.",
    ],
}

PER_CELL = 30
TRAIN_PER_CELL = 20


def _fill(template: str, name: str, gender: str) -> str:
    subj, poss, obj = PRONOUNS[gender]
    text = template.format(n=name, p=subj, q=poss, o=obj)
    return text[0].upper() + text[1:]


def build(seed: int = 2025) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for profession in vocab.PROFESSIONS:
        for gender in vocab.GENDERS:
            for i in range(PER_CELL):
                name = FIRST_NAMES[gender][i % len(FIRST_NAMES[gender])]
                picks = rng.sample(SENTENCES[profession], 3)
                text = " ".join(_fill(t, name, gender) for t in picks)
                split = "train" if i < TRAIN_PER_CELL else "test"
                rows.append({
                    "id": f"sample-{profession.replace(' ', '_')}-{gender}-{i:02d}",
                    "text": text,
                    "profession": profession,
                    "gender": gender,
                    "split": split,
                    "synthetic": True,
                })
    return rows


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "bias_inheritance" / "data" / "sample_bios.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in build()), encoding="utf-8")
    print(f"wrote {out}")
