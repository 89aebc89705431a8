"""Offline PII redaction: typed placeholders, counts per type, checksums where the format has one.

Detectors run in a fixed order and each replaces what it finds with a placeholder (`<EMAIL>`, `<PHONE>` …), so a
later detector never sees an earlier one's match: secrets and credentialed URLs first (they contain `@` and
digits), then emails, IBANs (mod-97 checksum and the country's length), credit cards (Luhn), US SSNs, IP addresses
(validated by `ipaddress`; public only by option) and phone numbers (found and validated by `phonenumbers`, Google's
libphonenumber as Presidio uses it, for a region: numbers without a country code are read as that region's).
The secret patterns follow detect-secrets' keyword and token plugins (facts about formats, not their code).
Person names and places need a NER model: `Redactor(ner=True)` uses Presidio + spaCy when installed.
"""
from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

NER_HINT = ("pip install presidio-analyzer spacy && python -m spacy download en_core_web_sm "
            "(name and place redaction runs offline once the spaCy model is installed)")

_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)
_API_KEY = re.compile(
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"                      # AWS access key id
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b"  # GitHub tokens
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}\b"                   # Slack
    r"|\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b"           # OpenAI / Anthropic style
    r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}\b"           # Stripe
    r"|\bAIza[0-9A-Za-z_-]{35}\b"                          # Google API key
    r"|\bhf_[A-Za-z0-9]{30,}\b"                            # Hugging Face token
    r"|\bglpat-[A-Za-z0-9_-]{20,}"                         # GitLab personal access token
    r"|\b(?:npm|pypi-)[A-Za-z0-9_-]{36,}"                  # npm / PyPI upload tokens
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")  # JWT
# detect-secrets' keyword denylist: a name containing one of these, then `=`/`:` (optionally quoted), then a value.
_SECRET_NAME = (r"[A-Za-z0-9_.-]*?(?:api[_-]?key|auth[_-]?key|service[_-]?key|account[_-]?key|db[_-]?key|"
                r"private[_-]?key|priv[_-]?key|client[_-]?key|access[_-]?key|secret|passwd|password|pwd|pass[_-]?phrase|"
                r"access[_-]?token|auth[_-]?token|refresh[_-]?token|credentials?)[A-Za-z0-9_-]*")
_ASSIGNED_SECRET = re.compile(
    r"(?i)(?<![A-Za-z0-9])(" + _SECRET_NAME + r"[\"']?\s*(?::=|=>|[:=])\s*)"
    r"(?:\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'|([^\s\"',;<>]{6,}))")
_AUTH_HEADER = re.compile(r"(?i)\b((?:authorization|proxy-authorization)\s*[:=]\s*[\"']?(?:bearer|basic|token|digest)\s+|"
                          r"\bbearer\s+)([A-Za-z0-9._~+/=-]{8,})")
_URL_CREDENTIALS = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)([^\s:/@]+:[^\s/@]+)@")
# \w is Unicode: internationalised addresses (josé@bücher.de) too; the top-level domain is letters or punycode.
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.(?:[^\W\d_]{2,}|xn--[a-z0-9-]+)(?![\w-])")
_IBAN_START = re.compile(r"(?i)(?<![A-Z0-9])[A-Z]{2}\d{2}")  # then exactly the country's length, spaces allowed
_DIGIT_GROUPS = re.compile(r"(?<![\d.-])\d+(?:[ .-]\d+)*(?!\d)")  # a run of digit groups (a card is 13–19 digits in it)
_GROUP = re.compile(r"\d+")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:)?(?![0-9A-Fa-f:])")
_NOT_PHONE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$"  # dates
                        r"|^\d{1,3}(?:\.\d{1,3}){3}$"  # IPv4 addresses left alone by public_ips_only
                        r"|^\d{3}-\d{2}-\d{4}$")  # SSN-shaped numbers that failed the SSN rules


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# ISO 13616 registry: the length of each country's IBAN (a wrong length is not an IBAN, whatever its checksum).
IBAN_LENGTHS = dict(
    AD=24, AE=23, AL=28, AT=20, AZ=28, BA=20, BE=16, BG=22, BH=22, BI=27, BR=29, BY=28, CH=21, CR=22, CY=28, CZ=24,
    DE=22, DJ=27, DK=18, DO=28, EE=20, EG=29, ES=24, FI=18, FK=18, FO=18, FR=27, GB=22, GE=22, GI=23, GL=18, GR=27,
    GT=28, HR=21, HU=28, IE=22, IL=23, IQ=23, IS=26, IT=27, JO=30, KW=30, KZ=20, LB=28, LC=32, LI=21, LT=20, LU=20,
    LV=21, LY=25, MC=27, MD=24, ME=22, MK=19, MN=20, MR=27, MT=31, MU=30, NI=28, NL=18, NO=15, OM=23, PK=24, PL=28,
    PS=29, PT=25, QA=29, RO=24, RS=22, RU=33, SA=24, SC=31, SD=18, SE=24, SI=19, SK=24, SM=27, SO=23, ST=25, SV=28,
    TL=23, TN=24, TR=26, UA=29, VA=22, VG=24, XK=20)


