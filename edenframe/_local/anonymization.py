"""text/anonymization offline: regular expressions plus checksums, standard library only.

Found: e-mail addresses, URLs, IBANs (length per country + ISO 7064 mod-97), payment card numbers (issuer prefix,
length, Luhn), IPv4/IPv6 addresses (validated by `ipaddress`), phone numbers (international "+…"/"00…" and common
national layouts) and calendar dates (numeric with a valid day and month, or with an English month name), with a
time of day attached when one follows the date. Names and postal addresses need a language model: not found here.

Categories and subcategories are Eden AI's (edenai-apis `features/text/anonymization`): e.g. IBAN ->
FinancialInformation / BankAccountNumber, IP address -> Miscellaneous / IP. `result` is the text with every
character of every entity replaced by "*", as Eden AI does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ._text import get_text, run_each


@dataclass(frozen=True)
class Kind:
    category: str
    subcategory: str
    original_label: str
    confidence: float
    priority: int  # breaks ties between overlapping candidates of equal length: lower wins


EMAIL = Kind("PersonalInformation", "Email", "EMAIL_ADDRESS", 0.95, 0)
URL = Kind("Miscellaneous", "URL", "URL", 0.9, 1)
IBAN = Kind("FinancialInformation", "BankAccountNumber", "IBAN_CODE", 1.0, 2)
CREDIT_CARD = Kind("FinancialInformation", "CreditCard", "CREDIT_CARD", 0.95, 3)
IP = Kind("Miscellaneous", "IP", "IP_ADDRESS", 0.9, 4)
DATE = Kind("DateAndTime", "DateTime", "DATE_TIME", 0.85, 5)
PHONE = Kind("PersonalInformation", "Phone", "PHONE_NUMBER", 0.75, 6)

Candidate = tuple[int, int, Kind]

# --- e-mail and URL --------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])?"  # local part
    r"@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b"  # domain
)
_URL = re.compile(r"(?<![\w@])(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?'\"»"


def _emails(text: str) -> Iterator[Candidate]:
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end(), EMAIL


def _urls(text: str) -> Iterator[Candidate]:
    for m in _URL.finditer(text):
        start, end = m.span()
        while end > start:
            last = text[end - 1]
            if last in _URL_TRAILING:
                end -= 1
            elif last in ")]}" and text.count({")": "(", "]": "[", "}": "{"}[last], start, end) < text.count(
                last, start, end
            ):
                end -= 1  # a closing bracket that the URL did not open belongs to the sentence
            else:
                break
        if end - start > len("www.") + 2:
            yield start, end, URL


# --- IBAN ------------------------------------------------------------------------------------------------------

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip

_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(\d{2})(?=[ ]?[A-Z0-9])")


def iban_valid(compact: str) -> bool:
    """ISO 13616 check: country length and ISO 7064 mod-97-10 == 1."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _ibans(text: str) -> Iterator[Candidate]:
    for m in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(m.group(1))
        if length is None:
            continue
        # walk forward over letters and digits, allowing one space between them (groups of 4 in print)
        chars: list[str] = []
        index = m.start()
        while index < len(text) and len(chars) < length:
            ch = text[index]
            if ch.isascii() and (ch.isdigit() or ch.isupper()):
                chars.append(ch)
                index += 1
            elif ch == " " and chars and index + 1 < len(text) and text[index + 1].isalnum():
                index += 1
            else:
                break
        at_boundary = not (index < len(text) and text[index].isalnum())
        if len(chars) == length and at_boundary and iban_valid("".join(chars)):
            yield m.start(), index, IBAN


# --- payment cards ----------------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\w.,/-])\d(?:[ -]?\d){11,18}(?![\w/]|[.,-]\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_network_ok(digits: str) -> bool:
    """Issuer prefix and length of the major networks (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay,
    Maestro)."""
    n = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649 or 622126 <= six <= 622925:
        return 16 <= n <= 19
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19
    if 3528 <= four <= 3589:
        return 16 <= n <= 19
    if two == 62:
        return 16 <= n <= 19
    if two == 50 or 56 <= two <= 69:
        return 12 <= n <= 19
    return False


