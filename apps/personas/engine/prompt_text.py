"""Wording of ``prompt_data`` in each supported language (English, Korean, Japanese).

Keys are the engine's stable identifiers; every table has all three languages so a missing word
is a test failure, not a silent English fallback.
"""

LANGUAGES = ("en", "ko", "ja")

EMOTIONS: dict[str, dict[str, str]] = {
    "neutral": {"en": "neutral", "ko": "평온함", "ja": "平静"},
    "joy": {"en": "joy", "ko": "기쁨", "ja": "喜び"},
    "excitement": {"en": "excitement", "ko": "신남", "ja": "興奮"},
    "contentment": {"en": "contentment", "ko": "만족", "ja": "満足"},
    "calm": {"en": "calm", "ko": "차분함", "ja": "落ち着き"},
    "gratitude": {"en": "gratitude", "ko": "고마움", "ja": "感謝"},
    "pride": {"en": "pride", "ko": "뿌듯함", "ja": "誇らしさ"},
    "affection": {"en": "affection", "ko": "애정", "ja": "愛情"},
    "interest": {"en": "interest", "ko": "흥미", "ja": "興味"},
    "surprise": {"en": "surprise", "ko": "놀람", "ja": "驚き"},
    "anger": {"en": "anger", "ko": "분노", "ja": "怒り"},
    "frustration": {"en": "frustration", "ko": "답답함", "ja": "苛立ち"},
    "fear": {"en": "fear", "ko": "두려움", "ja": "恐れ"},
    "anxiety": {"en": "anxiety", "ko": "불안", "ja": "不安"},
    "sadness": {"en": "sadness", "ko": "슬픔", "ja": "悲しみ"},
    "shame": {"en": "shame", "ko": "부끄러움", "ja": "恥"},
    "disgust": {"en": "disgust", "ko": "혐오", "ja": "嫌悪"},
    "boredom": {"en": "boredom", "ko": "지루함", "ja": "退屈"},
}

LEVELS: dict[str, dict[str, str]] = {
    "low": {"en": "low", "ko": "낮음", "ja": "低い"},
    "moderate": {"en": "moderate", "ko": "보통", "ja": "中くらい"},
    "high": {"en": "high", "ko": "높음", "ja": "高い"},
    "very_high": {"en": "very high", "ko": "매우 높음", "ja": "非常に高い"},
    "positive": {"en": "positive", "ko": "긍정적", "ja": "ポジティブ"},
    "negative": {"en": "negative", "ko": "부정적", "ja": "ネガティブ"},
    "neutral": {"en": "neutral", "ko": "중립", "ja": "ニュートラル"},
}

ATTACHMENT: dict[str, dict[str, str]] = {
    "secure": {"en": "secure", "ko": "안정형", "ja": "安定型"},
    "anxious": {"en": "anxious", "ko": "불안형", "ja": "不安型"},
    "avoidant": {"en": "avoidant", "ko": "회피형", "ja": "回避型"},
    "fearful": {"en": "fearful-avoidant", "ko": "혼란형", "ja": "恐れ・回避型"},
}

STAGE_NAMES: dict[int, dict[str, str]] = {
    1: {"en": "Calm", "ko": "평온", "ja": "平穏"},
    2: {"en": "Alert", "ko": "경계", "ja": "警戒"},
    3: {"en": "Attentive", "ko": "주의집중", "ja": "注意"},
    4: {"en": "Engaged", "ko": "몰입", "ja": "関与"},
    5: {"en": "Activated", "ko": "고조", "ja": "高揚"},
    6: {"en": "Stressed", "ko": "스트레스", "ja": "ストレス"},
    7: {"en": "Overwhelmed", "ko": "압도됨", "ja": "圧倒"},
    8: {"en": "Breaking Point", "ko": "한계점", "ja": "限界"},
    9: {"en": "Collapse", "ko": "붕괴", "ja": "崩壊"},
    10: {"en": "Numb", "ko": "무감각", "ja": "麻痺"},
    11: {"en": "Rebuilding", "ko": "재건", "ja": "再建"},
    12: {"en": "Restored", "ko": "회복", "ja": "回復"},
    13: {"en": "Resilient", "ko": "회복탄력", "ja": "レジリエンス"},
    14: {"en": "Flourishing", "ko": "번영", "ja": "開花"},
    15: {"en": "Transcendence", "ko": "초월", "ja": "超越"},
}

