"""nlu.address: a message that calls a relative, a partner or a friend is written to them."""

from __future__ import annotations

import pytest

from nlu.address import calls_someone_else, says_it_was_sent_elsewhere


@pytest.mark.parametrize(
    "text",
    [
        # a call that is only ever a call needs no comma
        "мам не покупай мне шапку",
        "пап не нужно, я сам выберу",
        "tato nie potrzebuję wiertarki",
        "babciu, nie wysyłaj mi paczki",
        "babe cancel the pizza",
        # a noun or a name before a comma, "you", an imperative or "не надо"
        "Мама, не надо ничего заказывать",
        "котик, не заказывай пылесос",
        "Серёж, отмени бронь",
        "Mom, I don't need the boots",
        "Dave don't book the table",
        "Kasia nie zamawiaj tego ekspresu",
        "Haniu, nie przyjeżdżajcie w niedzielę",
        "老婆，别买牛奶了",
        "爸 我不要鱼竿了",
        "奶奶别寄东西了",
        "小王，周五的会取消吧",
        # 不要 + a verb after a kin word tells that person not to do it
        "老公不要买推车了，婆婆送了",
        # traditional characters read as simplified ones
        "老婆，別買了",
        "媽 我不要了",
        # a call at the end
        "не покупай ничего, мам",
        "nie kupuj tego, mamo",
    ],
)
def test_a_call_to_someone_else(text: str) -> None:
    assert calls_someone_else(text)


@pytest.mark.parametrize(
    "text",
    [
        # the relative is who the sentence is about: the shopper answers the shop
        "мама сказала не надо",
        "дочь уже купила такой же",
        "hubby got me one for my birthday",
        "mom says no need, daycare has them",
        "Kasia nie chce tej sukienki",
        "teściu dał nam swoją wiertarkę",
        "老公不让买了",
        "妈妈说不用买了",
        # words people call strangers by, the shop among them
        "сынок, мне это не нужно",
        "девушка, не актуально",
        "Pani Aniu, proszę wypisać mnie z listy",
        "兄弟别刷屏了",
        "老板，不要了",
        # 不要了 after a kin word says that person does not want it
        "老公不要了",
        "妈妈不要啦",
        "亲，不需要了",
        "guys, not interested",
        # no call at all
        "не актуально",
        "no thanks",
        "свет отключили, потом посмотрю",
        # a clause about the person, a list, an adjective, "no longer", goods
        "Сын, которому выбирала, уже купил сам",
        "Mom, dad and I decided not to",
        "Сын не маленький уже, не надо",
        "Mum no longer needs it",
        "Mom dont need it anymore",
        "Котик не ест такой корм, не надо",
        "Не нужно, это был подарок для мам",
        "小米，不要了",
        "宝贝 不要了",
        "帅哥，不用了",
        "No thanks, hun",
    ],
)
def test_no_call_to_someone_else(text: str) -> None:
    assert not calls_someone_else(text)


@pytest.mark.parametrize(
    ("text", "sent_elsewhere"),
    [
        ("oops that was meant for my sister", True),
        ("meant to send this to my husband, ignore", True),
        ("sorry, wrong chat", True),
        ("lol ignore that, meant for my sister", True),
        ("the boots were meant for my sister, not needed now", False),
        ("блин, не туда написала", True),
        ("упс, это было для сестры", True),
        ("ой, это не вам", True),
        ("sorki, pomyliłam czaty", True),
        ("to miało iść do męża", True),
        ("不好意思发错了", True),
        # a bare "не туда" after an apology; a parcel sent or a button pressed there is not
        ("извините не туда", True),
        ("ой, не туда!", True),
        ("доставили не туда", False),
        ("оформил случайно, тыкнул не туда", False),
        ("刚才那条是发给我女儿的", True),
        ("這是要傳給我室友的", True),
        ("不好意思發錯了", True),
        # the shop wrote to the wrong person: a stop or a question, not a wrong chat
        ("wrong number, I never ordered anything, stop", False),
        ("你们发错人了，别再发了", False),
        ("你們發錯人了", False),
        ("是发给我的吗", False),
        ("это мамин номер, не пишите сюда", False),
        ("kto do mnie tu pisze", False),
        ("корзину очистите, я это брать не буду", False),
        ("the shoes were for my sister's wedding, it's over now", False),
    ],
)
def test_a_message_that_says_it_went_to_the_wrong_chat(text: str, sent_elsewhere: bool) -> None:
    assert says_it_was_sent_elsewhere(text) is sent_elsewhere
