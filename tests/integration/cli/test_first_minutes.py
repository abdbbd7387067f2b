"""The first `serve` on an empty store: demo data, a head's token with people to look at,
a marketer's with a segment and templates to start from, the admin's, and a login page and
"My indicators" that fit that demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hub.activity import ActivityStore
from hub.campaigns.engine import template_of
from hub.campaigns.preview import segment_preview, template_preview
from hub.cli.serve_cmd import _load_demo_if_empty
from hub.config import Settings
from hub.demo.marketing import SEGMENT_NAME, TEMPLATES
from hub.web.dashboard import STATIC_DIR
from kpi.catalogue import load_catalogue

TOKEN = r"(th_[\w-]+)"


async def test_first_serve_prints_a_head_token_and_the_admin_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await ActivityStore.open(f"sqlite:///{tmp_path / 'first.db'}")
    try:
        assert await _load_demo_if_empty(Settings(), store)
        err = capsys.readouterr().err
        head_line = next(line for line in err.splitlines() if "demo head token" in line)
        admin_line = next(line for line in err.splitlines() if "demo admin token" in line)
        head_token = re.search(TOKEN, head_line)
        admin_token = re.search(TOKEN, admin_line)
        assert head_token and admin_token
        head = await store.tokens.authenticate(head_token.group(1))
        admin = await store.tokens.authenticate(admin_token.group(1))
        assert head is not None and admin is not None
        assert head.role == "head" and admin.role == "admin"
        assert head.employee_id is not None
        person = await store.employees.get(head.employee_id)
        assert person["name"] in head_line
        reports = [e for e in await store.employees.list() if e["head_id"] == head.employee_id]
        assert reports and f"has {len(reports)} people" in head_line
        # The login page's example names this very head.
        login = (STATIC_DIR / "js" / "login.js").read_text(encoding="utf-8")
        example = re.search(r'DEMO_HEAD = "([^"]+)"', login)
        assert example and example.group(1) == person["name"]
        # A second start loads nothing and prints no token.
        assert not await _load_demo_if_empty(Settings(), store)
        assert "token" not in capsys.readouterr().err
    finally:
        await store.close()


def test_my_indicators_start_with_the_counts() -> None:
    text = (STATIC_DIR / "js" / "my.js").read_text(encoding="utf-8")
    found = re.search(r"DEFAULT_WIDGETS = (\[[^\]]*\])", text)
    assert found
    codes = json.loads(found.group(1))
    counts = {"inbound_calls", "outbound_calls", "outgoing_letters", "outgoing_messages"}
    assert counts | {"touches_per_client"} <= set(codes)
    assert set(codes) <= set(load_catalogue())


async def test_the_marketer_starts_with_a_segment_and_templates_that_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await ActivityStore.open(f"sqlite:///{tmp_path / 'first.db'}")
    try:
        assert await _load_demo_if_empty(Settings(), store)
        line = next(line for line in capsys.readouterr().err.splitlines() if "demo marketer token" in line)
        found = re.search(TOKEN, line)
        assert found
        principal = await store.tokens.authenticate(found.group(1))
        assert principal is not None and principal.role == "marketer"

        (segment,) = await store.segments.list()
        assert segment.name == SEGMENT_NAME
        members = await segment_preview(store, segment.definition, sample=5)
        assert members.size > 0 and len(members.sample) == 5
        assert all(person.city == "Казань" for person in members.sample)

        saved = {t.name: t for t, _ in await store.templates.list()}
        assert set(saved) == {demo.name for demo in TEMPLATES}
        for demo in TEMPLATES:
            assert saved[demo.name].channel == demo.channel
            stored = template_of(await store.templates.version(saved[demo.name].id))
            assert stored == demo.template
            for person in members.sample:  # rendered for real people, no error, no blank
                preview = await template_preview(
                    store, stored, person.id, company="Acme", campaign_name="demo"
                )
                assert preview.errors == () and preview.rendered is not None
                assert person.name in str(preview.rendered)
    finally:
        await store.close()


@pytest.mark.parametrize("reuse_port", [False, True], ids=["another program", "another touchhub"])
def test_serve_on_a_port_that_is_taken_says_so_in_one_line(tmp_path: Path, reuse_port: bool) -> None:
    """A port another program holds failed the start halfway with four tracebacks; one that
    another touchhub holds (its web workers bind with SO_REUSEPORT) was shared with it, so
    the two hubs answered each other's requests from two stores."""
    import socket
    import time

    from tests.helpers.cli import Touchhub

    with socket.socket() as holder:
        if reuse_port:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        touchhub = Touchhub.sqlite(tmp_path / "busy.db")
        started = time.monotonic()
        refused = touchhub.run("serve", "--port", str(port), "--no-demo")
        assert refused.exit_code == 1, refused.output
        assert f"Error: port {port} on 127.0.0.1 is in use by another program or another touchhub" in refused.stderr
        assert "Traceback" not in refused.output and len(refused.stderr.strip().splitlines()) == 1
        assert time.monotonic() - started < 20  # refused before anything started
        assert not (tmp_path / "busy.db").exists()  # nor was the store created


async def test_a_russian_first_start_speaks_russian(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first command: on a Moscow company's store its first lines were English."""
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/ru.db")
    try:
        assert await _load_demo_if_empty(Settings(), store, "ru")
    finally:
        await store.close()
    err = capsys.readouterr().err
    assert "хранилище пусто: загружаю демо-данные" in err
    assert re.search(r"демо-токен руководителя .+, подчинённых: \d+ .*: th_", err)
    assert "демо-токен маркетолога" in err and "демо-токен администратора (видит всех; показан один раз): th_" in err
