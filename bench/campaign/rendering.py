"""Rendering one campaign letter: the text part made once per version against converting
each recipient's HTML, and the parts filled without running the template against the
template's render, interleaved in one process so that the machine's load hits all.

    .venv/bin/python -m bench.campaign.rendering [--letters 5000] [--rounds 5]

The template is `bench.campaign.sending`'s (a name in the subject and the first
paragraph, the company's name eight times). "converted" renders the same compiled
template with its derived text switched off, i.e. `html_to_text` of every letter's HTML,
as before the skeleton; "by template" runs Jinja for every part (as before parts made
of text and plain lookups were filled, decision 0067) with the text made once; "filled"
is what `CompiledTemplate.render` does now.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from bench.campaign.sending import HTML, SUBJECT
from hub.templates import (
    CampaignVariables,
    CompanyVariables,
    ContactVariables,
    EmailTemplate,
    TemplateVariables,
    compile_template,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--letters", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    filled = compile_template(EmailTemplate(subject=SUBJECT, html=HTML, text=None))
    assert filled.derived is not None
    assert all(part.plain is not None for part in filled.parts.values())
    parts = {name: dataclasses.replace(part, plain=None) for name, part in filled.parts.items()}
    made_once = dataclasses.replace(filled, parts=parts)
    converted = dataclasses.replace(made_once, derived=None)
    people = [
        TemplateVariables(
            contact=ContactVariables(name=f"Клиент {i}", city="Казань"),
            company=CompanyVariables(name="Acme"),
            campaign=CampaignVariables(name="bench"),
        )
        for i in range(args.letters)
    ]
    best = {"converted": float("inf"), "by template": float("inf"), "filled": float("inf")}
    for _ in range(args.rounds):
        for name, compiled in (
            ("converted", converted), ("by template", made_once), ("filled", filled)
        ):
            start = time.perf_counter()
            for person in people:
                compiled.render(person)
            best[name] = min(best[name], (time.perf_counter() - start) / args.letters)
    for name, seconds in best.items():
        print(f"{name}: {seconds * 1e6:,.0f} µs per letter (best of {args.rounds})")
    print(f"by template / converted: {best['by template'] / best['converted']:.2f}")
    print(f"filled / by template: {best['filled'] / best['by template']:.2f}")


if __name__ == "__main__":
    main()