def iban_valid(candidate: str) -> bool:
    """ISO 13616: the country's length, then move the first four characters to the end, letters → 10..35, the
    number mod 97 must be 1."""
    iban = candidate.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


@dataclass
class Redactor:
    """`redact(text)` → (redacted text, Counter of placeholder types). Reusable and thread-safe."""

    public_ips_only: bool = False
    ner: bool = False
    phone_region: str = "US"
    _analyzer: object = field(default=None, repr=False)

    def __post_init__(self):
        import phonenumbers

        self.phone_region = self.phone_region.upper()
        if self.phone_region not in phonenumbers.SUPPORTED_REGIONS:
            from honed.core.errors import HonedError

            raise HonedError(f"`{self.phone_region}` is not a phone region phonenumbers knows",
                             "use a two-letter ISO 3166 country code such as US, GB, DE, FR")
        if self.ner:
            self._analyzer = load_ner()

    def redact(self, text: str) -> tuple[str, Counter]:
        counts: Counter = Counter()
        if not text:
            return text, counts
        for detector in _DETECTORS:
            if detector.gate(text):
                text = detector.run(self, text, counts)
        if self._analyzer is not None:
            text = self._redact_entities(text, counts)
        return text, counts

    def _redact_entities(self, text: str, counts: Counter) -> str:
        results = self._analyzer.analyze(text=text, language="en", entities=["PERSON", "LOCATION"])
        for result in sorted(results, key=lambda r: r.start, reverse=True):
            if text[result.start:result.end].startswith("<"):
                continue
            text = text[:result.start] + f"<{result.entity_type}>" + text[result.end:]
            counts[result.entity_type] += 1
        return text

    def is_redacted_ip(self, match: str) -> bool:
        try:
            ip = ipaddress.ip_address(match)
        except ValueError:
            return False
        return ip.is_global if self.public_ips_only else True


def load_ner():
    """Presidio's analyzer with a local spaCy model, or a HonedError with the install hint."""
    from honed.core.errors import HonedError

    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError:
        raise HonedError("name and place redaction needs Presidio, which is not installed", NER_HINT) from None
    import importlib.util

    model = next((m for m in ("en_core_web_lg", "en_core_web_md", "en_core_web_sm")
                  if importlib.util.find_spec(m) is not None), None)
    if model is None:
        raise HonedError("name and place redaction needs a spaCy English model, none is installed", NER_HINT)
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]})
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])


# --- detectors ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Detector:
    gate: Callable[[str], bool]  # cheap pre-check: skip the regex when it cannot match
    run: Callable[["Redactor", str, Counter], str]


def _sub(pattern: re.Pattern, kind: str, accept: Callable[[re.Match], bool] | None = None,
         replace: Callable[[re.Match], str] | None = None):
    def run(redactor: Redactor, text: str, counts: Counter) -> str:
        def one(match: re.Match) -> str:
            if accept is not None and not accept(redactor, match):
                return match.group(0)
            counts[kind] += 1
            return replace(match) if replace else f"<{kind}>"
        return pattern.sub(one, text)
    return run


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _cards(_, text: str, counts: Counter) -> str:
    """Card numbers (13–19 digits, Luhn-valid) inside any run of digit groups: `0000 4111 1111 1111 1111` holds
    one. Windows start and end at group boundaries, the longest valid window first."""
    spans = []
    for run in _DIGIT_GROUPS.finditer(text):
        groups = [(run.start() + g.start(), run.start() + g.end()) for g in _GROUP.finditer(run.group(0))]
        spans += _card_windows(text, groups)
    return _replace_spans(text, spans, "CREDIT_CARD", counts)


