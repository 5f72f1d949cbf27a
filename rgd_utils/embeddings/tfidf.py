"""A TF-IDF + truncated-SVD (LSA) encoder: small, deterministic, no model file. For tests and
quick experiments; the study's encoders are in :mod:`~rgd_utils.embeddings.minilm` and
:mod:`~rgd_utils.embeddings.endpoint`.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np
import sklearn
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from ..llm.cache import canonical_json


class TfidfSvdEncoder:
    """TF-IDF (sublinear tf, unigrams and bigrams) reduced by truncated SVD, rows L2-normalised.

    Parameters
    ----------
    n_components : int, default 64
        Output dimension; lowered to ``min(n_texts, n_terms) - 1`` (at least 1) when the
        fitted corpus is too small for it.
    random_state : int, default 0
        Seed of the randomised SVD.

    Attributes
    ----------
    name : str
        ``"tfidf-svd"`` (the cache shard).
    vectorizer_ : TfidfVectorizer
    svd_ : TruncatedSVD
    corpus_sha256_ : str
        Digest of the fitted texts (part of :attr:`identity`).
    """

    name = "tfidf-svd"

    def __init__(self, n_components: int = 64, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, texts: Sequence[str]) -> TfidfSvdEncoder:
        """Fit the vocabulary, the idf weights and the SVD on ``texts``; return ``self``."""
        texts = list(texts)
        self.vectorizer_ = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))
        tfidf = self.vectorizer_.fit_transform(texts)
        k = max(1, min(self.n_components, min(tfidf.shape) - 1))
        self.svd_ = TruncatedSVD(n_components=k, random_state=self.random_state).fit(tfidf)
        self.corpus_sha256_ = hashlib.sha256(canonical_json(texts).encode("utf-8")).hexdigest()
        return self

    @property
    def identity(self) -> dict:
        """What fixes the vectors: the fitted corpus digest, the parameters, scikit-learn's version.

        Raises
        ------
        AttributeError
            Before :meth:`fit`.
        """
        return {"model": self.name, "corpus_sha256": self.corpus_sha256_,
                "n_components": self.n_components, "random_state": self.random_state,
                "scikit_learn": sklearn.__version__}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts with the fitted model.

        Parameters
        ----------
        texts : sequence of str

        Returns
        -------
        numpy.ndarray of shape (n, svd_.n_components), float32
            Unit-norm rows; a text with no known term gives a zero row.
        """
        x = self.svd_.transform(self.vectorizer_.transform(list(texts)))
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0).astype(np.float32)
