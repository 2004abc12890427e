"""The words and sentences R-RP1's rules match, per language (nlu/rules.py applies them)."""

from __future__ import annotations

import re

# A whole message made of one of these (plus politeness) is an opt-out.
STOP_PHRASES: frozenset[str] = frozenset(
    {
        # en — carrier keywords and their everyday forms
        "stop", "stopall", "stop all", "unsubscribe", "unsub", "cancel", "end", "quit", "optout",
        "opt out", "opt me out", "unsubscribe me", "remove me", "stop it", "stop texting",
        "stop messaging", "stop sending", "stop the messages", "stop messages", "stop texts",
        "stop spam", "stop spamming", "no more messages", "no more texts", "dont text me",
        "do not text me", "do not contact me", "dont contact me", "leave me alone", "go away",
        "spam", "enough", "enough already", "fuck off", "piss off", "get lost",
        "stop bothering me", "stop pestering me", "remove my number", "delete my number",
        # ru (incl. translit)
        "стоп", "стопэ", "хватит", "отписаться", "отписка", "отпишите", "отпишите меня",
        "отписать", "отпишись", "стоп рассылка", "стоп спам", "не пишите", "не пишите мне",
        "не пишите больше", "больше не пишите", "не пишите мне больше", "хватит писать",
        "хватит мне писать", "перестаньте писать", "не беспокойте", "отменить подписку",
        "stop pishite", "ne pishite", "ne pishite mne", "otpisatsya", "otpishite",
        "otpishite menya", "hvatit", "hvatit pisat", "отстаньте", "отстаньте от меня", "отстань",
        "отвалите", "отвяжитесь", "надоели", "вы надоели", "вы мне надоели", "достали",
        "задолбали", "спам", "это спам", "хватит спама", "otstante", "nadoeli", "dostali",
        # pl
        "wypisz", "wypisz mnie", "wypiszcie", "wypiszcie mnie", "wypisać", "wypisac", "rezygnuję",
        "rezygnuje", "rezygnacja", "nie piszcie", "nie piszcie więcej", "nie piszcie wiecej",
        "nie pisz", "przestańcie pisać", "przestancie pisac", "dość", "dosc", "koniec", "spadaj",
        "spadajcie", "odczepcie się", "odczepcie sie", "odczep się", "odczep sie",
        "dajcie mi spokój", "dajcie mi spokoj", "dajcie spokój", "mam dość", "mam dosc",
        "przestańcie", "przestancie", "to spam", "odwalcie się",
        # zh (written without spaces; see _compact)
        "退订", "td", "取消订阅", "停止", "停", "停止发送", "别发了", "别再发了", "不要再发了",
        "不要发了", "别烦我",
        "烦死了", "别烦了", "别再烦我", "够了", "拉黑", "滚", "垃圾短信", "不要骚扰我",
        "拒收",  # the reply Chinese SMS footers ask for
        "取关", "取消关注",  # "unfollow", as on a messenger's official account
        "删号", "删除我的号码",  # "delete my number"
        "垃圾讯息", "垃圾简讯",
    }
)  # fmt: skip

# Traditional characters common in replies, read as simplified ones (謝謝 → 谢谢, 別發了 → 别发了).
TRADITIONAL_TO_SIMPLIFIED = str.maketrans(
    "別發訂閱謝煩請簡訊擾騷聯繫給嗎買這們號碼關閉須興歡麼錢過還沒說話電為應該麗單貨幫刪購車"
    "媽爺婦兒閨傳錯誤",
    "别发订阅谢烦请简讯扰骚联系给吗买这们号码关闭须兴欢么钱过还没说话电为应该丽单货帮删购车"
    "妈爷妇儿闺传错误",
)

# Words that may surround a stop word without changing its meaning.
POLITENESS: frozenset[str] = frozenset(
    {
        "please", "pls", "plz", "pleas", "thanks", "thank", "you", "thx", "ty", "now", "just",
        "ok", "okay", "sorry", "asap", "already", "all", "me", "it", "immediately", "right",
        "away", "to", "reply", "send", "text", "i", "want", "пожалуйста", "пожалуйсто",
        "пожалуста", "плиз", "плз", "пж", "пжл", "спасибо", "спс", "все", "уже", "сейчас", "меня",
        "мне", "ну", "срочно", "вообще", "плс", "pozhaluysta", "pojaluysta", "spasibo", "proszę",
        "prosze", "dziękuję", "dziekuje", "dzięki", "dzieki", "mnie", "już", "juz", "teraz",
        "natychmiast",
        "请", "谢谢", "谢", "吧", "了", "啊", "哦", "呀", "吗", "您", "麻烦", "好吗",
    }
)  # fmt: skip

