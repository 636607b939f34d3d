import pytest

from pipeline.clean.language import detect_language
from pipeline.clean.text import (
    clean_record,
    clean_text,
    extract_emoji,
    extract_hashtags,
    extract_mentions,
    fix_unicode,
    remove_invisible,
    split_camel,
)


def test_hashtags_extracted_and_kept_readable():
    text = "Solidarity #StandWithUkraine 🇺🇦 with @un_news https://t.co/x ＃コロナに負けるな"
    assert extract_hashtags(text) == ["standwithukraine", "コロナに負けるな"]
    assert extract_mentions(text) == ["un_news"]
    cleaned = clean_text(text)
    assert "Stand With Ukraine" in cleaned and "StandWithUkraine" in cleaned
    assert "https" not in cleaned
    assert "🇺🇦" in cleaned
    assert "@un_news" in cleaned


def test_emoji_flags_are_single_features():
    assert extract_emoji("peace 🇺🇦🙏") == ["🇺🇦", "🙏"]


def test_invisible_and_control_characters_removed_but_emoji_zwj_kept():
    family = "👨\u200d👩\u200d👧"
    text = "a\u200bb\u202ec\x00d\ud800 " + family
    out = remove_invisible(text)
    assert out.startswith("abc d")
    assert family in out


def test_mojibake_repaired_and_fullwidth_folded():
    assert fix_unicode("cafÃ©") == "café"
    assert fix_unicode("ＴｉｋＴｏｋ") == "TikTok"


def test_asr_markers_only_removed_from_transcripts():
    assert clean_text("[Music] we stand together [Applause]", transcript=True) == "we stand together"
    assert "[Music]" in clean_text("[Music] caption")


def test_split_camel():
    assert split_camel("CranesForOurFuture") == "Cranes For Our Future"
    assert split_camel("G7Hiroshima") == "G 7 Hiroshima"


def test_clean_record_keeps_raw_fields():
    rec = {"post_id": "1", "caption": "Hi #PeaceNow @unicef", "hashtags": ["existing"], "mentions": []}
    out = clean_record(dict(rec))
    assert out["caption"] == rec["caption"]
    assert out["hashtags"] == ["existing", "peacenow"]
    assert out["mentions"] == ["unicef"]
    assert out["caption_clean"] == "Hi PeaceNow Peace Now @unicef"


@pytest.mark.parametrize("text,lang", [
    ("İsrail, Gazze'ye düzenlediği saldırılarda fosfor bombası kullandı", "tr"),
    ("Vino la vot pe 24 noiembrie, alegem împreună viitorul țării", "ro"),
    ("広島県の公式アカウントです", "ja"),
    ("A far-right populist has emerged as the shock winner of the Dutch election", "en"),
    ("#fyp #viral", "und"),
])
def test_language_detection(text, lang):
    assert detect_language(text) == lang


def test_turkish_dotted_capital_i_folds_to_one_hashtag():
    """Issue 19: #SONDAKİKA and #sondakika are one tag (str.lower gives 'sondaki̇ka' with a combining dot)."""
    from pipeline.ingest.records import to_list
    from pipeline.schema import fold_tag

    assert fold_tag("SONDAKİKA") == fold_tag("sondakika") == "sondakika"
    assert fold_tag("sondaki\u0307ka") == "sondakika"  # tags lower-cased the old way
    assert extract_hashtags("#SONDAKİKA son dakika #sondakika") == ["sondakika"]
    assert to_list(["SONDAKİKA", "sondakika"]) == ["sondakika"]
    rec = clean_record({"caption": "#SONDAKİKA x", "hashtags": ["SondakİKa"], "transcript": None, "on_screen_text": None})
    assert rec["hashtags"] == ["sondakika"]