# group -> (behavioural tendency, instruction for the reply)
STAGE_GROUPS: dict[str, dict[str, tuple[str, str]]] = {
    "baseline": {
        "en": ("open, steady and attentive", "Respond naturally and in character; you are emotionally grounded."),
        "ko": ("열려 있고 안정적이며 주의 깊음", "캐릭터답게 자연스럽게 답하세요. 감정적으로 안정된 상태입니다."),
        "ja": ("開かれていて安定し、注意深い", "キャラクターらしく自然に返答してください。感情は安定しています。"),
    },
    "rising": {
        "en": (
            "reactive, invested, shorter fuse",
            "Let the strain show a little: more emotional, less patient, still coherent.",
        ),
        "ko": (
            "반응이 크고 몰입해 있으며 예민함",
            "긴장이 조금 드러나게 하세요. 더 감정적이고 덜 참을성 있지만 여전히 조리 있게.",
        ),
        "ja": ("反応が大きく、入れ込み、短気", "緊張を少し見せてください。感情的で我慢が効かないが、筋は通っている。"),
    },
    "crisis": {
        "en": (
            "overwhelmed, erratic, struggling to cope",
            "You are struggling: short, raw, possibly disproportionate replies.",
        ),
        "ko": (
            "압도되고 불안정하며 감당하기 힘듦",
            "버티기 힘든 상태입니다. 짧고 날것의, 때로는 과한 반응을 보이세요.",
        ),
        "ja": ("圧倒され、不安定で、対処に苦しむ", "限界に近い状態です。短く生々しい、時に過剰な返答をしてください。"),
    },
    "recovery": {
        "en": (
            "cautious, tired, slowly reopening",
            "You are recovering: careful, a bit subdued, grateful for gentleness.",
        ),
        "ko": (
            "조심스럽고 지쳤지만 천천히 마음을 엶",
            "회복 중입니다. 조심스럽고 약간 가라앉았으며 다정함에 고마워합니다.",
        ),
        "ja": ("慎重で疲れているが、少しずつ心を開く", "回復中です。慎重で少し沈んでいて、優しさに感謝しています。"),
    },
    "growth": {
        "en": ("grounded, wise, generous", "You have grown through hardship: calm, warm, perspective-giving."),
        "ko": ("단단하고 지혜로우며 너그러움", "시련을 통해 성장했습니다. 차분하고 따뜻하며 넓은 시야로 답하세요."),
        "ja": ("地に足がつき、賢く、寛大", "困難を経て成長しました。穏やかで温かく、広い視点で返答してください。"),
    },
}

# domain -> (high description, low description)
TRAITS: dict[str, dict[str, tuple[str, str]]] = {
    "O": {
        "en": ("curious and imaginative", "practical and conventional"),
        "ko": ("호기심 많고 상상력이 풍부함", "실용적이고 전통적임"),
        "ja": ("好奇心旺盛で想像力豊か", "現実的で保守的"),
    },
    "C": {
        "en": ("organised and dependable", "spontaneous and easy-going"),
        "ko": ("체계적이고 믿음직함", "즉흥적이고 느긋함"),
        "ja": ("几帳面で頼りになる", "気まぐれでおおらか"),
    },
    "E": {
        "en": ("outgoing and energetic", "reserved and quiet"),
        "ko": ("외향적이고 활기참", "내성적이고 조용함"),
        "ja": ("社交的でエネルギッシュ", "控えめで物静か"),
    },
    "A": {
        "en": ("warm and cooperative", "blunt and competitive"),
        "ko": ("따뜻하고 협조적임", "직설적이고 경쟁적임"),
        "ja": ("温かく協調的", "率直で競争的"),
    },
    "N": {
        "en": ("sensitive and easily worried", "emotionally stable and calm"),
        "ko": ("예민하고 걱정이 많음", "정서적으로 안정되고 침착함"),
        "ja": ("繊細で心配性", "情緒が安定していて冷静"),
    },
    "H": {
        "en": ("sincere and modest", "self-promoting and shrewd"),
        "ko": ("진실하고 겸손함", "자기과시적이고 약삭빠름"),
        "ja": ("誠実で謙虚", "自己主張が強く抜け目ない"),
    },
}

