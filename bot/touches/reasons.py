"""The rules a touch or chain is audited with, and why a chain stops: one name each, used where
the rule is applied and where it is compared. The strings are stored; they never change."""

from __future__ import annotations

# A claimed touch whose flow or step the designer files no longer have.
STEP_GONE = "flow or step no longer exists"

# R-FL1: touch 1 counts from the last checkout activity.
TIMER_FROM_ACTIVITY = "R-FL1 timer from last activity"

# R-FL2: payment reminders, the shop's retry hook, a person after 5 failures.
NO_RETRY_HOOK = "R-FL2 no retry hook: reminder"
RETRY_HOOK_SUCCEEDED = "R-FL2 retry hook succeeded"
RETRY_HOOK_FAILED = "R-FL2 retry hook failed: reminder"
FIVE_FAILED_PAYMENTS = "R-FL2 5 failed payments"
MANUAL_REVIEW_AFTER_FAILURES = "R-FL2 manual review after 5 failures"

# R-FL3: order status messages.
NO_STATUS_TEMPLATE = "R-FL3 no template for this status"

# R-FL5: A/B variants.
VARIANT_BY_HASH = "R-FL5 variant by hash"

# R-MX3: the holdout share gets no messages.
HOLDOUT = "R-MX3 holdout: no messages"

# R-SR1: consent.
NO_CONSENT = "R-SR1 no consent"

# R-SR2: quiet hours.
QUIET_HOURS = "R-SR2 quiet hours"
NO_ALLOWED_MOMENT = "R-SR2"

# R-SR3: one chain per cooldown, caps.
ONE_CHAIN_PER_COOLDOWN = "R-SR3 one recovery chain per cooldown"
CARTS_MERGED = "R-SR3 carts merged into one session"
HOURS_BETWEEN_TOUCHES = "R-SR3 3 h between touches"
TOUCHES_A_DAY = "R-SR3 2 touches a day"
PAYMENT_REMINDERS_A_DAY = "R-SR3 3 payment reminders a day"
TOUCHES_PER_CHAIN = "R-SR3 3 touches per chain"

# R-SR4: one payment chain per checkout.
JOINS_PAYMENT_CHAIN = "R-SR4 failure joins the checkout's payment chain"

# R-SR5: stop and re-arm rules.
REVISIT_REARMS = "R-SR5 revisit re-arms"
ACTIVITY_REARMS = "R-SR5 activity re-arms"
STOP_ON_REPLY = "R-SR5 stop on reply"
STOP_ON_PAID = "R-SR5 stop on paid"

# R-SR6: the WhatsApp 24 h window and templates.
NO_WHATSAPP_TEMPLATE = "R-SR6 no WhatsApp template"
WITH_TEMPLATE = " R-SR6 template"

# R-SR7: numbers without WhatsApp fall back to SMS.
NO_FALLBACK = "R-SR7 not on WhatsApp, no SMS consent"
FELL_BACK = "R-SR7 fallback WhatsApp to SMS"
UNDELIVERABLE = "R-SR7 not on WhatsApp"

# R-SR9: a send whose outcome is not known is flagged, never repeated.
OUTCOME_UNKNOWN = "R-SR9 outcome unknown"
SENDER_SILENT = "R-SR9 outcome unknown: sender went silent"
NO_OUTCOME_IN_TIME = "R-SR9 outcome unknown: no outcome in time"

# R-CH2: the provider asked to wait longer than a send may.
RETRY_AFTER = "R-CH2 provider's Retry-After: rescheduled"


def consent_for(channel: str) -> str:
    """R-SR1: the consent a touch goes out under."""
    return f"R-SR1 consent {channel}"


def stop_on(reason: str) -> str:
    """R-SR5: the rule of touches cancelled because their chain stops for `reason`."""
    return f"R-SR5 stop on {reason}"[:64]


def chain_not_active(status: str) -> str:
    return f"R-SR5 chain {status}"


def conversation_held(state: str) -> str:
    return f"R-SR5 conversation {state}"


def one_recovery_sms(country: str) -> str:
    """R-SR10: the country allows one recovery SMS per chain."""
    return f"R-SR10 {country} one recovery SMS"


def sms_only_within(country: str) -> str:
    """R-SR10: the country allows recovery SMS only soon after the abandonment."""
    return f"R-SR10 {country} SMS only within 48 h"


def no_whatsapp_marketing(country: str) -> str:
    """R-SR10: the country allows no WhatsApp marketing templates."""
    return f"R-SR10 {country} no WhatsApp marketing"[:64]


# Why a chain stopped (chains.stop_reason).
SUPERSEDED = "superseded"
PAID = "paid"
OPT_OUT = "opt_out"
MANUAL_REVIEW = "manual_review"
HANDOFF = "handoff"
NO_CONSENT_GIVEN = "no_consent"
CAP_REACHED = "cap"
COUNTRY_RULE = "country_rule"
NO_ALLOWED_HOUR = "no_allowed_hour"
NO_TEMPLATE = "no_template"
FIXED_BY_RETRY = "fixed_by_retry"
LAST_TOUCH = "last touch"
