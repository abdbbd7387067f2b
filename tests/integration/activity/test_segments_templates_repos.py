"""Saved segments and versioned templates in the store, on both databases."""

from __future__ import annotations

import pytest

from hub.activity import ActivityStore
from hub.errors import Conflict, NotFound

MOSCOW = {"all": [{"field": "city", "op": "eq", "value": "Москва"}]}


async def test_segments_are_saved_listed_changed_and_deleted(store: ActivityStore) -> None:
    repo = store.segments
    saved = await repo.create(name="Москвичи", definition=MOSCOW, created_by="Анна")
    assert (await repo.get(saved.id)).definition == MOSCOW
    with pytest.raises(Conflict):
        await repo.create(name="Москвичи", definition={"all": []}, created_by="Анна")
    kazan = {"field": "city", "op": "eq", "value": "Казань"}
    changed = await repo.change(saved.id, definition=kazan)
    assert changed.definition == kazan and changed.updated_at >= saved.updated_at
    await repo.create(name="Все", definition={"all": []}, created_by="Анна")
    assert [s.name for s in await repo.list()] == ["Все", "Москвичи"]
    await repo.delete(saved.id)
    with pytest.raises(NotFound):
        await repo.get(saved.id)
    with pytest.raises(NotFound):
        await repo.delete(saved.id)


async def test_template_versions_are_numbered_and_pinned(store: ActivityStore) -> None:
    repo = store.templates
    template = await repo.create(name="Приглашение", channel="email", created_by="Анна")
    with pytest.raises(Conflict):
        await repo.create(name="Приглашение", channel="sms", created_by="Анна")
    with pytest.raises(NotFound):
        await repo.version(template.id)
    first = await repo.add_version(
        template.id, subject="Привет", html="<p>{{ contact.name }}</p>", text=None, created_by="Анна"
    )
    second = await repo.add_version(
        template.id, subject="Здравствуйте", html="<p>Уважаемый {{ contact.name }}</p>", text="Т", created_by="Олег"
    )
    assert (first.version, second.version) == (1, 2)
    assert (await repo.version(template.id, 1)).subject == "Привет"
    newest = await repo.version(template.id)
    assert (newest.version, newest.text, newest.channel, newest.created_by) == (2, "Т", "email", "Олег")
    with pytest.raises(NotFound):
        await repo.add_version(999, subject=None, html=None, text="x", created_by="Анна")
    assert (await repo.get(template.id)).name == "Приглашение"
