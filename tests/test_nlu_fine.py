"""Fine intents without the model: mapping, gold labels, rules, commands, validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.dialogue.commands import command_payload, guess_language
from bot.settings import PROJECT_ROOT
from flows.replies import ReplyBook, validate_replies
from nlu.classify import LiveClassifier
from nlu.dataset import Example
from nlu.evaluate import designer_book, fine_report, gold_fine, misunderstood_rate
from nlu.intents import FINE_INTENTS, fine_of, to_routing
from nlu.rules import RuleMatch, apply_rules
from nlu.types import ROUTING_INTENTS, Classification
from nlu.validate import validate_nlu


@pytest.fixture(scope="module")
def book() -> ReplyBook:
    return designer_book(PROJECT_ROOT)


def test_every_fine_intent_maps_onto_a_routing_intent() -> None:
    assert set(FINE_INTENTS.values()) == set(ROUTING_INTENTS)
    assert to_routing("decline") == "opt_out" and to_routing("already_paid") == "payment"
    assert to_routing("where_is_my_order") == "delivery" and to_routing("thanks") == "other"
    assert to_routing("opt_out") == "opt_out" and to_routing("nonsense") == "other"


@pytest.mark.parametrize(
    ("result", "fine"),
    [
        (Classification("opt_out", 0.9, "model", "decline"), "decline"),
        (Classification("opt_out", 1.0, "rule", "stop"), "stop"),
        (Classification("other", 1.0, "rule", "thanks"), "thanks"),
        (Classification("other", 1.0, "rule", "yes"), "other"),
        (Classification("other", 0.4, "threshold", "decline"), "other"),
        (Classification("payment", 1.0, "rule", "payment"), "payment"),
        (Classification("other", 0.0, "unavailable", None), "other"),
    ],
)
def test_fine_of_a_classification(result: Classification, fine: str) -> None:
    assert fine_of(result) == fine


def test_gold_fine_labels_and_the_misunderstood_rate(book: ReplyBook) -> None:
    rows = [
        Example("a", "opt_out", fine="decline"),
        Example("b", "thanks"),
        Example("c", "opt_out"),
        Example("d", "other"),
    ]
    assert [gold_fine(r) for r in rows] == ["decline", "thanks", "stop", "other"]
    results = [
        Classification("opt_out", 1.0, "rule", "decline"),
        Classification("other", 1.0, "rule", "thanks"),
        Classification("opt_out", 1.0, "rule", "stop"),
        Classification("other", 0.3, "threshold", "payment"),
    ]
    assert misunderstood_rate(results, book) == 0.25
    report = fine_report(rows, results, book)
    assert report["accuracy"] == 1.0 and report["fine"]["accuracy"] == 1.0
    assert report["misunderstood"] == 0.25


def test_a_message_a_hand_off_rule_or_a_fine_flow_answers_is_not_misunderstood(
    book: ReplyBook,
) -> None:
    rows = [
        Example("какой размер?", "other", fine="product_question"),
        Example("кто это?", "other", fine="who_is_this"),
        Example("позовите оператора", "other", fine="human"),
        Example("за рулём, вечером гляну", "other", fine="later"),
        Example("хм", "other"),
    ]
    results = [
        Classification("other", 0.9, "model", "product_question", "какой размер?"),
        Classification("other", 0.9, "model", "who_is_this", "кто это?"),
        Classification("other", 0.2, "threshold", None, "позовите оператора"),
        Classification("other", 0.9, "model", "later", "за рулём, вечером гляну"),
        Classification("other", 0.9, "model", "other", "хм"),
    ]
    assert misunderstood_rate(results, book) == 0.2
    assert fine_report(rows, results, book)["misunderstood"] == 0.2


def test_the_new_fine_intents_are_answered_under_other() -> None:
    for fine in ("product_question", "who_is_this", "later"):
        assert to_routing(fine) == "other", fine


@pytest.mark.parametrize(
    ("text", "intent", "detail"),
    [
        ("Не актуально!", "opt_out", "decline"),
        ("уже не нужно, спасибо", "opt_out", "decline"),
        ("передумал", "opt_out", "decline"),
        ("nieaktualne", "opt_out", "decline"),
        ("no thanks, changed my mind", "opt_out", "decline"),
        ("不需要了", "opt_out", "decline"),
        ("спасибо 🙏", "other", "thanks"),
        ("thank you so much", "other", "thanks"),
        ("谢谢你", "other", "thanks"),
        ("мерси", "other", "thanks"),
        ("謝謝您", "other", "thanks"),
        ("СТОП", "opt_out", "stop"),
        ("拒收", "opt_out", "stop"),
        ("請別再發了", "opt_out", "stop"),
    ],
)
def test_commonest_declines_and_thanks_are_rules(text: str, intent: str, detail: str) -> None:
    match = apply_rules(text)
    assert match is not None and (match.intent, match.detail) == (intent, detail)


def test_a_decline_leaves_room_for_a_question_and_an_offered_no() -> None:
    assert apply_rules("не актуально, а скидка есть?") is None
    match = apply_rules("нет спасибо", {"no": "payment"})
    assert match is not None and match.intent == "payment"


@pytest.mark.parametrize("text", ["нет", "No.", "nope", "nie", "不", "不用了"])
async def test_a_bare_no_to_a_reminder_is_a_decline(text: str) -> None:
    result = await LiveClassifier(None).classify(text)
    assert (result.intent, result.source, fine_of(result)) == ("opt_out", "rule", "decline")


async def test_an_offered_no_keeps_its_action() -> None:
    result = await LiveClassifier(None).classify("нет", {"no": "payment"})
    assert (result.intent, result.detail) == ("payment", "payment")


@pytest.mark.parametrize(
    "text",
    ["好的谢谢", "太谢谢了", "谢谢提醒", "thanks for the reminder", "спасибо за напоминание"],
)
def test_thanks_with_their_companions(text: str) -> None:
    assert apply_rules(text) == RuleMatch("other", "thanks")


@pytest.mark.parametrize(
    ("text", "decline"),
    [
        ("не интересно", True), ("nie chcę", True), ("算了吧", True), ("nvm", True),
        ("не хочу больше получать смс", False), ("nie chcę smsów", False),
    ],
)  # fmt: skip
def test_more_exact_declines(text: str, decline: bool) -> None:
    match = apply_rules(text)
    assert match is not None and match.intent == "opt_out"
    assert (match.detail == "decline") is decline


@pytest.mark.parametrize(
    "text",
    ["nie trzeba, dziękuję bardzo 🙂", "не надо, спасибо большое", "no need, thanks so much"],
)
def test_a_decline_with_a_strong_thank_you_is_a_decline(text: str) -> None:
    match = apply_rules(text)
    assert match is not None and (match.intent, match.detail) == ("opt_out", "decline")


@pytest.mark.parametrize("text", ["nie bardzo", "not so much", "не надо большое"])
def test_intensifiers_without_a_thank_you_decline_nothing(text: str) -> None:
    match = apply_rules(text)
    assert match is None or match.detail != "decline"


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("/status", "status"), ("/STATUS@nudge_bot", "status"), ("где мой заказ?", "status"),
        ("Gdzie moje zamówienie", "status"), ("订单状态", "status"), ("/help", "help"),
        ("помощь", "help"), ("/operator", "operator"), ("оператор!", "operator"),
        ("人工", "operator"), ("where is my order and why so slow", None), ("hello", None),
    ],
)  # fmt: skip
def test_commands_and_their_plain_words(text: str, payload: str | None) -> None:
    assert command_payload(text) == payload


@pytest.mark.parametrize(
    ("text", "language"),
    [("привет", "ru"), ("你好", "zh"), ("dzień dobry", "pl"), ("hello", "en"), ("👍", "de")],
)
def test_language_is_guessed_from_the_text(text: str, language: str) -> None:
    assert guess_language(text, "de") == language


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in ("data", "tests"):
        shutil.copytree(PROJECT_ROOT / "nlu" / name, tmp_path / "nlu" / name)
    shutil.copytree(PROJECT_ROOT / "flows", tmp_path / "flows")
    for name in ("config.yml", "domain.yml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    return tmp_path


def test_validation_names_a_missing_fine_intent_and_a_wrong_fine_column(root: Path) -> None:
    domain = root / "domain.yml"
    domain.write_text(domain.read_text(encoding="utf-8").replace("  - thanks\n", ""), "utf-8")
    heldout = root / "nlu" / "heldout"
    heldout.mkdir()
    for lang in ("ru", "en", "pl", "zh"):
        (heldout / f"{lang}.tsv").write_text("text\tintent\tfine\n", encoding="utf-8")
    (heldout / "en.tsv").write_text("text\tintent\tfine\nok then\tpayment\tthanks\n", "utf-8")
    problems = validate_nlu(root)
    assert any("intents lacks the fine intent 'thanks'" in p for p in problems), problems
    assert any("thanks" in p and "is not in domain.yml" in p for p in problems), problems
    assert f"{heldout / 'en.tsv'}:2: fine intent 'thanks' does not map onto 'payment'" in problems


def test_a_reply_flow_with_an_unknown_fine_intent_is_named(root: Path) -> None:
    flows = root / "flows" / "replies" / "replies.yml"
    text = flows.read_text(encoding="utf-8").replace(
        "fine_intents: [decline]", "fine_intents: [nope]"
    )
    flows.write_text(text, encoding="utf-8")
    problems = validate_replies(root)
    assert any("unknown fine intent" in p and "nope" in p for p in problems), problems


def test_a_who_is_this_flow_needs_the_shops_name(root: Path) -> None:
    shop = root / "flows" / "shop.yml"
    shop.write_text(shop.read_text(encoding="utf-8").replace('name: "Example"\n', ""), "utf-8")
    problems = validate_replies(root)
    assert any("flows.who_is_this" in p and "needs a name" in p for p in problems), problems


def test_a_hand_off_rules_reply_must_be_a_template(root: Path) -> None:
    rules = root / "flows" / "replies" / "handoff.yml"
    text = rules.read_text(encoding="utf-8").replace(
        "reply: utter_reply_handoff_product_question\n", "reply: utter_nope\n"
    )
    rules.write_text(text, encoding="utf-8")
    problems = validate_replies(root)
    assert any("'utter_nope' is not in domain.yml" in p for p in problems), problems


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("buyao le xiexie", "decline"), ("bu yong le, xie xie", "decline"),
        ("spasibo, ne nado", "decline"), ("не актуально, благодарю", "decline"),
        ("xiexie", "thanks"), ("xie xie!", "thanks"),
    ],
)  # fmt: skip
def test_pinyin_and_translit_declines_keep_their_thanks_apart(text: str, detail: str) -> None:
    match = apply_rules(text)
    assert match is not None and match.detail == detail
    assert match.intent == ("opt_out" if detail == "decline" else "other")
