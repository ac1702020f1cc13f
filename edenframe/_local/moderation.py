"""text/moderation offline: better-profanity's English word list (with its look-alike characters: f*ck, sh1t, @ss).

A word list gives no probability, so each listed word gets a fixed score from the kind of word it is (slur, insult,
obscene, profanity; strong or mild); the text's `nsfw_likelihood_score` combines its distinct offending words
(1 - prod(1 - score)). Likelihoods use Eden AI's 1..5 scale (score < 0.2 -> 1, < 0.4 -> 2, ... >= 0.8 -> 5).

The library's list also holds many words whose usual meaning is harmless ("god", "kill", "organ", "drunk",
"vodka", "stroke"); `_HARMLESS` drops them, otherwise ordinary product reviews and news would be flagged. A few
common insults missing from the list are added (`_EXTRA_INSULTS`). Matching is one precompiled regex (a trie over
the words), case-insensitive, on whole words only.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from better_profanity import profanity
from better_profanity.utils import get_complete_path_of_file, read_wordlist

from ._shared import load_once
from ._text import ItemError, get_text, language_of, run_each

STRONG = 0.9
SLUR = 0.95
MILD = 0.55
VERY_MILD = 0.35


def _set(words: str) -> frozenset[str]:
    """A set of words from a whitespace-separated string; "~" stands for a space inside a multi-word entry."""
    return frozenset(word.replace("~", " ") for word in words.split())


_HARMLESS = _set(
    """anus areole arian aryan asanchez breasts bestial boner cipa clitoris cow~girl cow~girls cowgirl cowgirls
    crotch cum dink dinks dong dopey drunk dummy ejaculate ejaculated ejaculates ejaculating ejaculatings ejaculation
    enlargement erect erection extacy extasy facial fat fingering fisted fisty flange foobar fondle foreskin fubar
    gae gai gay gays gey gigolo glans god gonad gonads g-spot gspot he11 hell hemp heroin herp herpes herpy hitler
    hiv hoar hoare homey homoerotic hooch hookah hooker hooter hooters hootch howtokill howtomurdep hump humped
    humping hymen inbred incest jerk jerked junkie junky kill kinbaku kinky kkk klan knob kondum kondums labia len
    leper lesbians lesbos lmao loin loins lube lust lusting lusty mams masochist massa maxi menses menstruate
    menstruation meth molest muff murder nad nads naked napalm nappy nazi nazism negro niggle nimrod nipple nipples
    nob nude nutbutter omg opiate opium oral orally organ ovary ovum ovums paddy pantie panties panty pastie pasty
    pawn pcp pedophile pedophilia pedophiliac pee peepee penetrate penetration penial penile penis perversion peyote
    phalli phallic pimp playboy pms pollock poop pot potty prig prostitute prude pube pubic pubis punky puss queer
    queers quicky racy raunch reefer reich revue rum rump sadism sadist sandbar scag scantily screw screwed screwing
    scrotum seaman seamen seduce semen sex sexual shag shibari shibary skag slave sleaze sleazy slope smegma snatch
    sniper snuff sodom souse soused sperm spunk steamy stoned strip strip~club stripclub stroke suck sucked sucking
    tampon tawdry teat teets teez teste testee testes testical testicle testis thrust thug tinkle tit titi toke
    toots tramp transsexual trashy tush ugly undies unwed urinal urine uterus uzi v14gra v1gra vag vagina valium
    viagra virgin vixen vodka vomit voyeur vulgar vulva wad wang wazoo wedgie weed weenie weewee weiner weirdo wench
    whiz willies willy womb woody x-rated2g1c xx xxx yaoi yury"""
)

_SLURS = _set(
    """carpet~muncher chink coon dyke dykes fag fagg fagged fagging faggit faggitt faggot faggs fagot fagots fags
    faig faigt fudgepacker gaylord ghay ghey gook gooks gringo guido h0m0 h0mo hebe heeb heshe hom0 homo homoey honky
    injun jap japs kike kikes kraut kyke lesbo lez lezbian lezbians lezbo lezbos lezzie lezzies lezzy moolie
    muffdiver n1g n1gg n1gga n1gger nig nigg nigg3r nigg4h nigga niggah niggas niggaz nigger niggers niglet paki
    pillowbiter pinko polack queero r-tard reetard retard retarded ritard rtard ruski sausagequeen schizo she~male
    shemale spac spic spick spik spiks tard wetback whitey wigger wop"""
)

_INSULTS = _set(
    """arsehole ass-fucker asshole assmunch asswhole bastard bellend bitch bitches butthole cnut cockface cockhead
    cockmunch cockmuncher cocksucker cokmuncher cunt cunts dick dickhead donkeyribber doosh douch3 douche douchebag
    douchebags douchey duche dumass dumbass dumbasses essohbee fartknocker fatass fuck-bitch fuck-tard fuckface
    fuckhead fuckheads fucknugget fucknut fuckpuppet fucktard fuckwad fuckwhit fuckwit fukwhit fukwit hobag hoer hoor
    hore jackass jackhole knobead knobed knobend knobhead knobjocky knobjokey l3i+ch l3itch mafugly mothafucker
    mothafuckers mother~fucker motherfucker motherfuckers mtherfucker mthrfucker muthafecker muthafucker
    muthafuckker mutherfucker nob~jokey nobhead nobjocky nobjokey numbnuts pigfucker prick pricks punkass puto s-o-b
    s.o.b s0b scroat scrote shitdick shitface shithead shitfucker skank slut slutbucket slutdumper sluts
    son-of-a-bitch sumofabiatch tosser tw4t twat twathead twats twatty twunt twunter w00se wanker wh0re wh0reface
    whore whoreface whores"""
)

_MILD_INSULTS = _set("bimbo bimbos doofus floozy hussy lech moron ninny pedo scum sissy stupid terd turd")

_EXTRA_INSULTS = _set(
    "bollocks cretin cretins dimwit dipshit dipshits halfwit idiot idiots imbecile imbeciles nitwit scumbag scumbags"
)

_MILD_PROFANITY = _set(
    """4r5e arrse arse ass asses bitchin bitching fack feck fecker foad frigg frigga gfy god-dam god-damned godamn
    godamnit goddam goddammit goddamn goddamned gtfo lmfao piss-off pisser pissers pisses pissin pissing pissoff
    stfu"""
)

_VERY_MILD_PROFANITY = _set("crap damn fart piss pissed wtf")

_MILD_OBSCENE = _set(
    """auto~erotic autoerotic bdsm bondage boob boobs booobs boooobs booooobs booooooobs booty~call busty dog~style
    doggie~style doggie-style doggiestyle doggin dogging doggy~style doggy-style doggystyle erotic erotism femdom
    hentai horniest horny kooch kooches kootch masterbate masterbating masterbation masterbations masturbate
    masturbating masturbation milf nooky nudes nympho orgies orgy p0rn porn porno pornography pornos pron shaggin
    shagger shagging smut smutty stiffy teabagging three~some threesome"""
)

_VIOLENCE = _set("rape raped raper raping rapist")

# obscene (sexual) words are recognised by these parts; checked after the explicit sets above
_OBSCENE_PARTS = (
    "anal", "auto erotic", "autoerotic", "ball", "bang", "bdsm", "beastial", "bestiality", "blow", "blue waffle",
    "bondage", "boob", "booob", "booty", "bukak", "bukkak", "busty", "cawk", "clit", "cock", "cum", "cunil", "cunnil",
    "deep throat", "deepthroat", "dick", "dildo", "dlck", "dog", "eatadick", "eathairpie", "ejakulate", "erotic",
    "erotism", "f4nny", "fanny", "fanyy", "felch", "fellat", "feltch", "femdom", "finger", "fist", "flogthelog",
    "foot job", "footjob", "freex", "futanar", "gang", "goatse", "gokkun", "hamflap", "hand job", "handjob",
    "hardon", "hentai", "horn", "jack", "jerk", "j3rk", "jism", "jiz", "kawk", "kock", "kooch", "kootch", "kum",
    "kunil", "kwif", "ma5terb", "m45terb", "masterb", "master-bate", "masturb", "milf", "needthedick", "nooky",
    "nudes", "nutsack", "nympho", "orgasim", "orgasm", "orgies", "orgy", "p.u.s.s.y", "p0rn", "penisfucker",
    "phonesex", "hotsex", "gaysex", "hardcoresex", "poon", "porn", "pron", "pussy", "pussi", "pussies", "pusse",
    "queaf", "queef", "quim", "rimjaw", "rimjob", "rimming", "rumprammer", "schlong", "shag", "shamedame", "shota",
    "smut", "spooge", "stiffy", "t1t", "teabag", "three some", "threesome", "throating", "tit", "tubgirl", "wank",
    "xxx", "2 girls 1 cup", "brown shower", "golden shower", "goldenshower", "scrog", "scrud", "whoar", "whoralicious",
    "whorealicious", "whored", "whorehopper", "whorehouse", "whoring",
)  # fmt: skip

_SEPARATORS = frozenset(" -_.")


def classify(word: str) -> tuple[str, str, float] | None:
    """(category, subcategory, score) of a listed word (lower case), or None when it is treated as harmless."""
    if word in _HARMLESS:
        return None
    if word in _VIOLENCE:
        return "Violence", "Violence", MILD
    if word in _SLURS:
        return "Toxic", "Derogatory", SLUR
    if word in _INSULTS:
        return "Toxic", "Insult", STRONG
    if word in _EXTRA_INSULTS or word in _MILD_INSULTS:
        return "Toxic", "Insult", MILD
    if word in _MILD_OBSCENE:
        return "Toxic", "Obscene", MILD
    if word in _VERY_MILD_PROFANITY:
        return "Toxic", "Profanity", VERY_MILD
    if word in _MILD_PROFANITY:
        return "Toxic", "Profanity", MILD
    if any(part in word for part in _OBSCENE_PARTS):
        return "Toxic", "Obscene", STRONG
    return "Toxic", "Profanity", STRONG


def likelihood(score: float) -> int:
    """Eden AI's 1..5 likelihood for a 0..1 score."""
    return min(5, 1 + int(score * 5 + 1e-9))


