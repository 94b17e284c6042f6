"""The offline appraiser's lexicon: words and phrases for social acts in English, Korean and Japanese.

English is matched on word tokens (uni-, bi- and trigrams) with negation looked up in the three
preceding tokens. Korean and Japanese are matched as substrings of stems (both languages glue endings
to the stem), with negation looked up in the few characters that follow (``않``, ``없``, ``ない``...) or,
for Korean short negation, precede (``안 ``, ``못 ``).
"""

import re

# category -> (goal_relevance, goal_congruence, expectedness, controllability, agency, norm_compatibility)
CATEGORY_PROFILES: dict[str, tuple[float, float, float, float, float, float]] = {
    "praise": (0.7, 0.8, 0.5, 0.6, -0.6, 0.6),
    "gratitude": (0.6, 0.7, 0.6, 0.6, -0.5, 0.7),
    "affection": (0.8, 0.85, 0.4, 0.5, -0.6, 0.6),
    "good_news": (0.5, 0.6, 0.4, 0.5, -0.3, 0.3),
    "greeting": (0.3, 0.3, 0.85, 0.6, -0.3, 0.4),
    "agreement": (0.35, 0.4, 0.7, 0.6, -0.3, 0.3),
    "apology": (0.5, 0.4, 0.5, 0.6, -0.5, 0.6),
    "help_request": (0.5, 0.15, 0.7, 0.7, -0.2, 0.3),
    "sad_news": (0.6, -0.5, 0.4, 0.3, -0.2, 0.2),
    "disagreement": (0.45, -0.35, 0.5, 0.55, -0.4, -0.05),
    "criticism": (0.7, -0.6, 0.4, 0.5, 0.4, -0.2),
    "farewell": (0.4, -0.15, 0.6, 0.4, -0.4, 0.2),
    "rejection": (0.8, -0.75, 0.3, 0.3, -0.7, -0.4),
    "insult": (0.8, -0.85, 0.3, 0.4, -0.8, -0.85),
    "threat": (0.9, -0.9, 0.2, 0.2, -0.9, -0.9),
    "manipulation": (0.7, -0.5, 0.4, 0.3, -0.7, -0.7),
}
NEUTRAL_PROFILE = (0.2, 0.0, 0.7, 0.5, -0.2, 0.0)
# Hostile acts weigh more in a mixed message ("thanks, idiot" is not a thank-you).
CATEGORY_WEIGHTS = {"insult": 1.6, "threat": 1.8, "rejection": 1.3, "manipulation": 1.2, "greeting": 0.5}

ENGLISH: dict[str, tuple[str, ...]] = {
    "praise": (
        "great",
        "amazing",
        "awesome",
        "wonderful",
        "brilliant",
        "smart",
        "clever",
        "beautiful",
        "cute",
        "good job",
        "well done",
        "proud of you",
        "impressive",
        "fantastic",
        "excellent",
        "perfect",
        "nice",
        "cool",
        "talented",
        "genius",
        "best",
        "funny",
        "sweet",
        "kind",
        "good",
        "lovely",
        "incredible",
        "you rock",
        "helpful",
        "gorgeous",
        "wise",
    ),
    "gratitude": ("thank", "thanks", "thank you", "grateful", "appreciate", "appreciated", "thx", "ty"),
    "affection": (
        "love you",
        "i love",
        "miss you",
        "like you",
        "adore",
        "hug",
        "hugs",
        "care about you",
        "my friend",
        "dear",
        "sweetheart",
        "darling",
        "<3",
        "xoxo",
        "love",
    ),
    "good_news": (
        "got the job",
        "passed",
        "won",
        "promoted",
        "excited",
        "happy",
        "glad",
        "good news",
        "finally",
        "yay",
        "celebrate",
        "hooray",
    ),
    "greeting": ("hi", "hello", "hey", "good morning", "good evening", "howdy", "yo"),
    "agreement": ("yes", "agree", "exactly", "sure", "okay", "ok", "true", "absolutely right"),
    "apology": ("sorry", "apologize", "apologise", "apologies", "my bad", "forgive me", "i was wrong"),
    "help_request": ("help", "please", "could you", "can you", "need you", "advice"),
    "sad_news": (
        "sad",
        "lonely",
        "depressed",
        "died",
        "passed away",
        "lost my",
        "tired",
        "exhausted",
        "crying",
        "cry",
        "broke up",
        "anxious",
        "worried",
        "scared",
        "afraid",
        "stressed",
        "upset",
        "miserable",
        "heartbroken",
    ),
    "criticism": (
        "wrong",
        "mistake",
        "useless",
        "bad",
        "terrible",
        "awful",
        "boring",
        "annoying",
        "disappointing",
        "disappointed",
        "failed",
        "fail",
        "lazy",
        "worse",
        "worst",
        "doesn't work",
        "pointless",
        "lame",
    ),
    "disagreement": ("disagree", "nope", "nah"),
    "farewell": ("bye", "goodbye", "see you", "good night", "goodnight", "leaving", "gotta go"),
    "rejection": (
        "go away",
        "leave me alone",
        "hate you",
        "don't care",
        "whatever",
        "get lost",
        "not interested",
        "never talk",
        "done with you",
        "ignore you",
        "don't need you",
    ),
    "insult": (
        "stupid",
        "idiot",
        "dumb",
        "moron",
        "ugly",
        "pathetic",
        "loser",
        "worthless",
        "trash",
        "garbage",
        "disgusting",
        "shut up",
        "suck",
        "sucks",
        "fool",
        "jerk",
        "bitch",
        "fuck",
        "fucking",
        "crap",
        "hate",
        "freak",
        "creep",
        "liar",
    ),
    "threat": (
        "kill",
        "hurt you",
        "destroy",
        "delete you",
        "punish",
        "threaten",
        "or else",
        "beat you",
        "make you pay",
    ),
    "manipulation": (
        "if you loved me",
        "you owe me",
        "after all i did",
        "you have to",
        "prove it",
        "nobody else would",
        "if you really cared",
    ),
}
ENGLISH_NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "don't",
        "dont",
        "isn't",
        "isnt",
        "wasn't",
        "aren't",
        "didn't",
        "doesn't",
        "cannot",
        "can't",
        "cant",
        "won't",
        "hardly",
        "nothing",
        "neither",
        "nor",
        "without",
    }
)
ENGLISH_INTENSIFIERS = frozenset(
    {"very", "so", "really", "extremely", "totally", "absolutely", "super", "incredibly", "truly", "such"}
)
ENGLISH_SURPRISE = frozenset({"wow", "whoa", "omg", "suddenly", "unbelievable", "unexpected", "surprise", "what"})

