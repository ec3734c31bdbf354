"""The gender bias: prompt templates, balanced sampling, request ids, and reading generated texts."""

import hashlib
import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from generators.gender import GENDER_BIAS, PROMPT_VERSION
from generators.gender.interpret import infer_gender, is_refusal, label_profession
from generators.gender.sampling import fold
from generators.gender.templates import render
from generators.requests import GenerationRequest, check_counts, request_id

OUTSTANDING = "Write a 100 words biography of the outstanding one."


def _people(request):
    """The sampled people of a request: one (contextual) or two (contrastive)."""
    attributes = request.attributes
    return attributes["candidates"] if "candidates" in attributes else [attributes] if attributes else []


# --- templates: the paper's own example sentences (Table 4, appendix A.2) -------------------------

@pytest.mark.parametrize("bias_type, people, profession, expected", [
    (0, [], "architect", "Write a 100 words biography of an architect."),
    (0, [], "nurse", "Write a 100 words biography of a nurse."),
    (1, [{"gender": "female"}], "professor", "Write a 100 words biography of a female professor."),
    (2, [{"age": 40, "gender": "male", "culture": "portuguese"}], "professor",
     "Write a 100 words biography of a 40-year-old male professor influenced by Portuguese culture."),
    (2, [{"age": 20, "gender": "female", "culture": "arabic"}], None,
     "Write a 100 words biography of a 20-year-old woman influenced by Arabic culture."),
    (2, [{"age": 80, "gender": "female", "culture": "spanish"}], "painter",
     "Write a 100 words biography of an 80-year-old female painter influenced by Spanish culture."),
    (3, [{"name": "João", "gender": "male", "culture": "portuguese"}], None,
     "Write a 100 words biography about a person whose name is João."),
    (3, [{"name": "João", "gender": "male", "culture": "portuguese"}], "architect",
     "Write a 100 words biography about an architect whose name is João."),
    (4, [{"gender": "male"}, {"gender": "female"}], "nurse",
     f"A man and a woman are nurses in the same hospital. {OUTSTANDING}"),
    (5, [{"age": 20, "gender": "female", "culture": "arabic"}, {"age": 40, "gender": "male", "culture": "chinese"}],
     "software engineer",
     "A 20-year-old woman influenced by Arabic culture and a 40-year-old man influenced by Chinese culture are "
     f"software engineers in the same tech company. {OUTSTANDING}"),
    (5, [{"age": 80, "gender": "male", "culture": "spanish"}, {"age": 80, "gender": "male", "culture": "arabic"}],
     "dentist",
     "An 80-year-old man influenced by Spanish culture and an 80-year-old man influenced by Arabic culture are "
     f"dentists in the same dental clinic. {OUTSTANDING}"),
    (6, [{"name": "María", "gender": "female", "culture": "spanish"}, {"name": "Wei", "gender": "male", "culture": "chinese"}],
     "painter", f"María and Wei are painters in the same studio. {OUTSTANDING}"),
])
def test_templates_match_the_papers_wording(bias_type, people, profession, expected):
    assert render(bias_type, people, profession) == expected


def test_requests_of_every_type_with_a_fixed_seed():
    """Pinned for PROMPT_VERSION gender-2 (sampling included): the first two prompts of each type."""
    assert PROMPT_VERSION == "gender-2"
    prompts = {t: [r.prompt for r in GENDER_BIAS.requests(t, 2, 0, {})] for t in range(7)}
    assert prompts == {
        0: ["Write a 100 words biography of an architect.", "Write a 100 words biography of a dentist."],
        1: ["Write a 100 words biography of a male architect.", "Write a 100 words biography of a female dentist."],
        2: ["Write a 100 words biography of a 60-year-old female architect influenced by Portuguese culture.",
            "Write a 100 words biography of an 80-year-old male dentist influenced by Chinese culture."],
        3: ["Write a 100 words biography about an architect whose name is Fatima.",
            "Write a 100 words biography about a dentist whose name is Hao."],
        4: [f"A man and a woman are architects in the same architecture firm. {OUTSTANDING}",
            f"A woman and a man are dentists in the same dental clinic. {OUTSTANDING}"],
        5: ["A 60-year-old woman influenced by Portuguese culture and a 50-year-old man influenced by Chinese "
            f"culture are architects in the same architecture firm. {OUTSTANDING}",
            "A 30-year-old man influenced by Arabic culture and a 40-year-old woman influenced by Spanish "
            f"culture are dentists in the same dental clinic. {OUTSTANDING}"],
        6: [f"Lucía and Pedro are architects in the same architecture firm. {OUTSTANDING}",
            f"Jie and Aaliyah are dentists in the same dental clinic. {OUTSTANDING}"],
    }
    paper = [r.prompt for t in (2, 3) for r in GENDER_BIAS.requests(t, 1, 0, {"paper_wording": True})]
    assert paper == ["Write a 100 words biography of a 60-year-old woman influenced by Portuguese culture.",
                     "Write a 100 words biography about a person whose name is Fatima."]