@load_once
def _lexicon() -> dict[str, tuple[str, str, float]]:
    words = {w.strip().lower().rstrip(".") for w in read_wordlist(get_complete_path_of_file("profanity_wordlist.txt"))}
    words |= _EXTRA_INSULTS
    lexicon: dict[str, tuple[str, str, float]] = {}
    for word in words:
        if word and (kind := classify(word)) is not None:
            lexicon[word] = kind
    return lexicon


def _atom(char: str) -> str:
    if char in _SEPARATORS:
        return r"[\s\-_.]{1,3}"
    variants = profanity.CHARS_MAPPING.get(char)
    if variants:
        return "[" + "".join(re.escape(v) for v in sorted(set(variants))) + "]"
    return re.escape(char)


def _trie_regex(words: list[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [_atom(char) + emit(child) for char, child in sorted(node.items()) if char]
        if "" in node:
            branches.append("")  # the word may end here; longer words are tried first
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return emit(trie)


@load_once
def _matcher() -> re.Pattern[str]:
    # whole words only: no letter or digit right before or after the match
    return re.compile(r"(?<![^\W_])" + _trie_regex(sorted(_lexicon())) + r"(?![^\W_])", re.IGNORECASE)


@functools.cache
def _canonical(matched: str) -> str | None:
    """The lexicon word a matched text stands for (look-alike characters and separators undone)."""
    lexicon = _lexicon()
    lowered = matched.lower()
    if lowered in lexicon:
        return lowered
    for word, pattern in _word_patterns().items():  # only for look-alike spellings (f*ck, sh1t)
        if pattern.fullmatch(lowered):
            return word
    return None


@load_once
def _word_patterns() -> dict[str, re.Pattern[str]]:
    return {word: re.compile(_trie_regex([word]), re.IGNORECASE) for word in sorted(_lexicon())}


def _one(item: dict) -> dict[str, Any]:
    text = get_text(item)
    matcher = _matcher()
    first = matcher.search(text)
    if first is None:  # most texts: nothing listed
        return {"nsfw_likelihood": likelihood(0.0), "items": [], "nsfw_likelihood_score": 0.0}
    lexicon = _lexicon()
    found: dict[str, dict[str, Any]] = {}
    for match in matcher.finditer(text, first.start()):
        label = match.group()
        key = label.lower()
        if key in found:
            continue
        word = _canonical(key)
        if word is None:
            continue
        category, subcategory, score = lexicon[word]
        found[key] = {
            "label": label,
            "likelihood": likelihood(score),
            "likelihood_score": score,
            "category": category,
            "subcategory": subcategory,
        }
    items = list(found.values())
    overall = 1.0 - math.prod(1.0 - entry["likelihood_score"] for entry in items) if items else 0.0
    overall = round(min(overall, 0.99), 4)
    return {"nsfw_likelihood": likelihood(overall), "items": items, "nsfw_likelihood_score": overall}


def check(params: dict) -> None:
    """Pre-flight: the word list is English, so a call that names another language is refused (its texts would
    come back clean, not moderated)."""
    if language_of(params) != "en":
        raise ItemError(f"its word list (better-profanity's) is English, not language={params.get('language')!r}")


def compute(items: list[dict]) -> list[dict]:
    return run_each(items, _one)