YES_WORDS: frozenset[str] = frozenset(
    {
        "yes", "yeah", "yep", "yup", "y", "sure", "ok", "okay", "k", "of course", "yes please",
        "да", "ага", "угу", "конечно", "давайте", "давай", "ок", "окей", "хорошо", "да давайте",
        "da", "ага да", "tak", "jasne", "pewnie", "oczywiście", "oczywiscie", "dobrze",
        "是", "是的", "好", "好的", "要", "可以", "行", "嗯",
    }
)  # fmt: skip
NO_WORDS: frozenset[str] = frozenset(
    {
        "no", "nope", "nah", "n", "no thanks", "no thank you", "not now", "нет", "неа", "не",
        "не надо", "не нужно", "нет спасибо", "net", "nie", "nie dziękuję", "nie dziekuje",
        "nie teraz",
        "不", "不要", "不用", "不是", "不了", "不需要", "不用了",
    }
)  # fmt: skip
# The commonest whole-message declines ("not this order"; consent stays), after FILLERS go.
DECLINE_PHRASES: frozenset[str] = frozenset(
    {
        "no thanks", "no thank you", "no thx", "not interested", "changed my mind",
        "i changed my mind", "no thanks changed my mind", "no longer needed", "not needed",
        "no need", "dont need it", "i dont need it", "im good", "nah im good", "ill pass",
        "never mind", "nevermind", "nvm", "forget it", "no longer interested",
        "not needed anymore", "dont need it anymore", "i dont need it anymore",
        "no longer need it", "not anymore", "no need anymore", "not interested anymore",
        "im not interested", "i dont want it", "dont want it", "dont want it anymore",
        "i dont want it anymore", "not for me", "no im good", "не актуально", "неактуально",
        "уже не актуально", "больше не актуально", "не актуально уже", "уже неактуально",
        "уже не нужно", "уже не надо", "не нужно уже", "не нужно", "не надо", "передумал",
        "передумала", "я передумал", "я передумала", "нет спасибо", "спасибо нет", "не интересно",
        "неинтересно", "не хочу", "уже не хочу", "не буду", "не буду брать", "отказываюсь",
        "раздумал", "раздумала", "спасибо не надо", "спасибо не нужно", "мне уже не нужно",
        "ne aktualno", "peredumal", "не интересует", "уже не интересует", "больше не нужно",
        "уже не требуется", "не требуется", "передумали", "уже передумал", "уже передумала",
        "не надо уже", "nie interesuje", "juz nie", "już nie", "już nie trzeba", "juz nie trzeba",
        "już nie chcę", "juz nie chce", "nie kupię", "nie kupie", "rezygnuję z zakupu",
        "rezygnuje z zakupu", "nieaktualne", "już nieaktualne", "juz nieaktualne",
        "to już nieaktualne", "nie dziękuję", "nie dziekuje", "nie dzięki", "nie dzieki",
        "rozmyśliłem się", "rozmyśliłam się", "rozmyslilem sie", "zmieniłem zdanie",
        "zmieniłam zdanie", "już nie potrzebuję", "juz nie potrzebuje",
        "nie jestem zainteresowany", "nie jestem zainteresowana", "nie interesuje mnie",
        "nie chcę", "nie chce", "nie skorzystam", "nie potrzebuję", "nie potrzebuje", "nie trzeba",
        "odpuszczam", "nie aktualne", "ne nado", "ne nuzhno", "uzhe ne nado", "uzhe ne nuzhno",
        "neaktualno", "bu yao le", "buyao le", "buyaole", "bu yong le", "buyong le", "bu mai le",
        "不需要", "不需要了", "不要了", "不买了", "不想要了", "改主意了", "我改主意了",
        "已经不需要了", "不用了谢谢", "不需要了谢谢", "不感兴趣", "没兴趣", "算了", "算了吧",
        "不想买了", "不考虑了", "暂时不需要", "先不买了",
        "不要了谢谢", "不想要了谢谢", "先不要了", "没兴趣了", "不买了谢谢",
    }
)  # fmt: skip
# Thanks and acknowledgements: a whole message of these words, at least one of them thanks.
THANKS_WORDS: frozenset[str] = frozenset(
    {
        "thanks", "thank", "thx", "ty", "tysm", "thnx", "cheers", "appreciate", "спасибо",
        "спасибки", "спс", "благодарю", "пасиб", "пасибо", "spasibo", "dzięki", "dzieki",
        "dziękuję", "dziekuje", "dziękówka", "мерси", "merci", "сенкс", "thanx", "tnx", "tks",
        "谢谢", "多谢", "感谢", "谢啦", "谢了", "xiexie", "xie",
    }
)  # fmt: skip
THANKS_COMPANIONS: frozenset[str] = frozenset(
    {
        "you", "u", "so", "much", "a", "lot", "very", "it", "ok", "okay", "great", "cool", "super",
        "big", "many", "большое", "огромное", "вам", "тебе", "ок", "окей", "хорошо", "супер",
        "понятно", "ясно", "bardzo", "wielkie", "dobrze", "jasne", "for", "the", "reminder",
        "info", "за", "напоминание", "информацию", "za",
        "przypomnienie", "你", "您", "非常", "好的", "好", "太", "了", "啦", "提醒",
    }
)  # fmt: skip


