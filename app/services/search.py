"""Word-prefix search terms for the student search vector.

The database folds case and accents (``rollbook_fold``) and stores a tsvector of the
student's words; a search like ``"ann kow"`` becomes the tsquery
``'ann':* & 'kow':*`` which the GIN index answers without scanning the table.
The tsquery is built here as a literal (not with to_tsquery) so no user input can
produce a syntax error.
"""

from __future__ import annotations

import re
import unicodedata

from app.domain.text_limits import cut_search_text

_WORD_PARTS = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERMS = 8


def quote_prefix(lexeme: str) -> str:
    escaped = lexeme.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}':*"


def search_terms(text: str) -> list[str]:
    """The prefixes a search text asks for, in order, without duplicates.

    An e-mail address is kept whole (it is one word in the vector); anything else is
    split into its letter/digit runs, as the vector was ("O'Brien" -> o, brien), so a
    domain typed on its own ("@newschool.org", "newschool.org") asks for its words.
    """
    terms: list[str] = []
    # A pasted page of text is cut, not handed to the database: a word longer than
    # 2,047 bytes is an error in a tsquery (SEARCH_TEXT_LIMIT is far below it).
    text = cut_search_text(text)
    # Control characters (a pasted NUL, a tab from a spreadsheet) are never part of a word.
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    for word in text.split():
        whole_address = "@" in word.lstrip("@")
        parts = [word.lower()] if whole_address else _WORD_PARTS.findall(word.lower())
        for part in parts:
            if part and part not in terms:
                terms.append(part)
    return terms[:MAX_TERMS]


def prefix_tsquery(text: str) -> str | None:
    """A tsquery literal matching every word of ``text`` as a prefix, or None."""
    terms = search_terms(text)
    if not terms:
        return None
    return " & ".join(quote_prefix(term) for term in terms)