def _cards(text: str) -> Iterator[Candidate]:
    for m in _CARD.finditer(text):
        raw = m.group()
        separators = {ch for ch in raw if not ch.isdigit()}
        if len(separators) > 1:
            continue  # "4111-1111 1111" mixes separators: not how card numbers are written
        digits = "".join(ch for ch in raw if ch.isdigit())
        if _card_network_ok(digits) and luhn_valid(digits):
            yield m.start(), m.end(), CREDIT_CARD


# --- IP addresses -----------------------------------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d|\w)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")
_VERSION_CONTEXT = re.compile(r"\b(?:version|ver|release|build|firmware|v)\.?\s*$", re.IGNORECASE)


def _ips(text: str) -> Iterator[Candidate]:
    for m in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        if _VERSION_CONTEXT.search(text[max(0, m.start() - 12) : m.start()]):
            continue
        yield m.start(), m.end(), IP
    for m in _IPV6.finditer(text):
        candidate = m.group()
        if sum(1 for group in candidate.split(":") if group) < 2:
            continue  # "a::", "::" and times like "12:30:" are not addresses
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield m.start(), m.end(), IP


# --- dates ------------------------------------------------------------------------------------------------------

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3, "apr": 4,
    "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"  # noqa: E501
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|2[01]\d\d)"
# an optional time of day right after a date: " 14:30", "T14:30:00Z", ", at 3:30 PM", " 9:05 a.m."
_TIME = (
    r"(?:(?:[ ,]+(?:at[ ]+)?|T)(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:[ ]?(?:[AaPp][Mm]\b|[AaPp]\.[Mm]\.))?(?:Z|[+-]\d\d:?\d\d)?)?"
)

_DATE_PATTERNS = (
    # 2024-03-15, 2024/03/15, 2024.03.15
    re.compile(
        rf"(?<![\w.:/-])(?P<y>{_YEAR})(?P<s>[-/.])(?P<m>0?[1-9]|1[0-2])(?P=s)(?P<d>0?[1-9]|[12]\d|3[01])"
        rf"{_TIME}(?![\w/-]|\.\d)"
    ),
    # 15/03/2024, 03/15/2024, 15.03.2024, 15-03-2024, 3/15/24
    re.compile(
        rf"(?<![\w.:/-])(?P<a>\d{{1,2}})(?P<s>[-/.])(?P<b>\d{{1,2}})(?P=s)(?P<y>{_YEAR}|\d\d)"
        rf"{_TIME}(?![\w/-]|\.\d)"
    ),
    # 15 March 2024, 15th of March, 2024, 15 Mar 2024
    re.compile(rf"(?<![\w])(?P<d>{_DAY})[ ]+(?:of[ ]+)?(?P<mn>{_MONTH})\.?,?[ ]+(?P<y>{_YEAR}){_TIME}(?!\w)"),
    # March 15, 2024, Mar. 15th 2024, March 15 (no year)
    re.compile(rf"(?<![\w])(?P<mn>{_MONTH})\.?[ ]+(?P<d>{_DAY})(?:,?[ ]+(?P<y>{_YEAR}))?{_TIME}(?![\w:]|[.,]\d)"),
    # 15 March (no year)
    re.compile(rf"(?<![\w])(?P<d>{_DAY})[ ]+(?:of[ ]+)?(?P<mn>{_MONTH})(?!\w)"),
)


def _valid_day_month(day: int, month: int) -> bool:
    days = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _date_ok(m: re.Match[str]) -> bool:
    groups = m.groupdict()
    if groups.get("mn"):
        name = groups["mn"]
        if name.lower() == "may" and not name[0].isupper():
            return False  # "you may 5…": the verb
        if not name[0].isupper():
            return False
        month = _MONTHS[name.lower().rstrip(".")]
        day = int(re.sub(r"\D", "", groups["d"]))
        return _valid_day_month(day, month)
    if groups.get("a") is not None:
        a, b = int(groups["a"]), int(groups["b"])
        if groups["s"] == "." and len(groups["y"]) == 2:
            return False  # "1.2.30" is a version far more often than a date
        if groups["s"] == "-" and len(groups["y"]) == 2:
            return False
        return _valid_day_month(a, b) or _valid_day_month(b, a)
    return _valid_day_month(int(groups["d"]), int(groups["m"]))