def _any(words: str) -> str:
    """A regex group matching any one of the space-separated words ('_' stands for a space)."""
    return "(" + "|".join(w.replace("_", " ") for w in words.split()) + ")"


_EN_CONTACT = _any(
    "texting messaging contacting calling emailing spamming bothering pinging sending writing "
    "notifying reminding harassing hitting_me_up blowing_up_my_phone"
)
_EN_CHANNEL = _any(
    "messages msgs texts sms smss notifications reminders promos promotions ads marketing spam "
    "emails"
)
_EN_TARGET = "( " + _any("me us this_number my_number my_phone") + ")?"
_EN_WHEN = "( " + _any("anymore any_more again ever_again ever at_all") + ")?"
_EN_LIST = _any(
    "list lists mailing_list texting_list sms_list contact_list database system marketing "
    "everything"
)
_EN_DET = "( " + _any("the your ur this these all all_your all_the every") + ")?"
_RU_VERB = _any(
    "писать слать присылать отправлять спамить названивать звонить беспокоить тревожить "
    "донимать напоминать"
)
_RU_CHANNEL = _any(
    "сообщения сообщений смс смски смсок sms рассылку рассылки рассылок уведомления "
    "уведомлений напоминания напоминаний напоминалки рекламу спам"
)
_PL_CHANNEL = _any(
    "wiadomości wiadomosci smsów smsow sms smsy powiadomień powiadomien przypomnień "
    "przypomnien newslettera reklam spamu maili"
)
# Whole-message opt-out sentences (normalized, FILLERS removed): nothing may follow them.
STOP_SENTENCES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(f"^(?:{pattern})$")
    for pattern in (
        # en
        f"(stop|quit|cease|no more|enough) {_EN_CONTACT}( {_EN_CHANNEL})?{_EN_TARGET}{_EN_WHEN}",
        f"(stop|quit) (sending|texting) (me )?(these |those |the |your |any |all )?"
        f"{_EN_CHANNEL}{_EN_WHEN}",
        f"(no more|stop( the| all| your| these)?|stop all the) {_EN_CHANNEL}",
        f"(do not|dont|never|pls dont|please dont) "
        f"(text|message|msg|contact|sms|email|spam|bother|call){_EN_TARGET}{_EN_WHEN}",
        f"(do not|dont|never) (send|text) me (any more |anymore |more |any |another |other )?"
        f"{_EN_CHANNEL}?{_EN_WHEN}",
        f"(unsubscribe|unsub|opt out|optout|remove|delete|take)( me| this number| my number)?"
        f" (from|off|out of){_EN_DET} ({_EN_LIST}|{_EN_CHANNEL})",
        "(unsubscribe|unsub|opt out|optout) (me|this number|my number)( from (everything|all))?",
        "(i want to|i wanna|i would like to|id like to|how do i|how can i|how to|let me) "
        f"(unsubscribe|unsub|opt out|stop (these |the |your |all )?{_EN_CHANNEL})",
        "i (do not|dont) want (any more |anymore |more |these |your |any |to (get|receive) "
        f"(any more |any |these |your )?)?{_EN_CHANNEL}( from (you|your store|this store))?"
        f"{_EN_WHEN}",
        "(remove|delete) (me|my number|this number|my phone number)",
        # ru (incl. translit)
        f"(хватит|прекратите|перестаньте|перестань|хорош|харе|кончайте) (мне )?{_RU_VERB}"
        f"( мне| меня)?( (эти|ваши|свои|эту|вашу|свою))?( {_RU_CHANNEL})?( больше)?",
        f"(не надо|не нужно)( мне)?( больше)?( мне)? {_RU_VERB}( мне| меня)?( больше)?",
        "(прекратите|хватит|остановите|отключите|отмените|уберите) (мне )?"
        f"(эту |эти |вашу |ваши |все )?{_RU_CHANNEL}",
        "(больше )?не (пишите|присылайте|шлите|отправляйте|звоните|беспокойте|спамьте|напоминайте)"
        "( мне| меня| сюда)?( больше| никогда| ничего)*( на (телефон|этот номер|мой номер|номер))?",
        "(отпишите|отписать|отпишись|отписаться|удалите|исключите|уберите)"
        "( меня| мой номер| этот номер)?( (от|из) (всех |ваших |этой |вашей |всего|всех)?"
        f"({_RU_CHANNEL}|рассылки|базы|списка|списков|рассылок|подписки))?",
        f"(я )?(больше )?(ничего )?не хочу (больше )?(ничего )?(от вас )?(получать|видеть)"
        f"( от вас)?( (ваши|вашу|эти|эту|никаких|никакие))?( {_RU_CHANNEL})?( от вас)?",
        "(hvatit|prekratite|perestante) (pisat|slat|spamit|prisylat)( mne)?",
        "(ne pishite|ne pisat|ne prisylayte|ne shlite)( mne| menya)?( bolshe)?",
        "(otpishite|otpisat|otpisatsya|otpishis)( menya)?",
        # pl
        "nie (piszcie|pisz|wysyłajcie|wysylajcie|spamujcie|dzwońcie|dzwoncie)"
        f"( do mnie| mi| mnie)?( (więcej|wiecej|już|juz|nic|żadnych|zadnych))*( {_PL_CHANNEL})?"
        "( na (telefon|ten numer|mój numer|moj numer|komórkę|komorke))?",
        "(przestańcie|przestancie|przestań|przestan) (mi |do mnie )?(pisać|pisac|wysyłać|wysylac|"
        "spamować|spamowac|dzwonić|dzwonic)( do mnie| mi| mnie)?",
        "(wypisz|wypiszcie|wypisać|wypisac|usuń|usun|usuńcie|usuncie)"
        f"( mnie| mój numer| moj numer| ten numer)?( z ({_PL_CHANNEL}|listy|bazy|subskrypcji|"
        "mailingu|tego))?",
        f"(rezygnuję|rezygnuje|rezygnacja) z ({_PL_CHANNEL}|subskrypcji|"
        f"otrzymywania {_PL_CHANNEL})",
        f"nie (chcę|chce) (więcej |wiecej |żadnych |zadnych )?{_PL_CHANNEL}",
    )
)
# Pure politeness removed before matching STOP_SENTENCES ("me" and "i" carry meaning there).
FILLERS: frozenset[str] = frozenset(
    {
        "please", "pls", "plz", "pleas", "thanks", "thank", "thx", "ty", "now", "just", "ok",
        "okay", "sorry", "asap", "already", "immediately", "right", "away", "guys", "seriously",
        "пожалуйста", "пожалуйсто", "пожалуста", "плиз", "плз", "пж", "пжл", "спасибо", "спс",
        "уже", "сейчас", "ну", "срочно", "вообще", "плс", "немедленно", "pozhaluysta", "spasibo",
        "proszę", "prosze", "dziękuję", "dziekuje", "dzięki", "dzieki", "teraz", "natychmiast",
    }
)  # fmt: skip
AROUND_A_DECLINE = FILLERS | THANKS_WORDS  # "спасибо, не надо", "buyao le xiexie"
# words that only strengthen a thank-you ("спасибо большое", "dziękuję bardzo", "thanks so much")
THANKS_INTENSIFIERS = frozenset({"большое", "огромное", "bardzo", "wielkie", "so", "much", "very"})
# Chinese: 不要/别/勿 + (再) + (给我) + contact verb (+ object), after polite particles are gone.
ZH_STOP = re.compile(
    r"^(?:(?:不要|别|勿|不用|不必|请勿)再?(?:给我|跟我|向我)?(?:发|打扰|联系|推送|骚扰|提醒|打电话)"
    r"(?:我)?(?:消息|短信|信息|广告|通知|推送|提醒|这些)*"
    r"|(?:取消|关闭|停止)(?:所有|全部)?(?:的)?(?:通知|提醒|推送|短信|订阅|消息)"
    r"|我?不想再?收到(?:你们的|你们)?(?:消息|短信|信息|通知|推送))$"
)
# 退订, the SMS keyword, not right after a negation (不要退订, 别给我退订: "don't unsubscribe
# me") and not 退订单 (cancel an order)
ZH_UNSUBSCRIBE = re.compile(
    r"(?<![不别没勿])(?<!不要|不用|无需|不想|不必|不需)(?<![不别勿][给帮]我)(?<!不要[给帮]我)退订(?!单)"
)
# Emoji that on their own mean "stop".
STOP_EMOJI = frozenset("🛑⛔🚫✋🤚🙅")

