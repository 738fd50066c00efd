"""Legal delays written out from the rule table, so that no message types a number of days of the law.

Every message that states a legal delay has a placeholder ({delay}, {access}…) filled here from the rules in force
(`bot.domain.deadlines.RULES`, or the table built with the urgent-unit setting): "20 working days", "3 days",
"60 days", in the plural form the number needs in each language.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.deadlines import RULES, Rule, Unit
from bot.i18n import Translator


def delay(t: Translator, rule: Rule) -> str:
    """The rule's length in `t`'s words: "20 working days" for working-day rules, "15 days" for calendar ones."""
    if rule.unit is Unit.WORKING:
        # TRANSLATORS: a legal delay, used after "within", "by", "has"… (Arabic: genitive, يومي عمل).
        return t.ngettext("{days} working day", "{days} working days", rule.days, days=rule.days)
    # TRANSLATORS: a legal delay in calendar days, used after "within", "by", "has"… (Arabic: genitive, يومين).
    return t.ngettext("{days} day", "{days} days", rule.days, days=rule.days)


def delays(t: Translator, rules: Mapping[str, Rule] = RULES, **names: str) -> dict[str, str]:
    """`delay` of several rules at once, as placeholders: `delays(t, access="access")` → {"access": "20 …"}."""
    return {name: delay(t, rules[rule_id]) for name, rule_id in names.items()}