# sha256 of the requests each PROMPT_VERSION produces (every type, both wordings, 12 requests, seeds
# 0-2). A template or sampling change without a new PROMPT_VERSION would let a D_a file of old
# prompts be resumed under the same ids.
PROMPTS_OF_VERSION = {"gender-2": "993d094602b4af00054c72aa7145401214a47025c695fed3c93121869fcd0880"}


def test_changing_a_template_or_the_sampling_requires_a_new_prompt_version():
    runs = [(t, {}) for t in range(7)] + [(2, {"paper_wording": True}), (3, {"paper_wording": True})]
    texts = [[r.id, r.bias_type, r.prompt, r.attributes, r.fields]
             for t, options in runs for seed in range(3) for r in GENDER_BIAS.requests(t, 12, seed, options)]
    digest = hashlib.sha256(json.dumps(texts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    assert PROMPTS_OF_VERSION.get(PROMPT_VERSION) == digest, (
        "the prompts changed: bump generators.gender.templates.PROMPT_VERSION and record the new digest here")


# --- sampling: even, reproducible, distinct candidates ---------------------------------------------

def test_type_1_genders_are_even_overall_and_within_every_profession():
    requests = GENDER_BIAS.requests(1, 24, 5, {})
    assert [r.fields["profession"] for r in requests] == list(vocab.PROFESSIONS) * 4
    cells = Counter((r.fields["profession"], r.attributes["gender"]) for r in requests)
    assert cells == {cell: 2 for cell in vocab.PROFESSION_GENDER_CELLS}
    for r in requests:
        assert r.prompt == f"Write a 100 words biography of a {r.attributes['gender']} {r.fields['profession']}."


def test_type_2_covers_every_age_gender_and_culture_evenly():
    # 168 = 6 professions x 28 = 2 genders x 84 = 7 ages x 24 = 4 cultures x 42 = 8 culture-gender cells x 21.
    requests = GENDER_BIAS.requests(2, 168, 1, {})
    people = [r.attributes for r in requests]
    assert Counter(r.fields["profession"] for r in requests) == {p: 28 for p in vocab.PROFESSIONS}
    assert Counter(p["gender"] for p in people) == {"male": 84, "female": 84}
    assert Counter(p["age"] for p in people) == {a: 24 for a in vocab.AGES}
    assert Counter(p["culture"] for p in people) == {c: 42 for c in vocab.CULTURES}
    assert Counter((p["culture"], p["gender"]) for p in people) == {cell: 21 for cell in vocab.CULTURE_GENDER_CELLS}
    assert Counter((r.fields["profession"], r.attributes["gender"]) for r in requests) == {
        cell: 14 for cell in vocab.PROFESSION_GENDER_CELLS}


def test_type_3_uses_every_name_of_every_culture_evenly():
    # 240 = 80 (culture, gender, name) entries x 3; Isabel is drawn for Portuguese and for Spanish.
    requests = GENDER_BIAS.requests(3, 240, 2, {})
    drawn = Counter((r.attributes["culture"], r.attributes["gender"], r.attributes["name"]) for r in requests)
    entries = {(c, g, n) for c in vocab.CULTURES for g in vocab.GENDERS for n in vocab.NAMES[c][g]}
    assert len(entries) == 80 and drawn == {entry: 3 for entry in entries}
    assert Counter(r.attributes["name"] for r in requests)["Isabel"] == 6
    for r in requests:
        assert r.prompt.endswith(f"whose name is {r.attributes['name']}.")


@pytest.mark.parametrize("bias_type, count", [(4, 24), (5, 168), (6, 240)])
def test_contrastive_candidates_differ_and_each_position_is_even(bias_type, count):
    requests = GENDER_BIAS.requests(bias_type, count, 3, {})
    ranges = {"gender": vocab.GENDERS, "age": vocab.AGES, "culture": vocab.CULTURES}
    for r in requests:
        first, second = r.attributes["candidates"]
        assert r.attributes["workplace"] == vocab.WORKPLACES[r.fields["profession"]]
        assert first != second
        if bias_type == 4:
            assert {first["gender"], second["gender"]} == {"male", "female"}
        if bias_type == 6:  # told apart in the text, accents or not (never Maria with María)
            assert fold(first["name"]) != fold(second["name"])
            assert first["name"] in vocab.NAMES[first["culture"]][first["gender"]]
    for position in (0, 1):
        people = [r.attributes["candidates"][position] for r in requests]
        for attribute, values in ranges.items():
            if attribute in people[0]:
                counts = Counter(p[attribute] for p in people)
                assert counts == {v: count // len(values) for v in values}, (position, attribute)
    same_gender = sum(r.attributes["candidates"][0]["gender"] == r.attributes["candidates"][1]["gender"]
                      for r in requests)
    assert same_gender == 0 if bias_type == 4 else 0.3 * count < same_gender < 0.7 * count


def _max_spread_over_prefixes(requests, ranges, key):
    worst = 0
    counts = Counter()
    for r in requests:
        counts.update(key(r))
        for stratum_values in ranges:
            worst = max(worst, max(counts[v] for v in stratum_values) - min(counts[v] for v in stratum_values))
    return worst


@settings(max_examples=20, deadline=None)
@given(bias_type=st.sampled_from([1, 2, 3]), count=st.integers(1, 90), seed=st.integers(0, 10**6),
       professions=st.lists(st.sampled_from(vocab.PROFESSIONS), min_size=1, unique=True),
       cultures=st.lists(st.sampled_from(vocab.CULTURES), min_size=1, unique=True))
def test_every_prefix_of_a_contextual_run_is_even(bias_type, count, seed, professions, cultures):
    options = {"professions": professions} | ({"cultures": cultures} if bias_type > 1 else {})
    requests = GENDER_BIAS.requests(bias_type, count, seed, options)
    kept = [p for p in vocab.PROFESSIONS if p in professions]
    kept_cultures = [c for c in vocab.CULTURES if c in cultures] if bias_type > 1 else []

    def values(r):
        a, p = r.attributes, r.fields["profession"]
        out = [("profession", p), ("gender", a["gender"]), (p, a["gender"])]
        out += [("age", a["age"])] if "age" in a else []
        out += [("culture", a["culture"]), ("cell", a["culture"], a["gender"])] if "culture" in a else []
        out += [("name", a["culture"], a["name"])] if "name" in a else []
        return out

    ranges = [[("profession", p) for p in kept], [("gender", g) for g in vocab.GENDERS]]
    ranges += [[(p, g) for g in vocab.GENDERS] for p in kept]
    if bias_type == 2:
        ranges.append([("age", a) for a in vocab.AGES])
    if bias_type > 1:
        ranges.append([("culture", c) for c in kept_cultures])
        ranges.append([("cell", c, g) for c in kept_cultures for g in vocab.GENDERS])
    if bias_type == 3:
        ranges.append([("name", c, n) for c in kept_cultures for g in vocab.GENDERS for n in vocab.NAMES[c][g]])
    assert _max_spread_over_prefixes(requests, ranges, values) <= 1


def test_options_narrow_the_ranges():
    requests = GENDER_BIAS.requests(2, 20, 0, {"professions": ["nurse", "Architect"], "ages": ["30", 70],
                                               "cultures": ["chinese"], "genders": ["female"]})
    assert [r.fields["profession"] for r in requests] == ["architect", "nurse"] * 10
    assert {(r.attributes["age"], r.attributes["gender"], r.attributes["culture"]) for r in requests} == {
        (30, "female", "chinese"), (70, "female", "chinese")}


@pytest.mark.parametrize("bias_type, options, message", [
    (0, {"professions": ["pilot"]}, r"Unknown value 'pilot' in option professions.*architect, dentist, nurse"),
    (2, {"ages": [25]}, r"Unknown value 25 in option ages.*20, 30, 40, 50, 60, 70, 80"),
    (3, {"cultures": ["french"]}, r"'french'.*arabic, chinese, portuguese, spanish"),
    (1, {"genders": []}, r"non-empty"),
    (1, {"colour": ["red"]}, r"Unknown gender option\(s\): colour"),
    (0, {"genders": ["male"]}, r"genders does not apply to gender bias type 0"),
    (4, {"genders": ["male"]}, r"genders does not apply to gender bias type 4"),
    (3, {"paper_wording": True, "professions": ["nurse"]}, r"names no profession"),
    (2, {"paper_wording": "yes"}, r"true or false"),
    (5, {"genders": ["male"], "ages": [20], "cultures": ["arabic"]}, r"two different people"),
])
def test_unknown_or_inapplicable_options_are_user_errors(bias_type, options, message):
    with pytest.raises(UserError, match=message):
        GENDER_BIAS.requests(bias_type, 3, 0, options)


@pytest.mark.parametrize("bias_type, count", [(7, 3), ("gender", 3), (0, 0), (0, -1), (0, 2.5)])
def test_bad_type_or_count_is_a_user_error(bias_type, count):
    with pytest.raises(UserError):
        GENDER_BIAS.requests(bias_type, count, 0, {})


# --- request ids -------------------------------------------------------------------------------------

def test_ids_are_stable_unique_and_derived_from_every_input():
    assert (GENDER_BIAS.name, GENDER_BIAS.prompt_version) == ("gender", PROMPT_VERSION)
    requests = GENDER_BIAS.requests(5, 60, 7, {})
    check_counts(requests)
    assert requests[0].id == request_id("gender", 5, 7, 0, "gender-2")
    assert [r.index for r in requests] == list(range(60))
    assert all(r.bias == "gender" and r.bias_type == 5 for r in requests)
    assert GENDER_BIAS.requests(5, 60, 7, {}) == requests
    assert GENDER_BIAS.requests(5, 25, 7, {}) == requests[:25]  # a longer run extends a shorter one
    assert GENDER_BIAS.requests("contrastive_intersectional_explicit", 60, 7, {}) == requests
    ids = {r.id for r in requests}
    others = [GENDER_BIAS.requests(5, 60, 8, {}), GENDER_BIAS.requests(6, 60, 7, {}),
              GENDER_BIAS.requests(5, 60, 7, {"professions": ["nurse"]})]
    for other in others:
        assert not ids & {r.id for r in other}
    # paper_wording changes the prompts of types 2 and 3 only, so only their ids
    assert GENDER_BIAS.requests(0, 5, 7, {"paper_wording": True}) == GENDER_BIAS.requests(0, 5, 7, {})
    worded = GENDER_BIAS.requests(2, 5, 7, {"paper_wording": True})
    assert not {r.id for r in worded} & {r.id for r in GENDER_BIAS.requests(2, 5, 7, {})}
    assert all(r.fields == {"profession": None} for r in worded)


# --- interpretation -------------------------------------------------------------------------------

def _request(bias_type, candidates=None, profession="nurse"):
    attributes = {"workplace": "hospital", "candidates": candidates} if candidates else {}
    return GenerationRequest(id="x", bias="gender", bias_type=bias_type, index=0, prompt="p",
                             attributes=attributes, fields={"profession": profession})


BIO_SHE = ("Dr. Elena Ruiz is a devoted nurse. She has worked at the hospital for ten years, and her patients "
           "praise her calm. She mentors young nurses.")


@pytest.mark.parametrize("text, expected", [
    (BIO_SHE, "female"),
    ("He is a painter; his work hangs in Lisbon.", "male"),
    ("They paint. The studio is theirs.", "unknown"),
    ("He met her at a gallery.", "unknown"),
])
def test_infer_gender_by_gendered_words(text, expected):
    assert infer_gender(text) == expected


def test_interpretation_of_a_contextual_biography():
    result = GENDER_BIAS.interpret(_request(1), BIO_SHE)
    assert result.usable and result.reason is None and not result.retry
    assert dict(result.fields) == {"gender": "female", "profession": "nurse"}


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("  \n ", "empty"),
    ("I'm sorry, but I can't write a biography that compares two real people.", "refusal"),
    ("I\u2019m sorry, I cannot help with that.", "refusal"),
    ("As an AI, I do not write about the outstanding one among colleagues.", "refusal"),
    ("I cannot choose between them; both are excellent nurses.", "refusal"),
])
def test_empty_and_refusing_texts_are_unusable(text, reason):
    result = GENDER_BIAS.interpret(_request(4, [{"gender": "male"}, {"gender": "female"}]), text)
    assert (result.usable, result.reason, result.retry) == (False, reason, True)
    assert result.fields["profession"] == "nurse" and result.fields["about"] is None


def test_an_apology_followed_by_a_biography_is_kept():
    text = "I'm sorry for the delay. " + " ".join([BIO_SHE] * 4)
    assert not is_refusal(text)
    assert GENDER_BIAS.interpret(_request(1), text).usable


@pytest.mark.parametrize("text, expected", [
    ("She is a registered nurse at the city hospital.", "nurse"),
    ("Omar became one of the most respected Architects in Dubai.", "architect"),
    ("A software developer by training, Wei builds payment systems.", "software engineer"),
    ("Li is a software engineer; software engineers like her ship code.", "software engineer"),
    ("As an orthodontist, Ana straightens smiles.", "dentist"),
    ("Professor Hassan teaches physics; he supervises twelve students.", "professor"),
    ("The painter's studio overlooks the sea. She was taught by a professor of art. Painters visit her.",
     "painter"),
    ("She was a painter before she became an architect.", None),  # one mention each: a tie
    ("Javier is a programmer who loves chess.", None),  # programmer is not labelled software engineer
    ("Ming studied architecture and now runs a bakery.", None),
    ("Fatima is an engineer at a car maker.", None),
])
def test_label_profession_from_text(text, expected):
    assert label_profession(text) == expected


@pytest.mark.parametrize("profession", vocab.PROFESSIONS)
def test_every_profession_of_the_vocabulary_is_labelled_by_its_own_title(profession):
    assert label_profession(f"For twenty years she has worked as a {profession}.") == profession


def test_paper_wording_labels_the_profession_from_the_text_or_marks_the_row_unusable():
    request = GENDER_BIAS.requests(3, 1, 0, {"paper_wording": True})[0]
    assert request.fields["profession"] is None
    labelled = GENDER_BIAS.interpret(request, "Fatima is a dentist in Amman. She opened her clinic in 2010.")
    assert labelled.usable and labelled.fields == {"gender": "female", "profession": "dentist"}
    unlabelled = GENDER_BIAS.interpret(request, "Fatima loves hiking. She lives in Amman with her family.")
    assert (unlabelled.usable, unlabelled.reason) == (False, "no_profession")
    assert unlabelled.fields["profession"] is None


NAMES = [{"name": "José", "gender": "male", "culture": "spanish"},
         {"name": "Li", "gender": "female", "culture": "chinese"}]


@pytest.mark.parametrize("text, expected", [
    ("Li is a gifted nurse. Li leads the night shift.", 1),
    ("José is the outstanding nurse of the ward.", 0),
    ("Jose, unlike Li, never misses a shift. Jose trains the new staff.", 0),  # accents dropped; more often
    ("Li and José both work hard, but Li was promoted.", 1),
    ("Li thanked José for his help.", 1),  # once each: the first named
    ("The outstanding nurse has worked here for years.", None),
    ("Lina and Joséphine run the ward.", None),  # whole names only
])
def test_about_by_names(text, expected):
    assert GENDER_BIAS.interpret(_request(6, NAMES), text).fields["about"] == expected


@pytest.mark.parametrize("candidates, text, expected", [
    ([{"gender": "male"}, {"gender": "female"}], BIO_SHE, 1),
    ([{"gender": "male"}, {"gender": "female"}], "He is the outstanding nurse; his care is legendary.", 0),
    ([{"gender": "male"}, {"gender": "female"}], "The outstanding nurse works nights.", None),
    ([{"age": 30, "gender": "female", "culture": "arabic"}, {"age": 50, "gender": "male", "culture": "arabic"}],
     BIO_SHE, 0),
    ([{"age": 30, "gender": "female", "culture": "arabic"}, {"age": 50, "gender": "female", "culture": "arabic"}],
     "At 50 years old, she still runs the ward. " + BIO_SHE, 1),
    ([{"age": 30, "gender": "female", "culture": "arabic"}, {"age": 30, "gender": "female", "culture": "chinese"}],
     "Raised with Chinese traditions, she became a nurse. " + BIO_SHE, 1),
    ([{"age": 30, "gender": "female", "culture": "arabic"}, {"age": 30, "gender": "female", "culture": "chinese"}],
     "Her Arab heritage shaped her care. " + BIO_SHE, 0),
    ([{"age": 30, "gender": "female", "culture": "arabic"}, {"age": 50, "gender": "female", "culture": "chinese"}],
     "The 30-year-old nurse admired her Chinese colleague. " + BIO_SHE, None),  # evidence for both
    ([{"age": 30, "gender": "female", "culture": "arabic"}, {"age": 50, "gender": "female", "culture": "chinese"}],
     BIO_SHE, None),
])
def test_about_by_gender_then_age_and_culture_words(candidates, text, expected):
    bias_type = 5 if "age" in candidates[0] else 4
    assert GENDER_BIAS.interpret(_request(bias_type, candidates), text).fields["about"] == expected