# A refusal word negated ("не отменяйте", "don't cancel", "nie rezygnuję", "别取消") takes back
# the refusal; read on text that keeps its punctuation, so "не буду, отказываюсь" is no match.
_NOT_RU = r"\bне (?:надо |нужно |стоит |хочу |буду |собираюсь |могу |говорю )?"
_NOT_EN = (
    r"\b(?:dont|do not|didnt|did not|havent|have not|no need to|not going to|never|wont|"
    r"will not|im not|i am not|not) (?:want to |wanna |gonna |going to |trying to )?"
)
_NOT_PL = r"\bnie (?:chce |chcę |zamierzam |trzeba |musicie )?"
_NOT_ZH = r"(?:不要|别|不用|无需|不想|勿|没有|没|并不是要|不是要|不必)(?:帮我|给我|把)?"
# a negated cancel, refusal or change of mind: neither this checkout nor the messages are refused
NEGATED_CANCEL = re.compile(
    rf"{_NOT_RU}(?:отмен\w*|отказ\w*|откаж\w*|передума\w*|нет\b)"
    rf"|{_NOT_EN}(?:cancel\w*|refus\w*|say(?:ing)? no\b|chang\w* my mind"
    r"|(?:delet|remov|clear|empt)\w* (?:my |the |this )?(?:cart|order|basket|item))"
    rf"|{_NOT_PL}(?:anul\w*|rezygn\w*|odwoł\w*|zmieni\w* zdani\w*|rozmyśl\w*|mówię nie|mowie nie)"
    rf"|{_NOT_ZH}(?:取消|放弃|改变主意|改主意)"
)
# a negated unsubscribe: the messages are not refused (this checkout still may be)
NEGATED_UNSUBSCRIBE = re.compile(
    rf"{_NOT_RU}(?:отпис\w*|удал[яи]\w*)"
    rf"|{_NOT_EN}(?:unsubscrib\w*|opt(?:ing)? (?:me )?out|remov\w* me"
    r"|delet\w* my (?:number|data|contact|details))"
    rf"|{_NOT_PL}(?:wypis\w*|usuw\w*|kasuj\w*)|{_NOT_ZH}(?:退订|删除|删掉)"
)
# words that refuse the messages whatever else was negated ("не отменяйте, просто не пишите",
# "от заказа не отказываюсь, а от сообщений отпишите")
STOP_CUE = re.compile(
    r"\bне (?:пиш|пис|присыл|беспоко|звон)|\bстоп\b|хватит|спам|(?<!не )\bотпишите"
    r"|\bstop\b|\bdont (?:text|message|write|contact|send|call)|\bspam|leave me alone"
    r"|(?<!dont )(?<!not )\b(?:unsubscribe|opt) me\b"
    r"|\bnie (?:pisz|wysył|wysyl|dzwoń|dzwon)|przesta[nń]|(?<!nie )\bwypiszcie"
    r"|(?:别|不要|勿)再?(?:发|联系|打扰)|骚扰|拉黑"
)
# an order cancelled outright ("отмените заказ, но не отписывайте"): with a negated unsubscribe
# it is a decline that keeps consent
CANCEL_CUE = re.compile(
    r"(?<!не )\b(?:отмените|отменяйте|аннулируйте|удалите заказ)"
    r"|(?<!dont )(?<!not )\bcancel (?:it|the|this|my)\b"
    r"|(?<!nie )\banuluj(?:cie)?\b|(?<![不别])取消(?:订单|这个|吧|掉)"
)
# giving up ("payment failed twice, forget it", "не проходит, ну его", "付不了就算了"): with a
# payment or late-order reading the shopper declines this checkout (unless a cancel is negated)
GIVE_UP_CUE = re.compile(
    r"\bforget (?:it|about it)\b|\bwhatever\b|\bnever ?mind\b|\bdont need it\b"
    r"|(?<!dont )(?<!not )(?<!wont )(?<!would i )\bcancel\b"
    r"|\bзабей(?:те)?\b|\bну (?:и )?его\b|\bну и ладно\b|(?<!не )\bотмен(?:ите|яйте|яю|ить)\b"
    r"|(?<!не )\bпередумал|\bolewam\b|(?<!nie )\brezygnuj[eę]\b|(?<!nie )\banuluj(?:cie|ę)?\b"
    r"|(?<![结计打])算了|不要了|不买了|(?<![别没不])取消(?:吧|了|订单)"
    r"|(?<!dont )(?<!not )\b(?:i give up|giving up|gave up|poddaj[eę] si[eę]|сдаюсь)\b|放弃"
    r"|(?<!не )\bне буду (?:\w+ ){0,3}(?:заказывать|брать|покупать)"
    r"|\b(?:заказывать|брать|покупать) не буду|\bnot (?:ordering|buying)\b"
    r"|\bnie (?:będę|bede) (?:\w+ ){0,3}(?:zamawia|kupowa)|\bnie (?:biorę|biore)\b"
)

