"""The offline `local` text backends: quality on small hand-labelled sets, exact behaviour, and catalog shapes.

All calls go through `edenframe._local.local_compute(path)(items)`, the function the provider layer calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest
from helpers import require_extra

from edenframe._local import IMPLEMENTATIONS, local_compute

require_extra("local")

MY_PATHS = (
    "text/sentiment_analysis",
    "translation/language_detection",
    "text/keyword_extraction",
    "text/summarize",
    "text/spell_check",
    "text/moderation",
    "text/anonymization",
)


def run(path: str, text: str, **params: object) -> dict:
    [out] = local_compute(path)([{"text": text, **params}])
    assert out["status"] == "success", out
    assert out["cost"] == 0.0
    return out


# ---------------------------------------------------------------------------------------------------------------
# sentiment: 60 hand-labelled sentences
# ---------------------------------------------------------------------------------------------------------------

POSITIVE = [
    "I absolutely love this phone, the camera is stunning.",
    "The staff were friendly and incredibly helpful.",
    "Best pizza I have had in years!",
    "Delivery was fast and the packaging was perfect.",
    "This book is a wonderful read from start to finish.",
    "Great value for the money, highly recommended.",
    "The hotel room was clean, spacious and comfortable.",
    "Our guide was fantastic and made the tour fun.",
    "I'm really happy with the results of the treatment.",
    "The new update makes the app so much smoother, nice work.",
    "What a beautiful sunset over the lake tonight.",
    "The concert was amazing and the crowd loved it.",
    "Customer support solved my issue quickly, thank you!",
    "These headphones sound excellent and feel comfortable.",
    "She gave a brilliant presentation and everyone was impressed.",
    "The soup was delicious and the bread was fresh.",
    "I'm so proud of my team for winning the award.",
    "The course was well organized and the teacher was inspiring.",
    "Lovely little café with a warm, cozy atmosphere.",
    "Setup took two minutes and everything worked perfectly.",
]
NEGATIVE = [
    "The battery died after two days, very disappointing.",
    "Worst customer service I have ever experienced.",
    "The food was cold and the waiter was rude.",
    "My order arrived broken and nobody answered my emails.",
    "This movie was boring and far too long.",
    "The room smelled terrible and the sheets were dirty.",
    "I regret buying this laptop, it crashes constantly.",
    "The app is slow, buggy and full of annoying ads.",
    "Terrible experience, I will never fly with them again.",
    "The instructions were confusing and useless.",
    "I'm angry that they charged me twice for the same ticket.",
    "The shoes fell apart after a week, total waste of money.",
    "Our flight was delayed for six hours with no explanation.",
    "The hotel was noisy and I could not sleep at all.",
    "Sadly the product does not work as advertised.",
    "The driver was aggressive and scared the children.",
    "I hate how complicated the checkout process is.",
    "The paint started peeling after one month, awful quality.",
    "It was a frustrating afternoon of endless errors.",
    "The coffee tasted burnt and bitter.",
]
NEUTRAL = [
    "The package arrived on Tuesday.",
    "The meeting has been moved to 3 pm.",
    "The museum opens at nine in the morning.",
    "The report contains twelve pages and two tables.",
    "I ordered the blue model in size 42.",
    "The train to Lyon leaves from platform 4.",
    "Our office is on the second floor of the building.",
    "The software update is version 2.1.",
    "She lives in a small town near the coast.",
    "The store is closed on Sundays.",
    "He bought a ticket for the evening show.",
    "The recipe uses flour, eggs and milk.",
    "The survey was sent to all employees last week.",
    "The laptop has a 14-inch screen and 16 GB of memory.",
    "We will discuss the budget on Thursday.",
    "The parcel weighs about three kilograms.",
    "The library has a section for children's books.",
    "Please send the invoice to the accounting department.",
    "The bus stops at the corner of Main Street.",
    "The company was founded in 1998.",
]


def test_sentiment_agreement_on_labelled_set() -> None:
    labelled = [(t, "Positive") for t in POSITIVE] + [(t, "Negative") for t in NEGATIVE]
    labelled += [(t, "Neutral") for t in NEUTRAL]
    assert len(labelled) == 60
    outputs = local_compute("text/sentiment_analysis")([{"text": t, "language": "en"} for t, _ in labelled])
    predicted = [o["general_sentiment"] for o in outputs]
    agreement = sum(p == label for p, (_, label) in zip(predicted, labelled, strict=True)) / len(labelled)
    misses = [(t, label, p) for p, (t, label) in zip(predicted, labelled, strict=True) if p != label]
    assert agreement >= 0.90, misses


def test_sentiment_shape_and_sentences() -> None:
    text = "I love the screen. The battery is terrible. It ships in a box."
    out = run("text/sentiment_analysis", text, language="en")
    segments = [i["segment"] for i in out["items"]]
    assert segments == ["I love the screen.", "The battery is terrible.", "It ships in a box."]
    assert [i["sentiment"] for i in out["items"]] == ["Positive", "Negative", "Neutral"]
    assert out["items"][2]["sentiment_rate"] == 0.0
    assert all(0.0 <= i["sentiment_rate"] <= 1.0 for i in out["items"])
    assert 0.0 <= out["general_sentiment_rate"] <= 1.0


def test_sentiment_language_handling() -> None:
    compute = local_compute("text/sentiment_analysis")
    ok_none, ok_us, french, empty = compute(
        [
            {"text": "Great job!", "language": None},
            {"text": "Great job!", "language": "en-US"},
            {"text": "Très bon travail", "language": "fr"},
            {"text": "   "},
        ]
    )
    assert ok_none["status"] == ok_us["status"] == "success"
    assert french["status"] == "fail" and "English only" in french["error"]["message"]
    assert empty["status"] == "fail" and "empty" in empty["error"]["message"]


# ---------------------------------------------------------------------------------------------------------------
# language detection: 60 sentences, 12 languages
# ---------------------------------------------------------------------------------------------------------------

LANGUAGE_SENTENCES = {
    "en": [
        "The weather is nice today and we are going to the park.",
        "Could you please send me the report by Friday?",
        "My brother works as a nurse in a large hospital.",
        "The train was late again this morning.",
        "We are planning a trip to the mountains next summer.",
    ],
    "fr": [
        "Je voudrais réserver une table pour deux personnes ce soir.",
        "Le train pour Marseille part dans dix minutes.",
        "Nous avons visité le musée du Louvre pendant les vacances.",
        "Il fait très froid en hiver dans cette région.",
        "Pouvez-vous m'envoyer la facture par courriel ?",
    ],
    "de": [
        "Ich habe heute keine Zeit, weil ich arbeiten muss.",
        "Der Zug nach München hat leider Verspätung.",
        "Wir gehen am Wochenende oft im Wald spazieren.",
        "Können Sie mir bitte den Weg zum Bahnhof zeigen?",
        "Meine Schwester studiert Medizin in Berlin.",
    ],
    "es": [
        "Me gustaría pedir una pizza grande con champiñones.",
        "El autobús llega a la estación a las ocho.",
        "Mis padres viven en un pueblo cerca de Sevilla.",
        "¿Dónde está la farmacia más cercana?",
        "Este fin de semana vamos a la playa con los niños.",
    ],
    "it": [
        "Vorrei prenotare una camera doppia per tre notti.",
        "Il treno per Roma è in ritardo di venti minuti.",
        "Mia nonna prepara la pasta fresca ogni domenica.",
        "Scusi, sa dov'è la fermata dell'autobus?",
        "Abbiamo passato le vacanze in montagna con gli amici.",
    ],
    "pt": [
        "Eu gostaria de abrir uma conta no banco.",
        "O ônibus para o centro passa de quinze em quinze minutos.",
        "Minha filha começou a estudar na universidade este ano.",
        "Não consigo encontrar as minhas chaves em lado nenhum.",
        "Vamos jantar num restaurante perto da praia hoje à noite.",
    ],
    "nl": [
        "Ik ga morgen met de fiets naar mijn werk.",
        "De winkel is op zondag gesloten.",
        "Wij hebben een huis gekocht in een klein dorp.",
        "Kunt u mij vertellen hoe laat de trein vertrekt?",
        "Mijn kinderen spelen graag buiten in de tuin.",
    ],
    "ru": [
        "Я люблю читать книги по вечерам.",
        "Поезд в Москву отправляется в семь часов.",
        "Моя сестра работает врачом в больнице.",
        "Где находится ближайшая аптека?",
        "Летом мы часто ездим на дачу.",
    ],
    "pl": [
        "Jutro rano jadę pociągiem do Krakowa.",
        "Moja mama gotuje najlepsze pierogi na świecie.",
        "Czy może mi pan powiedzieć, gdzie jest dworzec?",
        "W weekend idziemy z dziećmi do kina.",
        "Ten sklep jest zamknięty w niedzielę.",
    ],
    "tr": [
        "Yarın sabah erkenden işe gitmem gerekiyor.",
        "Bu restoranın yemekleri çok lezzetli.",
        "Otobüs durağı nerede, biliyor musunuz?",
        "Kardeşim İstanbul'da üniversitede okuyor.",
        "Hafta sonu arkadaşlarımla denize gideceğiz.",
    ],
    "ja": [
        "今日はとても天気がいいですね。",
        "駅までの道を教えていただけますか。",
        "私は毎朝コーヒーを飲みます。",
        "来週、京都へ旅行に行く予定です。",
        "この本はとても面白かったです。",
    ],
    "zh": [
        "我每天早上七点起床。",
        "请问火车站怎么走？",
        "这家餐厅的菜非常好吃。",
        "我们下个月去北京旅游。",
        "他在一家大公司工作。",
    ],
}


def test_language_detection_top1_accuracy() -> None:
    labelled = [(text, code) for code, texts in LANGUAGE_SENTENCES.items() for text in texts]
    assert len(labelled) == 60 and len(LANGUAGE_SENTENCES) == 12
    outputs = local_compute("translation/language_detection")([{"text": t} for t, _ in labelled])
    top1 = [o["items"][0]["language"] for o in outputs]
    misses = [(t, code, p) for p, (t, code) in zip(top1, labelled, strict=True) if p != code]
    assert 1 - len(misses) / len(labelled) >= 0.95, misses


def test_language_detection_items() -> None:
    out = run("translation/language_detection", "Bonjour à tous, merci d'être venus ce soir.")
    first = out["items"][0]
    assert first["language"] == "fr" and first["display_name"] == "French" and first["confidence"] > 0.9
    ambiguous = run("translation/language_detection", "hola")["items"]
    assert 1 <= len(ambiguous) <= 3
    assert all(i["confidence"] >= 0.01 for i in ambiguous)
    confidences = [i["confidence"] for i in ambiguous]
    assert confidences == sorted(confidences, reverse=True)


def test_language_detection_reads_shouted_and_multiline_text() -> None:
    # fastText learnt from mixed case: all-caps French scores as English unless lower-cased first
    shouted = run("translation/language_detection", "BONJOUR À TOUS, MERCI D'ÊTRE VENUS CE SOIR")["items"][0]
    assert shouted["language"] == "fr" and shouted["confidence"] > 0.9
    mostly = run("translation/language_detection", "DIE LIEFERUNG KAM VIEL ZU SPÄT an")["items"][0]
    assert mostly["language"] == "de"
    # line breaks would end fastText's input at the first line: the whole text is read
    lines = run("translation/language_detection", "Ok\nLa livraison est arrivée en retard et la boîte était abîmée")
    assert lines["items"][0]["language"] == "fr"


def test_language_detection_ignores_zero_width_characters() -> None:
    # zero-width spaces and byte-order marks (from web pages) would read as Khmer or Thai
    for text, language in [
        ("\u200bhello\u200b", "en"),
        ("good\u200b \u200bvalue\u200b", "en"),
        ("\ufeffLa livraison est arrivée en retard", "fr"),
        ("Die\u200bLieferung\u200d kam\u2060 viel zu spät", "de"),
    ]:
        assert run("translation/language_detection", text)["items"][0]["language"] == language, text


def test_language_detection_display_names_cover_the_model() -> None:
    from edenframe._local.language_detection import DISPLAY_NAMES

    assert len(DISPLAY_NAMES) == 176
    assert DISPLAY_NAMES["zh"] == "Chinese" and DISPLAY_NAMES["ja"] == "Japanese"


# ---------------------------------------------------------------------------------------------------------------
# keywords
# ---------------------------------------------------------------------------------------------------------------

SOLAR = (
    "Solar panels were installed on the roof of every public school in the city. The solar panels produce more "
    "electricity than the schools consume, and the surplus electricity is sold to the grid."
)


def test_keywords_top_and_importance() -> None:
    items = run("text/keyword_extraction", SOLAR, language="en")["items"]
    keywords = [i["keyword"] for i in items]
    assert "solar panels" in keywords[0].lower()
    assert "Solar panels" in keywords[:3]
    importances = [i["importance"] for i in items]
    assert importances == sorted(importances, reverse=True)
    assert all(0.0 < v <= 1.0 and round(v, 2) == v for v in importances)
    # English stopwords never start or end a keyword
    assert not any(k.split()[0].lower() in {"the", "of", "and"} or k.split()[-1].lower() == "the" for k in keywords)


def test_keywords_use_the_language_stopwords() -> None:
    text = (
        "La ville a installé des panneaux solaires sur le toit de chaque école. Les panneaux solaires "
        "produisent plus d'électricité que les écoles n'en consomment."
    )
    keywords = [i["keyword"] for i in run("text/keyword_extraction", text, language="fr")["items"]]
    assert "panneaux solaires" in keywords[:2]
    assert not any(k.split()[0].lower() in {"le", "la", "les", "des", "de"} for k in keywords)
    # a language YAKE has no list for still works (no stopwords)
    assert run("text/keyword_extraction", "Ekonomi kahawa bei sokoni leo.", language="sw")["items"]


def test_keywords_importance_mapping() -> None:
    from edenframe._local.keywords import importance

    assert importance(0.0) == 1.0
    assert importance(0.01) > importance(0.1) > importance(1.0) > 0.0


# ---------------------------------------------------------------------------------------------------------------
# summarize
# ---------------------------------------------------------------------------------------------------------------

SCHOOLS = (
    "Solar panels convert sunlight into electricity. "
    "Our town installed solar panels on every school roof last year. "
    "The school solar panels now produce more electricity than the schools use. "
    "The surplus electricity is sold to the local grid. "
    "Meanwhile, the football team won the regional cup."
)


def test_summarize_picks_the_central_sentence() -> None:
    assert run("text/summarize", SCHOOLS)["result"] == (
        "The school solar panels now produce more electricity than the schools use."
    )


def test_summarize_keeps_original_order_and_count() -> None:
    result = run("text/summarize", SCHOOLS, output_sentences=2)["result"]
    assert result == (
        "Solar panels convert sunlight into electricity. "
        "The school solar panels now produce more electricity than the schools use."
    )
    assert "football" not in run("text/summarize", SCHOOLS, output_sentences=4)["result"]


def test_summarize_short_and_invalid() -> None:
    assert run("text/summarize", "Only one sentence here.", output_sentences=3)["result"] == "Only one sentence here."
    # sentences with no shared word: the lead sentence wins
    assert run("text/summarize", "Cats sleep. Rain falls. Markets rose.")["result"] == "Cats sleep."
    [bad] = local_compute("text/summarize")([{"text": SCHOOLS, "output_sentences": 0}])
    assert bad["status"] == "fail" and "output_sentences" in bad["error"]["message"]


# ---------------------------------------------------------------------------------------------------------------
# spell check
# ---------------------------------------------------------------------------------------------------------------


def test_spell_check_offsets_and_suggestions() -> None:
    text = "I recieved the pakage yesterday and it was exellent."
    out = run("text/spell_check", text, language="en")
    assert out["text"] == text
    found = [(i["text"], i["offset"], i["length"], i["suggestions"][0]["suggestion"]) for i in out["items"]]
    assert found == [("recieved", 2, 8, "received"), ("pakage", 15, 6, "package"), ("exellent", 43, 8, "excellent")]
    for item in out["items"]:
        assert text[item["offset"] : item["offset"] + item["length"]] == item["text"]
        assert item["type"] == "misspelled"
        scores = [s["score"] for s in item["suggestions"]]
        assert 1 <= len(scores) <= 5 and scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)


def test_spell_check_case_and_skips() -> None:
    text = "Thiis is fine. Visit https://exmaple.com, mail jon@exmaple.com, tell Zelensky and NASA about the iPhone."
    items = run("text/spell_check", text)["items"]
    assert [i["text"] for i in items] == ["Thiis"]
    assert items[0]["offset"] == 0 and items[0]["suggestions"][0]["suggestion"] == "This"
    assert run("text/spell_check", "Everything here is spelled correctly.")["items"] == []
    # possessives and elisions are not in the dictionaries but are not misspellings
    assert run("text/spell_check", "The children's books and the students' essays.")["items"] == []
    assert run("text/spell_check", "Pouvez-vous m'envoyer l'adresse de l'hôtel ?", language="fr")["items"] == []


def test_spell_check_languages() -> None:
    french = run("text/spell_check", "Le chat est tres mignon.", language="fr")["items"]
    assert [(i["text"], i["offset"], i["suggestions"][0]["suggestion"]) for i in french] == [("tres", 12, "très")]
    [unsupported] = local_compute("text/spell_check")([{"text": "こんにちは", "language": "ja"}])
    assert unsupported["status"] == "fail" and "language='ja'" in unsupported["error"]["message"]


def test_spell_check_distance_two_fallback() -> None:
    # no dictionary word is one edit from "acommodaton"; the fallback finds "accommodation" two edits away
    [item] = run("text/spell_check", "The acommodaton was booked.")["items"]
    assert item["suggestions"][0]["suggestion"] == "accommodation"


# ---------------------------------------------------------------------------------------------------------------
# moderation
# ---------------------------------------------------------------------------------------------------------------


def test_moderation_offensive_words() -> None:
    out = run("text/moderation", "You are a stupid f*cking bastard.")
    labels = {(i["label"], i["subcategory"]) for i in out["items"]}
    assert labels == {("stupid", "Insult"), ("f*cking", "Profanity"), ("bastard", "Insult")}
    assert all(i["category"] == "Toxic" for i in out["items"])
    assert out["nsfw_likelihood"] == 5 and out["nsfw_likelihood_score"] >= 0.9
    for item in out["items"]:
        assert 1 <= item["likelihood"] <= 5 and 0.0 <= item["likelihood_score"] <= 1.0


def test_moderation_mild_and_look_alikes() -> None:
    mild = run("text/moderation", "This product is crap.")
    assert [(i["label"], i["likelihood"]) for i in mild["items"]] == [("crap", 2)]
    assert mild["nsfw_likelihood"] == 2
    spaced = run("text/moderation", "Go f u c k yourself, sh1t head")
    assert [i["label"] for i in spaced["items"]] == ["f u c k", "sh1t"]


def test_moderation_clean_text() -> None:
    clean = [
        "The organ recital was lovely and God bless the choir.",
        "I killed the process, then had a vodka to celebrate my stroke of luck at the strip mall.",
        "Summa cum laude graduate from Scunthorpe; her assessment of the class was a passion project.",
        "They sob quietly while Dickens is read aloud.",
        "Great phone, fast delivery.",
    ]
    for text in clean:
        out = run("text/moderation", text)
        assert (out["nsfw_likelihood"], out["items"]) == (1, []), text
        assert out["nsfw_likelihood_score"] < 0.2


def test_moderation_agrees_with_better_profanity_on_flagged_words() -> None:
    from better_profanity import profanity

    for text in ["what the fuck", "you bitch", "sh1t happens", "total asshole", "a nice day", "hello world"]:
        ours = bool(run("text/moderation", text)["items"])
        assert ours == profanity.contains_profanity(text), text


# ---------------------------------------------------------------------------------------------------------------
# anonymization: 30 records with planted PII, 30 clean records
# ---------------------------------------------------------------------------------------------------------------

PII_RECORDS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Please contact Maria at maria.gomez@example.com for the contract.", [("maria.gomez@example.com", "Email")]),
    ("Call me on +33 6 12 34 56 78 after 6 pm.", [("+33 6 12 34 56 78", "Phone")]),
    ("My Visa card 4111 1111 1111 1111 was charged twice.", [("4111 1111 1111 1111", "CreditCard")]),
    (
        "Refund to IBAN DE89 3704 0044 0532 0130 00, please.",
        [("DE89 3704 0044 0532 0130 00", "BankAccountNumber")],
    ),
    ("The login came from 192.168.10.45 at night.", [("192.168.10.45", "IP")]),
    ("Born 12/03/1987 in Lyon, the patient reports mild headaches.", [("12/03/1987", "DateTime")]),
    (
        "Docs are at https://intranet.example.org/hr/policies?id=42 for staff.",
        [("https://intranet.example.org/hr/policies?id=42", "URL")],
    ),
    (
        "Support: (415) 555-0132 or support@acme-widgets.com.",
        [("(415) 555-0132", "Phone"), ("support@acme-widgets.com", "Email")],
    ),
    ("Transfer to GB82 WEST 1234 5698 7654 32 by Friday.", [("GB82 WEST 1234 5698 7654 32", "BankAccountNumber")]),
    ("Mastercard 5555-5555-5555-4444 expires next year.", [("5555-5555-5555-4444", "CreditCard")]),
    ("Our IPv6 gateway is 2001:db8::ff00:42:8329 in the lab.", [("2001:db8::ff00:42:8329", "IP")]),
    ("Date of birth: 1990-07-04. Blood type O+.", [("1990-07-04", "DateTime")]),
    (
        "Reach the London office on +44 20 7946 0958 or visit www.example.co.uk.",
        [("+44 20 7946 0958", "Phone"), ("www.example.co.uk", "URL")],
    ),
    ("Amex 3782 822463 10005 on file for J. Smith.", [("3782 822463 10005", "CreditCard")]),
    ("Send the payslip to j.smith+payroll@corp.example.net today.", [("j.smith+payroll@corp.example.net", "Email")]),
    ("The applicant was born on 4 July 1976 in Boston.", [("4 July 1976", "DateTime")]),
    ("Paid from NL91ABNA0417164300 on the first of the month.", [("NL91ABNA0417164300", "BankAccountNumber")]),
    (
        "Server 10.0.0.12 rejected the connection from 172.16.254.1.",
        [("10.0.0.12", "IP"), ("172.16.254.1", "IP")],
    ),
    ("Mobile 07700 900123, landline 020 7946 0018.", [("07700 900123", "Phone"), ("020 7946 0018", "Phone")]),
    ("Hired on March 3, 1999 and promoted in 2005.", [("March 3, 1999", "DateTime")]),
    (
        "Discover card 6011 1111 1111 1117, billing email billing@shop.example.",
        [("6011 1111 1111 1117", "CreditCard"), ("billing@shop.example", "Email")],
    ),
    ("Appointment confirmed for 2023-10-05T08:30:00Z with Dr. Lee.", [("2023-10-05T08:30:00Z", "DateTime")]),
    (
        "Le numéro est 01.23.45.67.89 et le site http://www.mairie-exemple.fr/contact.",
        [("01.23.45.67.89", "Phone"), ("http://www.mairie-exemple.fr/contact", "URL")],
    ),
    (
        "Wire the deposit to FR14 2004 1010 0505 0001 3M02 606 before 15.06.2024.",
        [("FR14 2004 1010 0505 0001 3M02 606", "BankAccountNumber"), ("15.06.2024", "DateTime")],
    ),
    (
        "Customer phone: 415-555-0199, alt: +1 212 555 0147.",
        [("415-555-0199", "Phone"), ("+1 212 555 0147", "Phone")],
    ),
    ("Deutsche Nummer: +49 30 901820, Fax 030 1234567.", [("+49 30 901820", "Phone"), ("030 1234567", "Phone")]),
    (
        "Visa 4012 8888 8888 1881 and JCB 3530 1113 3330 0000 were both declined.",
        [("4012 8888 8888 1881", "CreditCard"), ("3530 1113 3330 0000", "CreditCard")],
    ),
    (
        "Her DOB is 21.11.1965 and her email is anna_k@mail.example.de.",
        [("21.11.1965", "DateTime"), ("anna_k@mail.example.de", "Email")],
    ),
    (
        "Spanish account ES91 2100 0418 4502 0005 1332 belongs to the tenant.",
        [("ES91 2100 0418 4502 0005 1332", "BankAccountNumber")],
    ),
    (
        "Visit https://shop.example.com/orders/98765 or call 1-800-555-0199.",
        [("https://shop.example.com/orders/98765", "URL"), ("1-800-555-0199", "Phone")],
    ),
]

CLEAN_RECORDS = [
    "The laptop costs $1,299.99 and ships in 3-5 business days.",
    "Please upgrade to version 2.4.1 before Friday's release.",
    "The meeting starts at 10:30 and ends at 11:15.",
    "We sold 1,234,567 units in the last quarter.",
    "Python 3.12.1 fixed the bug reported in 3.11.7.",
    "Order #48213 contains 12 items worth €45.50 in total.",
    "The train departs at 14:45:00 from platform 9.",
    "Our population grew to 3 500 000 people.",
    "Set the ratio to 16:9 and the resolution to 1920x1080.",
    "Room 1204 is on the twelfth floor; customer ID 4839201746 was merged.",
    "The final score was 98-95 after overtime.",
    "Add 3/4 cup of sugar and bake for 25 minutes at 180 degrees.",
    "Windows build 10.0.19045.3693 includes the patch.",
    "The ISBN is 978-3-16-148410-0 for the second edition.",
    "Firmware release 1.2.3.4 is now available.",
    "The store is open 24/7 and accepts payments over £3.20.",
    "Flight AF1234 lands at 9:05 pm in terminal 2E.",
    "Temperature ranged between -5 and 12 degrees.",
    "Invoice INV-2024-00017 was paid in full.",
    "The package weighs 2.75 kg and measures 30 x 20 x 15 cm.",
    "We need 250 GB of storage and 16 GB of RAM.",
    "Blood pressure was 120/80 and heart rate 72 bpm.",
    "Interest rose by 0.25% to 4.75% this year.",
    "The match ended 3-1, with goals in the 12th, 45th and 88th minute.",
    "Tracking number 1Z999AA10123456784 shows the parcel in transit.",
    "The lottery numbers were 4 8 15 16 23 42.",
    "Our revenue was 12 345 678 euros in 2023.",
    "Use coupon SAVE20 for 20% off orders above $100.",
    "Model XPS 13 9310 has a 13.4-inch display.",
    "The API returns HTTP 404 after 30 seconds; retry 3 times with a 2.5 s backoff.",
]


@pytest.mark.parametrize(("text", "planted"), PII_RECORDS, ids=[str(i) for i in range(len(PII_RECORDS))])
def test_anonymization_finds_every_planted_item(text: str, planted: list[tuple[str, str]]) -> None:
    out = run("text/anonymization", text)
    expected = [(text.index(content), len(content), content, sub) for content, sub in planted]
    found = [(e["offset"], e["length"], e["content"], e["subcategory"]) for e in out["entities"]]
    assert found == sorted(expected)
    for entity in out["entities"]:
        assert text[entity["offset"] : entity["offset"] + entity["length"]] == entity["content"]
        assert 0.0 < entity["confidence_score"] <= 1.0
    masked = list(text)
    for offset, length, _, _ in expected:
        masked[offset : offset + length] = "*" * length
    assert out["result"] == "".join(masked)


def test_anonymization_counts() -> None:
    assert len(PII_RECORDS) == 30 and len(CLEAN_RECORDS) == 30
    assert sum(len(planted) for _, planted in PII_RECORDS) >= 40


def test_anonymization_no_false_positive_on_clean_records() -> None:
    outputs = local_compute("text/anonymization")([{"text": t} for t in CLEAN_RECORDS])
    flagged = [(t, o["entities"]) for t, o in zip(CLEAN_RECORDS, outputs, strict=True) if o["entities"]]
    assert flagged == []
    assert [o["result"] for o in outputs] == CLEAN_RECORDS


def test_anonymization_categories_and_checksums() -> None:
    from edenframe._local.anonymization import iban_valid, luhn_valid

    out = run("text/anonymization", "Mail a@b.io, card 4111111111111111, IBAN NL91ABNA0417164300, host 10.1.2.3")
    kinds = [(e["category"], e["subcategory"], e["original_label"]) for e in out["entities"]]
    assert kinds == [
        ("PersonalInformation", "Email", "EMAIL_ADDRESS"),
        ("FinancialInformation", "CreditCard", "CREDIT_CARD"),
        ("FinancialInformation", "BankAccountNumber", "IBAN_CODE"),
        ("Miscellaneous", "IP", "IP_ADDRESS"),
    ]
    # one digit off: the checksums reject them
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("NL91ABNA0417164300") and not iban_valid("NL92ABNA0417164300")
    assert run("text/anonymization", "card 4111 1111 1111 1112, iban NL92ABNA0417164300")["entities"] == []


# ---------------------------------------------------------------------------------------------------------------
# contract: registry, schemas, failures, no network
# ---------------------------------------------------------------------------------------------------------------

SAMPLE_INPUTS = {
    "text/sentiment_analysis": {"text": "I love it. The box was damaged.", "language": "en"},
    "translation/language_detection": {"text": "Guten Morgen, wie geht es dir?"},
    "text/keyword_extraction": {"text": SOLAR, "language": "en"},
    "text/summarize": {"text": SCHOOLS, "output_sentences": 2},
    "text/spell_check": {"text": "Thiis is a sentense.", "language": "en"},
    "text/moderation": {"text": "What the hell is this shit, you idiot?"},
    "text/anonymization": {"text": "Write to a@b.io or call +44 20 7946 0958 before 2024-01-31."},
}


def test_registered_as_local() -> None:
    for path in MY_PATHS:
        assert IMPLEMENTATIONS[path][1] == "local"


@pytest.mark.parametrize("path", MY_PATHS)
def test_output_validates_against_catalog_schema(path: str) -> None:
    from edenframe._catalog import get_subfeature

    try:
        entry = get_subfeature(path)
    except Exception as exc:  # the catalog is being rewritten elsewhere; report rather than fail here
        pytest.skip(f"catalog entry missing for {path}: {exc}")
    [out] = local_compute(path)([SAMPLE_INPUTS[path]])
    assert out["status"] == "success" and out["cost"] == 0.0
    fields = {k: v for k, v in out.items() if k not in ("status", "cost")}
    assert set(fields) == set(entry.output.names)
    array = pa.array([fields], type=entry.output.arrow())
    assert array.to_pylist()[0] == fields  # nothing dropped or truncated (ints stay ints, floats stay floats)
    assert_plain_json(fields)


def assert_plain_json(value: object) -> None:
    """Only built-in JSON types (no numpy scalars leaking out of a library)."""
    if isinstance(value, dict):
        assert all(type(k) is str for k in value)
        for v in value.values():
            assert_plain_json(v)
    elif isinstance(value, list):
        for v in value:
            assert_plain_json(v)
    else:
        assert value is None or type(value) in (str, int, float, bool), (type(value), value)


@pytest.mark.parametrize("path", MY_PATHS)
def test_bad_items_fail_alone(path: str) -> None:
    good = SAMPLE_INPUTS[path]
    outputs = local_compute(path)([good, {"text": ""}, {"text": None}, good])
    assert [o["status"] for o in outputs] == ["success", "fail", "fail", "success"]
    assert outputs[0] == outputs[3]
    for failed in outputs[1:3]:
        assert failed["cost"] == 0.0 and failed["error"]["message"]


def test_modules_import_and_run_without_network() -> None:
    """Every backend imports and computes with sockets disabled (and an empty HOME): nothing is downloaded."""
    script = textwrap.dedent(
        f"""
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network disabled in this test")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from edenframe._local import local_compute
        inputs = {SAMPLE_INPUTS!r}
        for path, item in inputs.items():
            [out] = local_compute(path)([item])
            assert out["status"] == "success", (path, out)
        print("ok")
        """
    )
    env = {**os.environ, "HOME": "/nonexistent-home-for-test", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_runs_leave_the_garbage_collector_as_they_found_it() -> None:
    """Hot loops pause the cyclic collector; concurrent runs in threads (one finishing while another still pauses it)
    must leave it on, and a user who turned it off keeps it off."""
    import gc
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    import edenframe  # noqa: F401  (registers df.eden)

    frames = [pd.DataFrame({"t": [f"Merci beaucoup, c'est parfait {i} {j}" for j in range(600)]}) for i in range(4)]

    def detect(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.eden.detect_language("t", providers="local", progress=False)

    assert gc.isenabled()
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(detect, frames))
    assert gc.isenabled()
    assert all((out["detect_language_items"].list[0].struct.field("language") == "fr").all() for out in outputs)
    gc.disable()
    try:
        detect(frames[0])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_backend_crash_fails_only_the_rows_that_cause_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend that raises on a whole chunk (as a batch library can) fails only the rows that make it raise, with
    the exception's message; every other row keeps its own result, on its own index label."""
    import pandas as pd

    import edenframe
    from edenframe._local import moderation

    texts = [f"row {i}: the delivery was fine" for i in range(3000)]
    texts[1500], texts[2500] = "boom once", "boom twice"
    frame = pd.DataFrame({"t": texts}, index=[f"k{i}" for i in reversed(range(3000))])
    clean = frame.eden.moderate("t", providers="local", progress=False)

    real = moderation.compute

    def crashing(items: list[dict]) -> list[dict]:
        if any(item["text"].startswith("boom") for item in items):
            raise RuntimeError("the word list exploded")
        return real(items)

    monkeypatch.setattr(moderation, "compute", crashing)
    with pytest.warns(edenframe.RowErrorWarning, match="2 of 3000 rows failed"):
        out = frame.eden.moderate("t", providers="local", progress=False)
    errors = out["moderate_error"]
    assert "RuntimeError: the word list exploded" in errors["k499"]
    failed = errors.notna()
    assert list(errors.index[failed]) == ["k1499", "k499"]
    kept = out.loc[~failed, "moderate_nsfw_likelihood"]
    pd.testing.assert_series_equal(kept, clean.loc[~failed, "moderate_nsfw_likelihood"])


