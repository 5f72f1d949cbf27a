"""Near-duplicate text: cosine similarity of TF-IDF character 4-grams.

The representation (used to screen generated items against real test questions, and the
specialists' training questions against every study question): character 4-grams within word
boundaries, lower-cased, sub-linear term frequency, hashed into 2**20 buckets, with inverse
document frequencies fitted on one set of texts only. At a similarity of 0.9 this catches
verbatim and lightly edited copies (a word or a number changed, options reordered), not
paraphrases. Similarities are rounded to 6 decimals, so that they do not depend on the order of
floating-point sums.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

_HASH_FEATURES = 2**20
_BLOCK_ROWS = 256
#: Decimals similarities are rounded to.
DECIMALS = 6


def item_text(question: str, options: Sequence[str]) -> str:
    """Return the text compared for similarity: the stem, then the options, one per line.

    Options are part of the text because stems such as "Which of the following is true?" are
    shared by unrelated questions.
    """
    return "\n".join([question, *options])


class TextSimilarity:
    """Cosine similarity of TF-IDF character n-grams, with IDF fitted on one set of texts.

    Parameters
    ----------
    fit_texts : sequence of str
        The texts the inverse document frequencies are fitted on.

    Attributes
    ----------
    fitted : scipy.sparse.csr_matrix
        The vectors of ``fit_texts``, ``(len(fit_texts), 2**20)``, rows L2-normalised.
    """

    def __init__(self, fit_texts: Sequence[str]) -> None:
        self._hashing = HashingVectorizer(
            analyzer="char_wb", ngram_range=(4, 4), n_features=_HASH_FEATURES,
            alternate_sign=False, norm=None,
        )
        counts = self._hashing.transform(fit_texts)
        self._tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        self.fitted = self._tfidf.transform(counts).tocsr()

    def vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """L2-normalised TF-IDF rows, one per text."""
        return self._tfidf.transform(self._hashing.transform(texts)).tocsr()


def best_matches(rows: sparse.csr_matrix, columns: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise maximum similarity and its column index, computed in blocks of rows.

    Parameters
    ----------
    rows, columns : scipy.sparse.csr_matrix
        L2-normalised vectors (:meth:`TextSimilarity.vectors`), ``(n, f)`` and ``(k, f)``,
        ``k >= 1``.

    Returns
    -------
    best : numpy.ndarray
        ``(n,)`` float, each row's highest cosine similarity to a column (rounded to
        :data:`DECIMALS`).
    where : numpy.ndarray
        ``(n,)`` int, the column it is reached at.
    """
    best = np.empty(rows.shape[0])
    where = np.empty(rows.shape[0], dtype=int)
    transposed = columns.T.tocsr()
    for start in range(0, rows.shape[0], _BLOCK_ROWS):
        block = (rows[start:start + _BLOCK_ROWS] @ transposed).toarray()
        best[start:start + len(block)] = block.max(axis=1)
        where[start:start + len(block)] = block.argmax(axis=1)
    return np.round(best, DECIMALS), where
