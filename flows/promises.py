"""What a text may promise: only payment methods and promotions the shop declares in
`flows/shop.yml` (R-PZ1, R-FL2). `nudge validate` reports a template that promises more."""

from __future__ import annotations

from pathlib import Path

from flows.replies import Shop
from flows.templates import Templates

# Words that promise a payment method, by the method's id in shop.yml (any language).
PAYMENT_WORDS: dict[str, tuple[str, ...]] = {
    "blik": ("BLIK",),
    "sbp": ("СБП", "SBP"),
    "cod": ("при получении", "on delivery", "przy odbiorze", "货到付款"),
    "installments": ("рассрочк", "instalment", "installment", "raty", "分期"),
    "paypal": ("PayPal",),
    "apple_pay": ("Apple Pay",),
    "google_pay": ("Google Pay",),
}
# Words that promise free delivery: allowed only when a promotion says `free_delivery: true`.
FREE_DELIVERY_WORDS = (
    "доставка за наш счёт",
    "бесплатная доставка",
    "бесплатной доставк",
    "delivery is on us",
    "free delivery",
    "free shipping",
    "na nasz koszt",
    "darmowa dostawa",
    "darmową dostaw",
    "免运费",
    "包邮",
)


def undeclared(text: str, shop: Shop) -> list[str]:
    """What `text` promises that the shop does not declare (empty when nothing)."""
    declared = {method.id for method in shop.payment_methods}
    lowered = text.lower()
    found = [
        f"payment method {method!r}"
        for method, words in PAYMENT_WORDS.items()
        if method not in declared and any(w.lower() in lowered for w in words)
    ]
    free = any(p.free_delivery for p in shop.promotions)
    if not free and any(w.lower() in lowered for w in FREE_DELIVERY_WORDS):
        found.append("free delivery")
    return found


def check_promises(domain: Path, templates: Templates, shop: Shop) -> list[str]:
    """`file:line` problems for templates promising what shop.yml does not declare."""
    problems = []
    for name, variants in templates.by_name.items():
        for variant in variants.values():
            for promise in undeclared(variant.text, shop):
                problems.append(
                    f"{domain}:{variant.line}: {name} ({variant.language}) promises {promise}, "
                    "which flows/shop.yml does not declare"
                )
    return problems
