"""The NumPy n-gram TF-IDF vectorisers: same weights as scikit-learn's, readable names, safe pickling."""

import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.features.vectorize import CharNgramTfidf, TokenNgramTfidf

DOCS = ["the war in ukraine", "war war peace", "dance challenge with the embassy", "the embassy dance", ""]


def _ids(docs):
    vocab = {}
    arrays = [np.array([vocab.setdefault(w, 1000 + len(vocab)) for w in d.split()], dtype=np.uint64) for d in docs]
    names = {v: k for k, v in vocab.items()}
    return arrays, names


@pytest.mark.parametrize("ngram_range,min_df", [((1, 1), 1), ((1, 2), 1), ((1, 2), 2)])
def test_token_tfidf_matches_sklearn(ngram_range, min_df):
    arrays, names = _ids(DOCS)
    ours = TokenNgramTfidf(ngram_range, min_df=min_df, token_text=names.get).fit(arrays)
    ref = TfidfVectorizer(ngram_range=ngram_range, min_df=min_df, sublinear_tf=True, token_pattern=r"[^ ]+").fit(DOCS)
    assert sorted(ours.get_feature_names_out()) == sorted(ref.get_feature_names_out())
    test = ["war in the embassy", "peace peace peace dance", "unknown words only"]
    A = ours.transform(_ids(DOCS + test)[0][len(DOCS):]).toarray()
    B = ref.transform(test).toarray()
    order = [list(ref.get_feature_names_out()).index(n) for n in ours.get_feature_names_out()]
    np.testing.assert_allclose(A, B[:, order], rtol=1e-6, atol=1e-7)


def test_token_max_features_keeps_most_frequent():
    arrays, names = _ids(DOCS)
    v = TokenNgramTfidf((1, 1), min_df=1, max_features=2, token_text=names.get).fit(arrays)
    assert sorted(v.get_feature_names_out()) == ["the", "war"]  # 3 occurrences each


def test_char_ngrams_only_in_scripts_without_spaces():
    v = CharNgramTfidf((2, 3), scripts="nospace", min_df=1).fit(["戦争反対 war 平和", "戦争です"])
    names = set(v.get_feature_names_out())
    assert {"戦争", "争反", "戦争反", "平和", "です", "争で"} <= names
    assert not any(c.isascii() for n in names for c in n)  # no Latin, no space-crossing n-grams
    assert "反対 w" not in names and "和戦" not in names  # never across a gap or between posts
    X = v.transform(["戦争", "no japanese here", ""])
    assert X[0].nnz == 1 and X[1].nnz == 0 and X[2].nnz == 0
    assert np.isclose(X[0].multiply(X[0]).sum(), 1.0)  # L2-normalised


def test_char_ngrams_all_scripts_match_sklearn_char():
    docs = ["ab cd", "abx", "cd ab"]
    ours = CharNgramTfidf((2, 3), scripts="all", min_df=1).fit(docs)
    ref = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, lowercase=False).fit(docs)
    assert sorted(ours.get_feature_names_out()) == sorted(ref.get_feature_names_out())


def test_bad_scripts_value_names_the_choices():
    with pytest.raises(ValueError, match="'all' or 'nospace'"):
        CharNgramTfidf(scripts="latin").fit(["x"])


def test_pickle_drops_lookup_index_and_still_transforms():
    arrays, names = _ids(DOCS)
    v = TokenNgramTfidf((1, 2), min_df=1, token_text=None).fit(arrays)
    before = v.transform(arrays).toarray()  # builds the hash index
    assert v._index is not None
    w = pickle.loads(pickle.dumps(v))
    assert getattr(w, "_index", None) is None
    np.testing.assert_array_equal(w.transform(arrays).toarray(), before)
    assert all(n.startswith("#") for n in w.get_feature_names_out()[:1])  # unnamed ids shown in hex


def _frame(texts, lang):
    import pandas as pd

    from pipeline.features.preprocess import _tokens

    ids, _ = _tokens(texts, lang)
    return pd.DataFrame({"words": ids, "lang": [lang] * len(texts)})


def test_lemmas_map_unseen_forms_to_learned_lemmas():
    from pipeline.features.lemmas import LemmaTfidf
    from pipeline.features.preprocess import token_text

    train = _frame(["they evacuated the town", "families evacuated again", "a quiet day"], "en")
    v = LemmaTfidf(min_lang_posts=1, token_text=token_text).fit(train)
    assert v.languages_ == ["en"]
    names = list(v.get_feature_names_out())
    assert "evacuate" in names and "evacuated" not in names
    X = v.transform(_frame(["residents are evacuating", "nothing here"], "en"))
    assert X[0, names.index("evacuate")] > 0  # a form never seen in training
    assert X[1].nnz == 0
    # the compact table holds only forms of learned lemmas, so labelling never loads spaCy's tables
    assert 0 < len(v.forms_) < 5000
    w = pickle.loads(pickle.dumps(v))
    assert getattr(w, "_form_index", None) is None
    np.testing.assert_array_equal(w.transform(_frame(["evacuates"], "en")).toarray(),
                                  v.transform(_frame(["evacuates"], "en")).toarray())


def test_lemmas_skip_languages_with_few_posts():
    from pipeline.features.lemmas import LemmaTfidf
    from pipeline.features.preprocess import token_text

    v = LemmaTfidf(min_lang_posts=5, token_text=token_text).fit(_frame(["they evacuated the town", "families evacuated again"], "en"))
    assert v.languages_ == [] and len(v.forms_) == 0
    assert "evacuated" in v.get_feature_names_out()  # tokens stand for themselves