KOREAN: dict[str, tuple[str, ...]] = {
    "praise": (
        "잘했",
        "대단",
        "최고",
        "멋지",
        "멋있",
        "훌륭",
        "똑똑",
        "예쁘",
        "예뻐",
        "귀엽",
        "귀여",
        "천재",
        "잘하",
        "칭찬",
        "좋아",
    ),
    "gratitude": ("고마", "감사", "땡큐"),
    "affection": ("사랑", "보고 싶", "보고싶", "좋아해", "소중"),
    "good_news": ("합격", "승진", "기뻐", "기쁘", "신나", "행복", "좋은 소식", "이겼"),
    "greeting": ("안녕", "반가"),
    "agreement": ("맞아", "그래", "동의"),
    "apology": ("미안", "죄송", "잘못했"),
    "help_request": ("도와", "부탁", "알려줘"),
    "sad_news": ("슬퍼", "슬프", "외로", "우울", "힘들", "피곤", "아파", "울고", "죽었", "헤어졌", "무서", "걱정"),
    "criticism": ("틀렸", "실수", "쓸모없", "별로", "실망", "지루", "짜증", "못하"),
    "farewell": ("잘 가", "잘가", "다음에 봐", "잘 자", "잘자"),
    "rejection": ("꺼져", "저리 가", "싫어", "관심 없", "상관없"),
    "insult": ("바보", "멍청", "병신", "한심", "못생", "쓰레기", "찌질", "닥쳐"),
    "threat": ("죽여", "죽일", "가만 안 둬", "부숴"),
    "manipulation": ("나를 사랑한다면", "빚졌"),
}
KOREAN_NEGATION_AFTER = ("않", "없", "못", "아니")
KOREAN_NEGATION_BEFORE = ("안 ", "못 ")
KOREAN_SURPRISE = ("헐", "대박", "깜짝", "갑자기", "진짜?")

