"""Offline PII redaction: typed placeholders, counts per type, checksums where the format has one.

Detectors run in a fixed order and each replaces what it finds with a placeholder (`<EMAIL>`, `<PHONE>` …), so a
later detector never sees an earlier one's match: secrets and credentialed URLs first (they contain `@` and
digits), then emails, IBANs (mod-97 checksum), credit cards (Luhn), US SSNs, IP addresses (validated by
`ipaddress`; public only by option) and phone numbers (international and national formats, 8–15 digits).
Person names and places need a NER model: `Redactor(ner=True)` uses Presidio + spaCy when installed.
"""
from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

PLACEHOLDERS = ("SECRET", "API_KEY", "CREDENTIALS", "EMAIL", "IBAN", "CREDIT_CARD", "SSN", "IP_ADDRESS", "PHONE",
                "PERSON", "LOCATION")
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
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")  # JWT
_ASSIGNED_SECRET = re.compile(
    r"(?i)\b((?:api[_-]?key|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token|password|passwd|pwd)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',;]{6,})")
_URL_CREDENTIALS = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)([^\s:/@]+:[^\s/@]+)@")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:)?(?![0-9A-Fa-f:])")
_PHONE = re.compile(
    r"(?<![\w+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,11}(?:[ .-]\d{1,8}){0,5}(?![\w-]|[.]\d)")
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


def iban_valid(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters → 10..35, the number mod 97 must be 1."""
    iban = candidate.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


@dataclass
class Redactor:
    """`redact(text)` → (redacted text, Counter of placeholder types). Reusable and thread-safe."""

    public_ips_only: bool = False
    ner: bool = False
    _analyzer: object = field(default=None, repr=False)

    def __post_init__(self):
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


def _card(_, m: re.Match) -> bool:
    digits = _digits(m.group(0))
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _iban(_, m: re.Match) -> bool:
    return iban_valid(m.group(0))


def _ip(redactor: Redactor, m: re.Match) -> bool:
    return redactor.is_redacted_ip(m.group(0))


def _ipv6(redactor: Redactor, m: re.Match) -> bool:
    value = m.group(0)
    return sum(c.isalnum() for c in value) >= 3 and redactor.is_redacted_ip(value)


_US_PHONE = re.compile(r"^\d{3}[-. ]\d{3}[-. ]\d{4}$")


def _phone(_, m: re.Match) -> bool:
    """International (+CC …, 8–15 digits), (area) local, US 3-3-4, or national trunk-prefix 0… (9–11 digits)."""
    value = m.group(0)
    digits = _digits(value)
    if not 8 <= len(digits) <= 15 or _NOT_PHONE.match(value):
        return False
    if value.startswith("+"):
        return True
    if value.startswith("("):
        return len(digits) >= 9
    if _US_PHONE.match(value):
        return True
    return digits[0] == "0" and 9 <= len(digits) <= 11


_DETECTORS = (
    _Detector(lambda t: "-----BEGIN" in t, _sub(_PRIVATE_KEY, "SECRET")),
    _Detector(lambda t: True, _sub(_API_KEY, "API_KEY")),
    _Detector(lambda t: "=" in t or ":" in t, _sub(_ASSIGNED_SECRET, "SECRET", replace=lambda m: m.group(1) + "<SECRET>")),
    _Detector(lambda t: "://" in t, _sub(_URL_CREDENTIALS, "CREDENTIALS", replace=lambda m: m.group(1) + "<CREDENTIALS>@")),
    _Detector(lambda t: "@" in t, _sub(_EMAIL, "EMAIL")),
    _Detector(_has_digit, _sub(_IBAN, "IBAN", _iban)),
    _Detector(_has_digit, _sub(_CARD, "CREDIT_CARD", _card)),
    _Detector(lambda t: "-" in t and _has_digit(t), _sub(_SSN, "SSN")),
    _Detector(lambda t: "." in t and _has_digit(t), _sub(_IPV4, "IP_ADDRESS", _ip)),
    _Detector(lambda t: "::" in t or t.count(":") >= 3, _sub(_IPV6, "IP_ADDRESS", _ipv6)),
    _Detector(_has_digit, _sub(_PHONE, "PHONE", _phone)),
)


def redact_value(value: object, redactor: Redactor, counts: Counter) -> object:
    """Redact every string inside a JSON value (dicts, lists); keys and non-strings are left alone."""
    if isinstance(value, str):
        text, found = redactor.redact(value)
        counts.update(found)
        return text
    if isinstance(value, list):
        return [redact_value(v, redactor, counts) for v in value]
    if isinstance(value, dict):
        return {k: (v if k == "meta" else redact_value(v, redactor, counts)) for k, v in value.items()}
    return value