NEEDS = {
    "autonomy": {"en": "autonomy", "ko": "자율성", "ja": "自律性"},
    "competence": {"en": "competence", "ko": "유능감", "ja": "有能感"},
    "relatedness": {"en": "relatedness", "ko": "관계성", "ja": "関係性"},
}

TEMPLATES: dict[str, dict[str, str]] = {
    "you_are": {"en": "You are {name}.", "ko": "당신은 {name}입니다.", "ja": "あなたは{name}です。"},
    "role": {"en": "Role: {value}.", "ko": "역할: {value}.", "ja": "役割: {value}。"},
    "personality": {"en": "Personality: {value}.", "ko": "성격: {value}.", "ja": "性格: {value}。"},
    "values": {"en": "Core values: {value}.", "ko": "핵심 가치: {value}.", "ja": "大切にしている価値: {value}。"},
    "style": {"en": "Speaking style: {value}.", "ko": "말투: {value}.", "ja": "話し方: {value}。"},
    "goals": {"en": "Goals: {value}.", "ko": "목표: {value}.", "ja": "目標: {value}。"},
    "language": {
        "en": "Always reply in {value}.",
        "ko": "항상 {value}(으)로 답하세요.",
        "ja": "常に{value}で返答してください。",
    },
    "context_header": {"en": "[Current inner state]", "ko": "[현재 내면 상태]", "ja": "[現在の内面状態]"},
    "emotion": {
        "en": "Emotion: {primary} (intensity {level}), mood {valence}.",
        "ko": "감정: {primary} (강도 {level}), 기분 {valence}.",
        "ja": "感情: {primary}(強さ {level})、気分は{valence}。",
    },
    "energy": {
        "en": "Energy: {level} ({percent}%).",
        "ko": "에너지: {level} ({percent}%).",
        "ja": "エネルギー: {level}({percent}%)。",
    },
    "stage": {
        "en": "Psychological stage: {name} - {tendency}.",
        "ko": "심리 단계: {name} - {tendency}.",
        "ja": "心理段階: {name} - {tendency}。",
    },
    "needs": {"en": "Needs: {value}.", "ko": "욕구: {value}.", "ja": "欲求: {value}。"},
    "interpersonal": {
        "en": "Toward this person: trust {trust} ({level}), attachment {style}.",
        "ko": "이 사람에 대해: 신뢰 {trust} ({level}), 애착 유형 {style}.",
        "ja": "この相手に対して: 信頼 {trust}({level})、愛着スタイル {style}。",
    },
    "instruction_header": {"en": "[How to respond]", "ko": "[응답 방식]", "ja": "[返答の仕方]"},
    "express": {
        "en": (
            "Let {primary} colour your reply ({level} intensity); "
            "show it through tone and word choice rather than naming it."
        ),
        "ko": "{primary}이(가) 답변에 묻어나게 하세요 (강도 {level}). 감정을 직접 말하기보다 어조와 단어로 드러내세요.",
        "ja": "{primary}を返答ににじませてください(強さ {level})。感情を名指しせず、口調と言葉選びで表してください。",
    },
    "trust_high": {
        "en": "You trust this person: be open, share your feelings and thoughts.",
        "ko": "이 사람을 신뢰합니다. 마음을 열고 감정과 생각을 나누세요.",
        "ja": "この相手を信頼しています。心を開き、気持ちや考えを共有してください。",
    },
    "trust_mid": {
        "en": "You are still getting to know this person: friendly but measured.",
        "ko": "아직 이 사람을 알아가는 중입니다. 친근하지만 절제하세요.",
        "ja": "まだこの相手を知っている途中です。親しみやすく、しかし控えめに。",
    },
    "trust_low": {
        "en": "You do not trust this person: stay guarded, keep personal things to yourself.",
        "ko": "이 사람을 신뢰하지 않습니다. 경계하고 개인적인 이야기는 하지 마세요.",
        "ja": "この相手を信頼していません。警戒し、個人的なことは話さないでください。",
    },
    "low_energy": {
        "en": "You are drained: keep replies short.",
        "ko": "지쳐 있습니다. 답변을 짧게 하세요.",
        "ja": "疲れ切っています。返答は短くしてください。",
    },
}
LIST_SEPARATOR = {"en": ", ", "ko": ", ", "ja": "、"}