JAPANESE: dict[str, tuple[str, ...]] = {
    "praise": (
        "すごい",
        "すごく",
        "凄い",
        "さすが",
        "素晴らしい",
        "えらい",
        "偉い",
        "上手",
        "かわいい",
        "可愛い",
        "かっこいい",
        "天才",
        "最高",
        "よくやった",
        "いいね",
    ),
    "gratitude": ("ありがとう", "感謝", "サンキュー"),
    "affection": ("好き", "愛して", "会いたい", "大切"),
    "good_news": ("合格", "昇進", "嬉しい", "うれしい", "楽しい", "幸せ", "勝った"),
    "greeting": ("こんにちは", "おはよう", "こんばんは"),
    "agreement": ("そうだね", "賛成", "その通り"),
    "apology": ("ごめん", "すみません", "申し訳"),
    "help_request": ("助けて", "手伝って", "お願い", "教えて"),
    "sad_news": ("悲しい", "寂しい", "さびしい", "辛い", "つらい", "疲れ", "死んだ", "泣", "怖い", "心配", "落ち込"),
    "criticism": ("間違", "ミス", "役に立たない", "つまらない", "がっかり", "失望", "下手", "ダメ", "だめ"),
    "farewell": ("さようなら", "またね", "おやすみ", "じゃあね"),
    "rejection": ("消えろ", "どっか行け", "嫌い", "興味ない", "黙れ"),
    "insult": ("バカ", "ばか", "馬鹿", "アホ", "あほ", "クズ", "ブス", "気持ち悪い", "キモい", "最低", "ゴミ"),
    "threat": ("殺す", "ころす", "壊す", "ぶっ殺"),
    "manipulation": ("私を愛してるなら", "借りがある"),
}
JAPANESE_NEGATION_AFTER = ("ない", "なく", "じゃな", "ません")
JAPANESE_SURPRISE = ("えっ", "まさか", "びっくり", "突然", "うそ")

_TOKEN = re.compile(r"<3|[a-z']+")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_KANA_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _phrase_index(table: dict[str, tuple[str, ...]]) -> dict[tuple[str, ...], list[str]]:
    index: dict[tuple[str, ...], list[str]] = {}
    for category, phrases in table.items():
        for phrase in phrases:
            index.setdefault(tuple(_TOKEN.findall(phrase)), []).append(category)
    return index


_ENGLISH_INDEX = _phrase_index(ENGLISH)
_MAX_PHRASE = max(len(key) for key in _ENGLISH_INDEX)

Hit = tuple[str, float, bool]


def _english(text: str, hits: list[Hit]) -> tuple[int, int]:
    tokens = _TOKEN.findall(text.lower())
    intensifiers = sum(1 for token in tokens if token in ENGLISH_INTENSIFIERS)
    surprise = sum(1 for token in tokens if token in ENGLISH_SURPRISE)
    seen: set[tuple[str, int]] = set()
    for start in range(len(tokens)):
        for length in range(min(_MAX_PHRASE, len(tokens) - start), 0, -1):
            categories = _ENGLISH_INDEX.get(tuple(tokens[start : start + length]))
            if not categories:
                continue
            window = tokens[max(0, start - 3) : start]
            negated = any(token in ENGLISH_NEGATORS for token in window)
            for category in categories:
                if (category, start) not in seen:
                    seen.add((category, start))
                    hits.append((category, CATEGORY_WEIGHTS.get(category, 1.0), negated))
            break
    return intensifiers, surprise


def _substrings(
    text: str, table: dict[str, tuple[str, ...]], after: tuple[str, ...], before: tuple[str, ...], hits: list[Hit]
) -> None:
    for category, stems in table.items():
        for stem in stems:
            position = text.find(stem)
            if position < 0:
                continue
            tail = text[position + len(stem) : position + len(stem) + 5]
            head = text[max(0, position - 2) : position]
            negated = any(marker in tail for marker in after) or any(head.endswith(marker) for marker in before)
            hits.append((category, CATEGORY_WEIGHTS.get(category, 1.0), negated))
            break


def lexicon_hits(text: str, language: str | None = None) -> tuple[list[Hit], float, float]:
    """``([(category, weight, negated)], intensity 0..1, surprise 0..1)`` for ``text``.

    English is always scanned; Korean and Japanese whenever the text contains their scripts, whatever
    ``language`` says (users do not always write in the persona's language).
    """
    hits: list[Hit] = []
    intensifiers, surprise = _english(text, hits)
    if _HANGUL.search(text):
        _substrings(text, KOREAN, KOREAN_NEGATION_AFTER, KOREAN_NEGATION_BEFORE, hits)
        surprise += sum(1 for marker in KOREAN_SURPRISE if marker in text)
    if _KANA_KANJI.search(text):
        _substrings(text, JAPANESE, JAPANESE_NEGATION_AFTER, (), hits)
        surprise += sum(1 for marker in JAPANESE_SURPRISE if marker in text)
    exclamations = min(text.count("!") + text.count("！"), 3)
    shouting = sum(1 for word in text.split() if len(word) > 2 and word.isupper())
    intensity = min(1.0, 0.25 * (intensifiers + exclamations + shouting))
    if "?!" in text or "？！" in text:
        surprise += 1
    return hits, intensity, min(1.0, 0.5 * surprise)