def test_a_backend_failing_on_everything_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend that cannot work at all (a model that does not load) fails every row with its message after a few
    calls, not after one call per row."""
    import pandas as pd

    import edenframe
    from edenframe._local import moderation

    calls = []

    def broken(items: list[dict]) -> list[dict]:
        calls.append(len(items))
        raise OSError("model file is missing")

    monkeypatch.setattr(moderation, "compute", broken)
    frame = pd.DataFrame({"t": [f"text number {i}" for i in range(5000)]})
    with pytest.warns(edenframe.RowErrorWarning, match="5000 of 5000 rows failed"):
        out = frame.eden.moderate("t", providers="local", progress=False)
    assert out["moderate_error"].str.contains("OSError: model file is missing").all()
    assert len(calls) <= 16, calls


@pytest.mark.parametrize(
    ("method", "options", "reason"),
    [
        ("sentiment", {"language": "fr"}, "English only"),
        ("moderate", {"language": "fr"}, "word list"),
        ("spell_check", {"language": "ja"}, "no dictionary for language='ja'"),
        ("embed", {"dimensions": 1000}, "384-dimensional"),
        ("search", {"query": " "}, "query must be a non-empty string"),
        ("topics", {"language": "de"}, "English only"),
    ],
)
def test_local_call_that_would_fail_every_row_is_refused_before_it_runs(
    method: str, options: dict, reason: str
) -> None:
    import pandas as pd

    import edenframe

    frame = pd.DataFrame({"text": ["The screen is bright.", "Battery died in a day."]})
    with pytest.raises(edenframe.ValidationError, match=f"cannot do this {method}\\(\\) call: .*{reason}") as info:
        getattr(frame.eden, method)("text", providers="local", progress=False, **options)
    assert "remote provider" in str(info.value)
    if "language" in options:  # the same call in English runs, every row with a result
        out = getattr(frame.eden, method)("text", providers="local", progress=False, language="en")
        assert out.attrs["edenframe"]["failed"] == 0