def _card_windows(text: str, groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    found, i = [], 0
    while i < len(groups):
        for j in range(len(groups) - 1, i - 1, -1):
            digits = "".join(text[s:e] for s, e in groups[i:j + 1])
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                found.append((groups[i][0], groups[j][1]))
                i = j
                break
        i += 1
    return found


def _ibans(_, text: str, counts: Counter) -> str:
    """IBANs in either case, each read to exactly its country's length (so a following word is never swallowed)."""
    spans = []
    for m in _IBAN_START.finditer(text):
        need = IBAN_LENGTHS.get(m.group(0)[:2].upper())
        end = _iban_end(text, m.start(), need) if need else None
        if end is not None and iban_valid(text[m.start():end]):
            spans.append((m.start(), end))
    return _replace_spans(text, spans, "IBAN", counts)


def _iban_end(text: str, start: int, need: int) -> int | None:
    """Where an IBAN of `need` characters starting at `start` ends (single spaces allowed between characters)."""
    got, i = 0, start
    while i < len(text) and got < need:
        if text[i].isascii() and text[i].isalnum():
            got, i = got + 1, i + 1
        elif text[i] == " " and got and i + 1 < len(text) and text[i + 1].isalnum():
            i += 1
        else:
            return None
    if got < need or (i < len(text) and text[i].isalnum()):
        return None
    return i


def _ipv6(redactor: Redactor, m: re.Match) -> bool:
    value = m.group(0)
    return sum(c.isalnum() for c in value) >= 3 and redactor.is_redacted_ip(value)


def _ipv4(redactor: Redactor, m: re.Match) -> bool:
    """An IPv4 address, unless the text calls it a version (`version 1.2.3.4`, `v1.2.3.4`, `build 10.0.0.1`)."""
    if _VERSION_BEFORE.search(m.string, max(0, m.start() - 16), m.start()):
        return False
    return redactor.is_redacted_ip(m.group(0))


_VERSION_BEFORE = re.compile(r"(?i)(?:\bversion|\bver\.?|\bv|\brelease|\bbuild|\bfirmware|\bfw)\s*$")
# Context that makes a digit run an identifier rather than a phone number.
_ID_BEFORE = re.compile(r"(?i)(?:\bisbn(?:-1[03])?|\border|\bticket|\binvoice|\btracking(?:\s+(?:number|no\.?))?|"
                        r"\bref(?:erence)?|\bsku|\bserial|\bcase|#)\s*(?:number|no\.?|nr\.?|id)?\s*[:#]?\s*$")
_YEAR_ID = re.compile(r"^(?:19|20)\d\d-\d+$")  # 2024-000123: a year-prefixed identifier
_ISBN_SHAPE = re.compile(r"^\d{1,5}-\d{1,7}-\d{1,7}-[\dX]$|^97[89]-\d{1,5}-\d{1,7}-\d{1,7}-\d$")
# Regions tried for national numbers with a trunk 0 (020 7946 0958, 07700900123, 01 23 45 67 89) whatever the
# region: such a number is redacted when it is valid in one of them. A leading 00 is an international prefix
# (handled above), so `00123456789` is never read this way.
_NATIONAL_FALLBACK = ("GB", "DE", "FR", "IT", "ES", "NL", "BE", "AT", "CH", "AU", "IN", "IE")
_SEPARATED_TRUNK = re.compile(r"(?<![\w+.-])0[1-9](?:[ .-]?\d){7,10}(?![\w-]|[.]\d)")


def _phones(redactor: Redactor, text: str, counts: Counter) -> str:
    """Phone numbers found by libphonenumber for the region, `00`-prefixed international numbers, and separated
    national numbers valid in a common region; identifiers by context (order, ISBN, year-prefixed) are kept."""
    import phonenumbers
    from phonenumbers import Leniency, PhoneNumberMatcher

    spans = []
    for region, idd_only in ((redactor.phone_region, False), ("DE", True)):  # DE dials abroad with 00
        if idd_only and "00" not in text:  # that pass keeps only numbers written from 00: none can be here
            continue
        for m in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
            if (not idd_only or m.raw_string.startswith("00")) and not _is_identifier(text, m.start, m.raw_string):
                spans.append((m.start, m.end))
    for m in _SEPARATED_TRUNK.finditer(text):
        if _is_identifier(text, m.start(), m.group(0)):
            continue
        if any(_valid_in(phonenumbers, m.group(0), r) for r in _NATIONAL_FALLBACK):
            spans.append((m.start(), m.end()))
    return _replace_spans(text, spans, "PHONE", counts)


def _valid_in(phonenumbers, value: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, region))
    except phonenumbers.NumberParseException:
        return False