def _dates(text: str) -> Iterator[Candidate]:
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            if _date_ok(m):
                end = m.end()
                while end > m.start() and text[end - 1] in " ,":
                    end -= 1
                yield m.start(), end, DATE


# --- phone numbers ----------------------------------------------------------------------------------------------

# international: +33 6 12 34 56 78, +1 (415) 555-0132, +44 20 7946 0958, 0044 20 7946 0958, +4915112345678
_PHONE_INTL = re.compile(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .\-/]?\(?\d{1,5}\)?){1,6}(?![\w])")
# national, with separators: (415) 555-0132, 415-555-0132, 415.555.0132, 1-800-555-0199
_PHONE_NANP = re.compile(r"(?<![\w+.-])(?:1[ .-])?(?:\(\d{3}\)[ ]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w]|[.-]\d)")
# national with a trunk 0: 06 12 34 56 78, 01.23.45.67.89, 020 7946 0958, 07700 900123, 030 1234567, 0612345678
_PHONE_TRUNK = re.compile(r"(?<![\w+.,/-])\(?0[1-9]\d{0,4}\)?(?:[ .\-/]?\d{2,8}){1,4}(?![\w]|[.,/-]\d)")

_PHONE_CONTEXT = re.compile(r"(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text)\b", re.IGNORECASE)


def _phone_digits(raw: str) -> int:
    return sum(ch.isdigit() for ch in raw)


def _phones(text: str) -> Iterator[Candidate]:
    for m in _PHONE_INTL.finditer(text):
        start, end = m.span()
        while end > start and not text[end - 1].isdigit():
            end -= 1
        if 8 <= _phone_digits(text[start:end]) <= 15 + (2 if text[start] == "0" else 0):
            yield start, end, PHONE
    for m in _PHONE_NANP.finditer(text):
        yield m.start(), m.end(), PHONE
    for m in _PHONE_TRUNK.finditer(text):
        raw = m.group()
        digits = _phone_digits(raw)
        if not 9 <= digits <= 12:
            continue
        separated = any(not ch.isdigit() for ch in raw)
        context = _PHONE_CONTEXT.search(text[max(0, m.start() - 25) : m.start()])
        if not separated and digits not in (10, 11) and not context:
            continue
        yield m.start(), m.end(), PHONE


_FINDERS: tuple[Callable[[str], Iterator[Candidate]], ...] = (_emails, _urls, _ibans, _cards, _ips, _dates, _phones)


def find_entities(text: str) -> list[Candidate]:
    """Non-overlapping (start, end, kind) spans: longer candidates first, then by kind priority."""
    candidates = [c for finder in _FINDERS for c in finder(text) if c[1] > c[0]]
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[2].priority, c[0]))
    taken: list[Candidate] = []
    for start, end, kind in candidates:
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, kind))
    return sorted(taken, key=lambda c: c[0])


def _one(item: dict) -> dict[str, Any]:
    text = get_text(item)
    entities = []
    pieces = []  # the text with each entity replaced by as many "*"
    done = 0
    for start, end, kind in find_entities(text):
        pieces += (text[done:start], "*" * (end - start))
        done = end
        entities.append(
            {
                "offset": start,
                "length": end - start,
                "category": kind.category,
                "subcategory": kind.subcategory,
                "original_label": kind.original_label,
                "content": text[start:end],
                "confidence_score": kind.confidence,
            }
        )
    return {"result": "".join(pieces) + text[done:] if pieces else text, "entities": entities}


def compute(items: list[dict]) -> list[dict]:
    return run_each(items, _one)
