"""The words of the CLI's human output: every key a command names is in the catalogue,
every code it names has a name, and the Russian side holds no English."""

from __future__ import annotations

import re
from pathlib import Path

from hub.activity.repos import Reason
from hub.activity.repos.campaigns import CampaignState, RecipientState, SkipReason
from hub.campaigns.stats import ORDER as STATS
from hub.cli import campaign_cmd
from hub.i18n.catalogue import entries
from hub.model import SendOutcome

CLI = Path(campaign_cmd.__file__).parent
#: Catalogue keys written out in the commands' code ("cli_campaign.summary", …).
LITERAL_KEY = re.compile(r'"((?:cli_[a-z]+|count\.cli)\.[a-z_]+)"')
#: Tables these commands name codes through, and the codes.
CODES = {
    "campaign_state": [s.value for s in CampaignState],
    "cli_campaign_stat": list(STATS),
    "recipient_state": [s.value for s in RecipientState],
    "skip_reason": [s.value for s in SkipReason],
    "suppression_reason": [r.value for r in Reason],
    "send_outcome": [o.value for o in SendOutcome] + ["held"],
}
#: Latin a Russian text may hold: placeholders, options, formats and codes it quotes.
NOT_WORDS = re.compile(r"\{\w+\}|--[\w-]+|HTML|\(#|[A-Z]{2,}")


def test_every_key_the_commands_name_is_in_the_catalogue() -> None:
    catalogue = entries()
    named: set[str] = set()
    for module in ("campaign", "template", "segment", "sms", "messenger", "suppressions"):
        source = (CLI / f"{module}_cmd.py").read_text(encoding="utf-8")
        named |= set(LITERAL_KEY.findall(source))
        named |= {f"count.{key}" for key in re.findall(r'counted\(locale, "([\w.]+)"', source)}
    assert len(named) > 15
    missing = sorted(k for k in named if k not in catalogue or "ru" not in catalogue[k])
    assert not missing


def test_every_code_the_commands_print_has_a_russian_name() -> None:
    catalogue = entries()
    for table, codes in CODES.items():
        for code in codes:
            texts = catalogue.get(f"{table}.{code}")
            assert texts is not None and isinstance(texts.get("ru"), str), f"{table}.{code}"
            assert re.search("[а-яё]", str(texts["ru"])), f"{table}.{code}"


def test_russian_texts_of_the_commands_hold_no_english() -> None:
    prefixes = ("cli_campaign.", "cli_template.", "cli_segment.", "cli_sms.", "cli_messenger.", "cli_import.",
                "cli_suppressions.", "count.cli.", "unsubscribe.", *(f"{t}." for t in CODES))  # fmt: skip
    for key, texts in entries().items():
        if not key.startswith(prefixes) or key == "unsubscribe.other_language":
            continue
        russian = texts["ru"]
        for form in russian.values() if isinstance(russian, dict) else [russian]:
            left = re.findall(r"[A-Za-z]{2,}", NOT_WORDS.sub("", form))
            assert not left, (key, form, left)
