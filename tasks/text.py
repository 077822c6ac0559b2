"""Text helpers every stage agrees on: normalisation, fingerprints, sentences, language."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

import simplemma

_PUNCT_OR_SYMBOL = re.compile(r"[\W_]+", re.UNICODE)
_SPACE = re.compile(r"\s+")
_LINE_BREAK = re.compile(r"\n+")
# simplemma has no Japanese or Chinese; their full stops end sentences too.
_CJK_STOP = re.compile(r"(?<=[。！？])\s*")

# Languages the default topic profile covers; langid is restricted to these
# plus a few neighbours so that short news text is not labelled as a rare
# language it merely resembles.
LANGUAGES = ("en", "de", "ru", "ko", "ja", "fr", "uk", "zh", "es", "it")


def normalize(text: str) -> str:
    """Fold case, Unicode forms, punctuation and whitespace: what an edit must change to count."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _PUNCT_OR_SYMBOL.sub(" ", folded)).strip()


def content_hash(text: str) -> str:
    """A fingerprint of the normalised text, stable across cosmetic edits."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()[:32]


# Titles before a name that simplemma takes for the end of a sentence ("Pentagon
# press secretary Brig. Gen. Pat Ryder said", "Adm. John Kirby").
_TITLE_ABBREVIATION = re.compile(
    r"(?<![\w.])(?:Adm|Brig|Gen|Col|Lt|Maj|Capt|Cmdr|Sgt|Gov|Sen|Rep|Amb|Sec|Prof|Dr|Mr|Mrs|Ms|"
    r"Rev|Hon|St|Vice Adm|ген|полк|г-н|г-жа)\.$"
)


def split_sentences(text: str, lang: str | None = None) -> list[str]:
    """Sentences of a text in reading order; lines are never joined across a line break."""
    sentences: list[str] = []
    simplemma_lang = lang if lang in simplemma_languages() else None
    for line in _LINE_BREAK.split(text):
        line = line.strip()
        if not line:
            continue
        pending = ""
        for chunk in simplemma.split_sentences(line, lang=simplemma_lang):
            for sentence in _CJK_STOP.split(chunk):
                sentence = _SPACE.sub(" ", sentence).strip()
                if not sentence:
                    continue
                sentence = f"{pending} {sentence}" if pending else sentence
                if _TITLE_ABBREVIATION.search(sentence):
                    pending = sentence
                    continue
                pending = ""
                sentences.append(sentence)
        if pending:
            sentences.append(pending)
    return sentences


@lru_cache(maxsize=1)
def simplemma_languages() -> frozenset[str]:
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    return frozenset(SUPPORTED_LANGUAGES)


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def warm_up() -> None:
    """Load the language identifier's model now rather than on the first page."""
    _identifier()


def detect_language(text: str) -> str | None:
    """The language of a text as an ISO 639-1 code, or None when the text is too short to tell."""
    # langid's cost grows with the text; a paragraph or two decides an article.
    sample = text[:1500]
    if len(normalize(sample)) < 20:
        return None
    if _HANGUL.search(sample) and len(_HANGUL.findall(sample)) * 4 > len(sample):
        return "ko"
    lang, prob = _identifier().classify(sample)
    return lang if prob >= 0.5 else None


_HANGUL = re.compile(r"[\uac00-\ud7a3]")