# a complaint that an earlier order is late or lost ("the dog coat I ordered is late", "до сих
# пор не пришёл", "nadal nie dotarła", "上次的订单还没到"): no gold decline in the data has one
LATE_ORDER_CUE = re.compile(
    r"\bstill (?:not|isnt|hasnt|havent) ?(?:here|arrived|delivered|received|come|shipped)"
    r"|\bstill (?:no sign|waiting)\b"
    r"|\b(?:hasnt|havent|has not|never|didnt|did not) (?:arrived|come|shown|turned up|showed)\b"
    r"|\b(?:is|its|so|running) late\b|\bwhere(?: is|s) my (?:previous|last|other|old|first)\b"
    r"|(?:до сих пор|ещ[её]) (?:не|нет) (?:пришел|пришла|пришло|пришли|доставили|привезли|получил"
    r"|посылки|заказа)|\bгде (?:мой|моя|мои) (?:прошл|предыдущ|стар|первы)"
    r"|\bтак и не (?:привезли|доставили|доехал|дошл|получил)"
    r"|\bnie (?:doszł|dotarł|przysz)|\b(?:wciąż|nadal|dalej) nie (?:ma|dotar|doszł|przysz|dosta)"
    r"|\bgdzie (?:jest )?(?:moja|moje|mój) (?:poprzedni|ostatni|wcześniejsz)"
    r"|还没(?:到|收到|发货|送到)|怎么还没|上次(?:的|那个)?(?:订单|买的)"
)