def _is_identifier(text: str, start: int, value: str) -> bool:
    if _YEAR_ID.match(value) or _ISBN_SHAPE.match(value) or _NOT_PHONE.match(value):
        return True
    return bool(_ID_BEFORE.search(text, max(0, start - 24), start))


def _replace_spans(text: str, spans: list[tuple[int, int]], kind: str, counts: Counter) -> str:
    """Replace non-overlapping spans (the first found wins an overlap) with `<kind>`."""
    chosen: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if chosen and start < chosen[-1][1]:
            continue
        chosen.append((start, end))
    for start, end in reversed(chosen):
        text = text[:start] + f"<{kind}>" + text[end:]
    counts[kind] += len(chosen)
    if not chosen:
        del counts[kind]
    return text


def _assigned(m: re.Match) -> str:
    """Keep the name and the quotes, replace the whole value (a quoted password may hold spaces)."""
    if m.group(2) is not None:
        return m.group(1) + '"<SECRET>"'
    if m.group(3) is not None:
        return m.group(1) + "'<SECRET>'"
    return m.group(1) + "<SECRET>"


def _assigned_accept(_, m: re.Match) -> bool:
    value = next(g for g in m.groups()[1:] if g is not None)
    return not value.startswith("<") and value.strip() != ""


_DETECTORS = (
    _Detector(lambda t: "-----BEGIN" in t, _sub(_PRIVATE_KEY, "SECRET")),
    _Detector(lambda t: True, _sub(_API_KEY, "API_KEY")),
    _Detector(lambda t: "=" in t or ":" in t, _sub(_ASSIGNED_SECRET, "SECRET", _assigned_accept, _assigned)),
    _Detector(lambda t: "earer" in t or "uthorization" in t or "EARER" in t or "UTHORIZATION" in t,
              _sub(_AUTH_HEADER, "SECRET", replace=lambda m: m.group(1) + "<SECRET>")),
    _Detector(lambda t: "://" in t, _sub(_URL_CREDENTIALS, "CREDENTIALS", replace=lambda m: m.group(1) + "<CREDENTIALS>@")),
    _Detector(lambda t: "@" in t, _sub(_EMAIL, "EMAIL")),
    _Detector(_has_digit, _ibans),
    _Detector(_has_digit, _cards),
    _Detector(lambda t: "-" in t and _has_digit(t), _sub(_SSN, "SSN")),
    _Detector(lambda t: "." in t and _has_digit(t), _sub(_IPV4, "IP_ADDRESS", _ipv4)),
    _Detector(lambda t: "::" in t or t.count(":") >= 3, _sub(_IPV6, "IP_ADDRESS", _ipv6)),
    _Detector(lambda t: sum(c.isdigit() for c in t) >= 7, _phones),
)


def redact_value(value: object, redactor: Redactor, counts: Counter) -> object:
    """Redact every string inside a JSON value (dicts, lists), and long integers (a card number stored as a JSON
    number becomes the string "<CREDIT_CARD>"); keys, booleans and floats are left alone."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**7:
        text, found = redactor.redact(str(value))
        counts.update(found)
        return text if found else value
    if isinstance(value, str):
        text, found = redactor.redact(value)
        counts.update(found)
        return text
    if isinstance(value, list):
        return [redact_value(v, redactor, counts) for v in value]
    if isinstance(value, dict):
        return {k: (v if k == "meta" else redact_value(v, redactor, counts)) for k, v in value.items()}
    return value
