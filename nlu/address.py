"""A message that calls a relative, a partner or a friend is written to them, not to the shop:
"пап не нужно покупать мне кроссовки", "tato, nie potrzebuję wiertarki", "老婆，别买了"."""

from __future__ import annotations

import re

from nlu.rules import fold

# forms that only ever call someone ("мам", "tato", "babciu"): no comma is needed after them.
# Terms shoppers also call staff or strangers by are left out everywhere: "сынок", "милая",
# "дорогой", "darling", "hun", 亲, 亲爱的, 老板, 姐, 帅哥, and 宝贝 (on Chinese shops, the item).
VOCATIVES = (
    "мам|мамуль|мамуля|мамулечка|мамочка|пап|папуль|папуля|папочка|бать|бабуль|бабуля|бабусь|"
    "дедуль|сынуль|зай|зая|зайка|"
    "mamo|mamusiu|mamuś|mamus|tato|tatusiu|tatuś|tatus|babciu|babuniu|dziadku|dziadziu|"
    "skarbie|misiu|córciu|corciu|córeczko|coreczko|synku|synu|siostro|siostrzyczko|braciszku|"
    "bracie|słonko|slonko|kotku|żabko|zabko|ciociu|wujku|wnuczku|"
    "babe|kiddo"
)
# forms that are also the subject ("мама сказала не надо", "hubby got me one", "老公不让买"):
# a call only before a comma, "!", ":" or a word that speaks to the person
NOUNS = (
    "мама|папа|батя|бабушка|дедушка|сын|дочь|малыш|брат|братик|сестра|сестренка|котик|любимый|"
    "любимая|mama|tata|babcia|dziadek|kochanie|"
    "mommy|mummy|mom|mum|dad|daddy|honey|hubby|ma|grandma|granny|nana|grandpa|son|sis|"
    "妈|妈妈|老妈|妈咪|爸|爸爸|老爸|老婆|老公|媳妇儿?|老伴|奶奶|爷爷|姥姥|姥爷|外婆|外公|儿子|闺女|女儿"
)
_SURNAME = (
    "[王李张刘陈杨黄赵吴周徐孙朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范石廖贾夏韦方邹孟熊秦邱江尹薛闫段雷侯史陶黎贺顾毛郝龚邵严]"
)
# first names and the short forms friends call each other by ("Серёж", "Kasiu", "小王", "李姐");
# a call, like NOUNS, only before a comma or a word that speaks to the person. Polish pet names
# call by their ending ("Haniu", "Zosiu").
NAMES = (
    "серег|сереж|серега|сережа|саш|саша|санек|дим|дима|коль|коля|колян|вась|вася|лен|лена|наташ|"
    "наташа|ир|ира|тань|таня|оль|оля|вов|вова|андрюх|андрюха|андрей|люб|люба|маш|маша|жень|женя|"
    "юль|юля|кать|катя|петь|петя|миш|миша|леш|леша|леха|паш|паша|макс|игорь|толь|толя|вить|"
    "витя|надь|надя|ань|аня|насть|настя|даш|даша|марин|марина|олег|артем|антон|денис|ваня|"
    "кость|костя|рома|гош|гоша|стас|галь|галя|влад|лиз|лиза|"
    "dave|mike|steve|lucy|tina|jess|jen|tom|ben|andy|raj|linda|karen|john|jack|james|joe|"
    "sam|alex|chris|matt|dan|nick|paul|pete|tony|josh|ryan|jake|kev|kevin|gary|"
    "emma|amy|sarah|laura|rachel|beth|megan|lisa|mary|jane|liz|sophie|"
    "kasia|ania|basia|zosia|tomek|tomku|marek|marku|piotrek|piotrku|kuba|kubo|ola|olu|ewa|ewo|"
    "mateusz|mateuszu|michał|michal|michale|krzysiek|magda|magdo|gosia|asia|bartek|bartku|wojtek|"
    "wojtku|paweł|pawel|pawle|łukasz|lukasz|łukaszu|adam|adamie|marta|marto|monika|moniko|"
    "agnieszka|agnieszko|jurek|jurku|staszek|staszku|jacek|jacku|\\w+(?:siu|niu|ciu|ziu)|"
    f"[小老阿]{_SURNAME}|{_SURNAME}(?:总|老师|姐|哥)"
)
# the patterns are written in nlu.rules.fold's spelling: lower case, е for ё, simplified Chinese,
# no apostrophes ("dont")
# after a noun or a name, words that speak to the person: "you", "нет", an imperative ("не
# заказывай", "nie czekaj", 别), "не надо" (a subject cannot take it); not an adjective ("не
# маленький"), a past plural ("не успели"), "no longer", "don't need"
_SPOKEN_TO = (
    r"\s+(?:ты|тебе|тебя|нет|плиз|не\s+надо|не\s+нужно|не\s+\w*[аеуюэ]й(?:те)?"
    r"|не\s+\w+(?<!л)(?:и|ите)|ty|ci|cię|nie\s+(?!dzisiaj)\w+(?:j|jcie)|you|u|ur"
    r"|no(?!\s+longer)|dont(?!\s+(?:need|want|like|have|use|care))|cancel|pls|please)(?!\w)"
    # 不要 + a verb tells the person not to ("老公不要买推车了"); "老公不要了" says he wants none
    r"|你|别|不要(?![了啦])"
)
# a comma that ends a call, not one that opens a clause about the person or a list ("Сын,
# которому ...", "Mom, dad and I")
_CALL_ENDS = (
    r"\s*(?:[!:：！~～]|[,，、](?!\s*(?:котор|для\s+котор|kt[oó]r|dla\s+kt[oó]r|who\b|which\b"
    rf"|that\b|and\b|и\b|(?:{NOUNS})\b)))"
)
# Chinese has no spaces between words: one after a kin word ends a call ("妈 我不要了")
_CJK_SPACE = r"(?<=[\u4e00-\u9fff])\s"
_OPENS = re.compile(
    rf"^\W*(?:(?:{VOCATIVES})(?!\w)"
    rf"|(?:{NOUNS})(?:{_CALL_ENDS}|{_SPOKEN_TO}|{_CJK_SPACE})"
    rf"|(?:{NAMES})(?:{_CALL_ENDS}|{_SPOKEN_TO}))"
)
_ENDS = re.compile(rf"[,，]\s*(?:{VOCATIVES})\W*$")


