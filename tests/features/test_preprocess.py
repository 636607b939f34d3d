"""Feature preparation: cue substrings, Japanese person names, the sound field, token ids."""

import numpy as np
import pytest

from pipeline.features.preprocess import PostPreprocessor, config_cues, cues_key, substring_cues, token_text


def _meta(**rec):
    rec.setdefault("post_id", "1")
    return PostPreprocessor().transform([rec]).loc[0, "meta"]


@pytest.mark.parametrize("text,expected", [
    ("the war in ukraine", {"crisis_messaging": 2}),             # "war" and "ukrain"
    ("new software release", {}),                                 # short Latin cue only at a word start
    ("#pr with our partner", {"influencer_amplification": 1}),
    ("ウクライナ情勢と避難", {"crisis_messaging": 2}),              # Japanese cues inside compounds
])
def test_substring_cues_count_per_label(text, expected):
    assert substring_cues(text, cues_key(config_cues())) == expected


def test_japanese_person_names_become_a_feature():
    meta = _meta(caption="ひろしま県民テレビ #小嶋沙耶香 #中島尚樹", language="ja")
    assert meta.get("cue_text=person_name", 0) > 0
    assert "cue_text=person_name" not in _meta(caption="広島県の新しいお知らせです #広島県", language="ja")


@pytest.mark.parametrize("music,flag", [
    ("original sound - someone", "music=original"),
    ("оригинальный звук - TalkL", "music=original"),
    ("Hasta la Raíz - Natalia Lafourcade", "music=track"),
    ("music_id:7252849927876610", None),  # an id says nothing about the sound
    (None, None),
])
def test_sound_field(music, flag):
    meta = _meta(caption="a dance for everyone", language="en", music=music)
    assert {k for k in meta if k.startswith("music=")} == ({flag} if flag else set())


def test_tokens_are_lowercased_ids_without_punctuation():
    frame = PostPreprocessor().transform([{"post_id": "1", "caption": "Evacuate NOW, please!", "language": "en"},
                                          {"post_id": "2", "caption": "避難してください。", "language": "ja"}])
    assert [token_text(int(t)) for t in frame.loc[0, "words"]] == ["evacuate", "now", "please"]
    ja = [token_text(int(t)) for t in frame.loc[1, "words"]]
    assert ja[0] == "避難" and "。" not in ja
    assert frame.loc[0, "words"].dtype == np.uint64 and frame.loc[0, "lang"] == "en"


def test_multilingual_japanese_tokenizer_does_not_segment_or_find_names():
    rec = {"post_id": "1", "caption": "避難してください。 #小嶋沙耶香", "language": "ja"}
    sudachi = PostPreprocessor().transform([rec])
    plain = PostPreprocessor(japanese_tokenizer="multilingual").transform([rec])
    assert [token_text(int(t)) for t in sudachi.loc[0, "words"]][0] == "避難"
    # spaCy's xx splits only at spaces and punctuation: the run of Japanese stays one word
    assert [token_text(int(t)) for t in plain.loc[0, "words"]] == ["避難してください", "小嶋沙耶香"]
    assert sudachi.loc[0, "meta"].get("cue_text=person_name") and "cue_text=person_name" not in plain.loc[0, "meta"]
    assert plain.loc[0, "chars"] == sudachi.loc[0, "chars"]  # character n-grams see the same text


def test_unknown_japanese_tokenizer_is_a_clear_error():
    with pytest.raises(ValueError, match="japanese_tokenizer must be one of sudachi, multilingual. Got 'mecab'"):
        PostPreprocessor(japanese_tokenizer="mecab").transform([{"post_id": "1", "caption": "x"}])