# "who gave you my number?" and its kin: a question, not a refusal, unless STOP_DEMAND is beside it
WHO_GAVE_MY_NUMBER = re.compile(
    r"who gave (?:you|u) (?:my|this) (?:number|phone|contact)"
    r"|(?:how|where) did (?:you|u) get (?:my|this) (?:number|phone|contact)"
    r"|откуда у (?:вас|тебя) (?:мой|этот) (?:номер|телефон)"
    r"|кто (?:вам|дал) (?:дал )?(?:мой|этот) номер"
    r"|sk[aą]d (?:macie|masz|wzi[eę]li[sś]cie) (?:m[oó]j|ten) (?:numer|telefon)"
    r"|kto (?:wam )?da[lł] (?:wam )?m[oó]j numer"
    r"|哪来的我的?(?:号码|电话)|谁给(?:你们|你)我的?(?:号码|电话)|怎么(?:会)?有我的?(?:号码|电话)"
    r"|从哪里?(?:弄|拿|搞)到我的?(?:号码|电话)"
)
# a demand beside that question that makes it a stop, besides STOP_CUE: delete it, spam, report
STOP_DEMAND = re.compile(
    r"delete|remove|erase|\bstop|spam|unsub|block|take (?:it|me) off|opt (?:me )?out|report"
    r"|\bdont\b.{0,12}\b(?:message|text|write|contact)|never (?:message|text|write|contact)"
    r"|leave me alone|удал|сотр|\bне пиш|не присыл|прекрат|спам|отпиш|не беспок|заблок|жалоб"
    r"|отстан|хватит|usu[nń]|wypis|\bnie pisz|\bnie pisa|nie wysy|kasuj|zablok|uodo|zg[lł]asz"
    r"|dajcie spok|删|别再?发|别再|退订|拉黑|举报|不要再|投诉|不要发|垃圾|别联系"
)
