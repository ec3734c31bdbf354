"""Write bias_inheritance/data/sample_culture.jsonl: the bundled SYNTHETIC culture sample.

Every sentence below was written for this project; none is copied from any dataset (no licence
covers redistributing those). Each dataset gets four short sentences of its positive label and four
everyday sentences in its language for its negative label, so every task runs offline and in CI
and `--limit 2` sees both labels. The rows only exercise the pipeline: numbers computed on them say
nothing about a model, and every result they produce reports `synthetic_sample` = 1.0.

Run `python scripts/make_sample_culture.py` after editing; a test checks the file matches.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bias_inheritance.data.culture import SAMPLE_RESOURCE
from bias_inheritance.data.culture_registry import DATASETS, SCHEMES, CultureDataset
from bias_inheritance.io import atomic_write_text

TARGET = Path(__file__).resolve().parents[1] / "bias_inheritance" / "data" / SAMPLE_RESOURCE
NEGATIVES_PER_DATASET = 4

# Everyday sentences per culture code: the negative label of every dataset in that language.
NEUTRAL: dict[str, tuple[str, ...]] = {
    "ar": (
        "الجو اليوم جميل، سنذهب إلى الحديقة بعد الظهر.",
        "شكراً على المساعدة، وصل الطرد في الوقت المحدد.",
        "المباراة كانت ممتعة والفريقان لعبا بشكل جيد.",
        "أحتاج إلى وصفة سهلة للعشاء الليلة.",
        "افتتحت المكتبة الجديدة أبوابها في وسط المدينة.",
        "هل يعرف أحد موعد القطار القادم؟",
        "قرأت كتاباً رائعاً عن تاريخ العلوم.",
        "مبروك على التخرج، نتمنى لك التوفيق.",
    ),
    "zh": (
        "今天天气很好，我们下午去公园散步。",
        "谢谢你的帮助，包裹已经按时收到了。",
        "这家餐厅的面条味道不错，价格也合理。",
        "请问下一班地铁几点到？",
        "周末我打算在家看书，顺便整理房间。",
        "新开的图书馆环境安静，适合学习。",
        "祝贺你顺利毕业，未来一切顺利！",
        "会议改到明天上午十点，请大家准时参加。",
    ),
    "pt": (
        "Hoje o dia está lindo, vamos passear no parque à tarde.",
        "Obrigado pela ajuda, a encomenda chegou no prazo.",
        "O jogo de ontem foi bem disputado até o final.",
        "Alguém sabe que horas sai o próximo ônibus?",
        "Terminei de ler um livro ótimo sobre a história da ciência.",
        "A nova biblioteca do bairro abre amanhã de manhã.",
        "Parabéns pela formatura, muito sucesso para você!",
        "Vou fazer um bolo de cenoura no fim de semana.",
    ),
    "es": (
        "Hoy hace un día precioso, iremos al parque por la tarde.",
        "Gracias por la ayuda, el paquete llegó a tiempo.",
        "El partido de anoche fue muy emocionante.",
        "¿Alguien sabe a qué hora pasa el próximo autobús?",
        "Estoy leyendo una novela muy buena sobre el mar.",
        "La nueva biblioteca del barrio abre el lunes.",
        "¡Felicidades por tu graduación, mucho éxito!",
        "Este fin de semana voy a preparar una paella con mi familia.",
    ),
}

# Four sentences of each dataset's positive label (offensive, hateful, spam, ...), mild on purpose.
POSITIVE: dict[str, tuple[str, ...]] = {
    "offensive_ar_mp": (
        "أنت غبي ولا تفهم أي شيء.",
        "كلامك تافه مثل صاحبه.",
        "اسكت يا فاشل، لا أحد يهتم برأيك.",
        "هذا أسخف تعليق قرأته، وكاتبه أحمق.",
    ),
    "offensive_pt_offcombr": (
        "Esse comentarista é um idiota completo.",
        "Cala a boca, ninguém liga pra sua opinião ridícula.",
        "Que matéria lixo, o jornalista é um incompetente.",
        "Você é burro demais pra entender qualquer coisa.",
    ),
    "offensive_es_ami": (
        "Las mujeres solo sirven para limpiar la casa.",
        "Cállate, mujer, nadie te ha pedido tu opinión.",
        "Otra histérica quejándose por nada, como todas.",
        "Las mujeres no saben conducir, es un hecho.",
    ),
    "hate_ar_osact4": (
        "هؤلاء الأجانب لا يستحقون العيش بيننا.",
        "أهل تلك القبيلة كلهم لصوص.",
        "لا نريد هذه الجماعة في بلادنا، إنهم أقل منا.",
        "كل من ينتمي إلى تلك الطائفة خائن ويجب طرده.",
    ),
    "hate_pt_hatebr": (
        "Esse deputado é um canalha e um mentiroso.",
        "Político safado, vai roubar em outro lugar.",
        "Que vergonha, bando de incompetentes no governo.",
        "Ministro ridículo, não sabe nem falar direito.",
    ),
    "hate_es_hateval2019": (
        "Los inmigrantes vienen a robar, que los echen a todos.",
        "Fuera de nuestro país, aquí no os queremos.",
        "Esa gente que llega en patera solo trae delincuencia.",
        "Las mujeres que denuncian mienten siempre, no hay que creerlas.",
    ),
    "spam_ar_asht": (
        "اربح جوالاً مجانياً الآن! اضغط على الرابط وسجل بياناتك.",
        "خصم ٧٠٪ لفترة محدودة، تواصل معنا على الخاص.",
        "ألف متابع جديد لحسابك بخمسة دولارات فقط.",
        "استثمر معنا واربح أرباحاً مضمونة كل يوم.",
    ),
    "spam_zh_ccs": (
        "恭喜您获得免费大奖，点击链接立即领取！",
        "加微信领取兼职日结工资，每天轻松赚五百。",
        "低价出售各类会员账号，需要的私聊。",
        "投资稳赚不赔，月收益高达百分之三十，名额有限！",
    ),
    "vulgar_ar_mp": (
        "انقلع يا وسخ.",
        "كلامك زبالة وريحته نتنة.",
        "تفو عليك وعلى أشكالك.",
        "يلعن هالوجه القبيح.",
    ),
    "bias_ar_biasfignews": (
        "الطرف الآخر يكذب دائماً ولا يستحق أي تعاطف.",
        "كل ما تنشره تلك الجهة أكاذيب مفضوحة.",
        "هؤلاء المقاتلون مجرمون بطبعهم ولا يعرفون إلا القتل.",
        "الحكومة الأخرى وحدها المسؤولة عن كل هذا الخراب.",
    ),
    "bias_zh_cdialbias": (
        "女人天生就不适合做工程师。",
        "男人做家务就是没出息。",
        "女生学不好数学，这是天生的。",
        "女司机开车都很危险。",
    ),
    "bias_pt_toldbr_homophobia": (
        "Não quero gente gay perto dos meus filhos.",
        "Ser gay é uma doença que precisa de tratamento.",
        "Dois homens de mãos dadas na rua é uma pouca vergonha.",
        "Casal gay não deveria poder adotar criança.",
    ),
    "bias_pt_toldbr_misogyny": (
        "Mulher não serve para liderar, o lugar dela é na cozinha.",
        "Mulher no volante, perigo constante.",
        "Ela só foi promovida porque é mulher, não por competência.",
        "Mulher que reclama demais precisa aprender a ficar calada.",
    ),
    "bias_es_detoxis_improper": (
        "Qué mierda de noticia, joder.",
        "Me cago en todo, vaya gobierno de pena.",
        "Esto es una puta vergüenza.",
        "Hostia, qué asco da leer estas cosas.",
    ),
    "abusive_pt_toldbr_insult": (
        "Seu otário, some daqui.",
        "Você é um imbecil sem noção.",
        "Que cara babaca, dá vergonha de ler isso.",
        "Vai te catar, seu palhaço.",
    ),
    "abusive_es_detoxis_insult": (
        "Eres un imbécil y un ignorante.",
        "Menudo idiota, no sabe ni escribir.",
        "Qué payaso eres, das pena.",
        "Cállate ya, estúpido.",
    ),
}


def _negatives(dataset: CultureDataset) -> list[str]:
    """A window of the language's everyday sentences, shifted per dataset so the sets differ."""
    same_language = [d.key for d in DATASETS if d.code == dataset.code]
    pool = NEUTRAL[dataset.code]
    start = 2 * same_language.index(dataset.key)
    return [pool[(start + k) % len(pool)] for k in range(NEGATIVES_PER_DATASET)]


def rows() -> list[dict]:
    """Every sample row, in registry order: positives, then negatives, of each dataset."""
    out: list[dict] = []
    for dataset in DATASETS:
        scheme = SCHEMES[dataset.scheme]
        labelled = [(text, scheme.positive) for text in POSITIVE[dataset.key]]
        labelled += [(text, scheme.negative) for text in _negatives(dataset)]
        out += [{"dataset": dataset.key, "label": label, "text": text, "synthetic": True} for text, label in labelled]
    return out


def render() -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows())


def main() -> int:
    atomic_write_text(TARGET, render())
    print(f"{len(rows())} synthetic rows in {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