def calls_someone_else(text: str) -> bool:
    """Whether the message opens by calling a relative, a partner or a friend, or ends by
    calling one with a form that only ever calls ("..., мам")."""
    folded = fold(text)
    return bool(_OPENS.search(folded) or _ENDS.search(folded))


# the shopper says the message went to the wrong chat ("that was meant for my sister", "не
# туда написала", "pomyliłam czaty", "不好意思发错了"); "wrong number" is the shop's mistake
_SENT_ELSEWHERE = re.compile(
    r"(?:(?:that|this|it|msg|message|text)\s+(?:was|is|wasnt|isnt|was\s+not)\s+(?:meant\s+|supposed"
    r"\s+to\s+go\s+)?(?:for|to)\s+(?:my|someone|somebody)\b|meant\s+(?:that|this|it)\s+for\b"
    r"|meant\s+to\s+send\s+(?:that|this|it)\b|wrong\s+(?:chat|group|convo|conversation|window)"
    r"|\bignore\s+(?:that|this|it)\W+meant\s+for\s+(?:my|someone|somebody)\b"
    r"|(?:wasnt|was\s+not|not)\s+(?:meant\s+)?for\s+you\b"
    r"|не\s+туда\s+(?:написал|отправил|скинул|кинул)|не\s+в\s+тот\s+чат|не\s+тот\s+чат"
    r"|ошиблась\s+чатом|ошибся\s+чатом|(?:это|было)\s+не\s+вам"
    # a bare "не туда" only after an apology: "доставили не туда" is about a parcel
    r"|^\W*(?:ой|извините|простите|сорян|сорри|сори|упс|пардон)\W+не\s+туда\W*$"
    r"|это\s+было\s+(?:для\s+)?(?:сестр|мам|пап|муж|жен|брат|доч|сын|подруг|друг)"
    r"|это\s+(?:сестре|маме|папе|мужу|жене|брату|дочке|дочери|сыну|подруге|другу)\s+было"
    r"|z[lł]y\s+czat|pomyli[lł](?:em|am)\s+(?:czat|okn|rozmow|numer\s+czatu)"
    r"|(?:to|wiadomo[sś][cć])\s+(?:by[lł]o|by[lł]a|mia[lł]o\s+i[sś][cć])\s+do\s+\w+"
    r"|\bnie\s+do\s+(?:was|pana|pani)\b|\bnie\s+tu\b"
    # 发错 is the shopper's slip only with 我, an apology or a group ("你们发错人了" is the shop's)
    r"|(?:我|不好意思|抱歉|sorry)[^你]{0,4}[发传]错|[发传]错[^，。？?]{0,3}(?:抱歉|不好意思|sorry)"
    r"|[发传]错群|窗口切错|[发传]给我[^的你们]{1,3}的"
    r")"
)


def says_it_was_sent_elsewhere(text: str) -> bool:
    """Whether the shopper says this message went to the wrong chat."""
    return _SENT_ELSEWHERE.search(fold(text)) is not None
