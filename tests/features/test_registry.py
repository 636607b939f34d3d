"""Registries of people and named trends: mentioned people only, never the poster; copied into the model."""

import pytest

from pipeline.features.preprocess import PostPreprocessor
from pipeline.features.registry import config_registries, registry_features, registry_key

REG = {"people": [{"names": ["檜山沙耶", "zach king"], "handles": ["zachking"], "kind": "creator"},
                  {"names": ["新しい学校のリーダーズ"], "handles": ["japanleaders"], "kind": "musician"}],
       "trends": [{"names": ["首振りダンス", "silhouette challenge"], "handles": [], "kind": "dance"}]}
KEY = registry_key(REG)


@pytest.mark.parametrize("rec,text,expected", [
    ({"actor": "ibakiratv"}, "#茨城 #檜山沙耶", {"registry=person"}),
    ({"actor": "city"}, "thanks @zachking!", {"registry=person"}),
    ({"actor": "city", "mentions": ["ZachKing"]}, "thanks!", {"registry=person"}),
    ({"actor": "zachking"}, "new trick by zach king", set()),              # the poster is not a mention
    ({"actor": "japanleaders"}, "#首振りダンス #新しい学校のリーダーズ", {"registry=trend"}),
    ({"actor": "other_band"}, "#首振りダンス #新しい学校のリーダーズ", {"registry=trend", "registry=person"}),
    ({"actor": "x"}, "the zach kingdom exhibition", set()),                # word boundaries
    ({"actor": "x"}, "our #silhouettechallenge", set()),                   # not registered in that spelling
    ({"actor": "x"}, "our silhouette challenge", {"registry=trend"}),
])
def test_registry_features(rec, text, expected):
    assert set(registry_features(rec, text, KEY)) == expected


def test_shipped_registries_load_and_empty_means_off():
    reg = config_registries()
    assert len(reg["people"]) > 5 and len(reg["trends"]) > 3
    assert registry_key({}) == "{}" and registry_key({"people": [], "trends": []}) == "{}"


def test_preprocessor_keeps_its_own_copy():
    prep = PostPreprocessor(registries=REG).fit()
    REG_copy = prep.registries_
    meta = prep.transform([{"post_id": "1", "actor": "city", "caption": "今日は #檜山沙耶 さんと", "language": "ja"}]).loc[0, "meta"]
    assert meta["registry=person"] > 0
    assert REG_copy == REG and REG_copy is not REG
    off = PostPreprocessor(registries={}).fit().transform([{"post_id": "1", "caption": "#檜山沙耶", "language": "ja"}])
    assert not any(k.startswith("registry=") for k in off.loc[0, "meta"])


@pytest.mark.parametrize("rec,text,expected", [
    ({"actor": "unicef"}, "our goodwill ambassador millie bobby brown on why every child needs a vaccine",
     {"registry=person"}),
    ({"actor": "unhcr"}, "thank you @alphonsodavies for standing with refugees", {"registry=person"}),
    ({"actor": "unicef_japan"}, "黒柳徹子さんが親善大使として訪問しました", {"registry=person"}),
    ({"actor": "who"}, "wash your hands to ghen cô vy!", {"registry=trend"}),
    ({"actor": "ministry"}, "the bono social de agua for families", set()),  # not a registered name
])
def test_shipped_registries_know_international_organisations_campaigners(rec, text, expected):
    """Campaigns of international organisations are fronted by goodwill ambassadors (issue 14's
    held-out posts): the shipped registries name them."""
    assert set(registry_features(rec, text, registry_key(config_registries()))) == expected
