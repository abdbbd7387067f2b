"""Demo data: a two-level team, a client base and a year of touches across every channel.

The data is Russian business data (decision 0061): people «Анна Иванова», organisations
«ООО «Альфа Строй»», «АО «Северлогистик»», «ИП Смирнова А. В.», regions and cities,
letters, SMS, messages, meetings and tasks in Russian; phones +7 9xx, e-mail addresses
in Latin. The same `seed` (and `now`) gives the same data.

Fast enough for 10 million activities: rows are generated day by day in time order and
written through the store's bulk load (`hub.activity.bulk_load`: raw executemany on
SQLite, COPY on PostgreSQL, indexes and roll-ups rebuilt once), with column lists
checked against the schema. Distributions are plain constants below.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.activity import schema
from hub.activity.bulk_load import Batch, Progress, columns, load, next_ids
from hub.activity.options import DEFAULT_CALLBACK_DUE
from hub.activity.rollups.rules import CALLBACK_SOURCE
from hub.activity.schema import activities, contacts, employee_addresses, employees, identities

logger = logging.getLogger(__name__)

DEMO_SOURCE = "demo"
DAYS = 365
CHUNK = 20_000
WEEKEND_WEIGHT = 0.15
WORKDAY_START_H = 9
WORKDAY_HOURS = 10
ACTIVITIES_PER_EMPLOYEE = 50_000
ACTIVITIES_PER_CONTACT = 50
MIN_EMPLOYEES = 20
MIN_CONTACTS = 2_000
OWN_CLIENT_SHARE = 0.75

#: (channel, direction, share) of all activities; statuses per kind below.
MIX: tuple[tuple[str, str, float], ...] = (
    ("call", "out", 0.30),
    ("call", "in", 0.22),
    ("call", "internal", 0.03),
    ("email", "out", 0.11),
    ("email", "in", 0.09),
    ("sms", "out", 0.05),
    ("messenger", "in", 0.05),
    ("messenger", "out", 0.05),
    ("meeting", "out", 0.04),
    ("task", "out", 0.06),
)
STATUSES: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {
    ("call", "out"): (("answered", 0.65), ("no_answer", 0.20), ("busy", 0.10), ("failed", 0.05)),
    ("call", "in"): (("answered", 0.85), ("missed", 0.12), ("busy", 0.03)),
    ("call", "internal"): (("answered", 0.9), ("missed", 0.1)),
    ("email", "out"): (("sent", 0.2), ("delivered", 0.6), ("read", 0.15), ("bounced", 0.05)),
    ("email", "in"): (("received", 1.0),),
    ("sms", "out"): (("delivered", 0.85), ("sent", 0.1), ("failed", 0.05)),
    ("messenger", "in"): (("received", 1.0),),
    ("messenger", "out"): (("sent", 0.2), ("delivered", 0.3), ("read", 0.5)),
    ("meeting", "out"): (("completed", 0.75), ("planned", 0.15), ("cancelled", 0.10)),
    ("task", "out"): (("completed", 0.70), ("planned", 0.25), ("cancelled", 0.05)),
}
AUTO_REPLY_SHARE = 0.05  # of inbound letters: not a client touch
#: Messenger accounts clients write to ("<platform>:<account>", the touch source): a
#: client with a Telegram id writes to the bot, one with only a phone on WhatsApp.
TELEGRAM_ACCOUNT = "telegram:support"
WHATSAPP_ACCOUNT = "whatsapp:sales"
TELEGRAM_SHARE = 0.5  # of contacts with a Telegram id
TELEGRAM_ID_BASE = 200_000_000
#: Messages that arrived in the last hours and wait for a reply, so Dialogs look alive.
RECENT_MESSAGES = 40
RECENT_HOURS = 3
MESSAGES_IN = (
    "Добрый день! Заказ уже отгрузили?",
    "Пришлите, пожалуйста, счёт ещё раз.",
    "Сколько будет стоить партия в 50 штук?",
    "Спасибо, получили.",
    "Можно перенести доставку на пятницу?",
    "Есть скидка при годовом договоре?",
    "Перезвоните мне после 15:00, пожалуйста.",
    "Акт сверки подписали, отправляем оригинал почтой.",
)
MESSAGES_OUT = (
    "Добрый день! Да, машина ушла со склада сегодня утром.",
    "Только что отправил счёт вам на почту.",
    "На 50 штук скидка 12 % от прайса.",
    "Конечно, в пятницу удобно.",
    "Перезвоню вам в 15:00.",
    "Договор подготовили, посмотрите, пожалуйста, до среды.",
)
#: Texts of outgoing SMS ({n}: an order number).
SMS_TEXTS = (
    "Ваш заказ №{n} отгружен. Ожидайте доставку завтра.",
    "Напоминаем о встрече завтра в 11:00. Ваш менеджер.",
    "Счёт №{n} отправлен на вашу почту.",
    "Заказ №{n} готов к выдаче на складе.",
    "Спасибо за оплату по счёту №{n}!",
)
#: Letters: subject and the first line of the body, outgoing and incoming.
LETTERS_OUT = (
    ("Коммерческое предложение", "Добрый день! Направляем коммерческое предложение на поставку."),
    ("Счёт на оплату №{n}", "Здравствуйте! Во вложении счёт на оплату по договору."),
    ("Договор поставки", "Добрый день! Проект договора во вложении, ждём ваших правок."),
    ("Акт сверки за квартал", "Здравствуйте! Просим подписать акт сверки взаиморасчётов."),
    ("Прайс-лист на месяц", "Добрый день! Высылаем актуальный прайс-лист."),
)
LETTERS_IN = (
    ("Re: Коммерческое предложение", "Спасибо, изучаем. Вернёмся с ответом на неделе."),
    ("Вопрос по счёту №{n}", "Добрый день! В счёте не та сумма доставки, проверьте."),
    ("Заявка на поставку", "Просим выставить счёт на позиции из вложения."),
    ("Re: Договор поставки", "Юристы согласовали, подписываем."),
)
#: Meetings and tasks: what they are about (subject), and a note on some.
MEETING_SUBJECTS = (
    "Презентация продукции",
    "Переговоры по договору поставки",
    "Встреча на объекте клиента",
    "Обсуждение условий оплаты",
)
TASK_SUBJECTS = (
    "Подготовить коммерческое предложение",
    "Выставить счёт",
    "Согласовать договор",
    "Отправить образцы",
    "Уточнить сроки поставки",
)
NOTES = (
    "Клиент просит скидку 5 %.",
    "Важно успеть до конца квартала.",
    "Решение принимает генеральный директор.",
    "Нужны сертификаты на продукцию.",
    None,
    None,
)
NOTE_SHARE = 0.5
CALLBACK_SUBJECT = "Перезвонить"
CALLBACK_RESULT = "перезвонили"
CALLBACK_DONE_SHARE = 0.7
RESULTS = (
    "договорились о следующих шагах",
    "отправили коммерческое предложение",
    "клиент думает",
    "сделка заключена",
    "нет интереса",
)

#: First names (Russian, Latin for e-mail addresses) and whether the name is a woman's:
#: a woman's surname takes «а» (Иванов → Иванова).
FIRST: tuple[tuple[str, str, bool], ...] = (
    ("Анна", "anna", True),
    ("Борис", "boris", False),
    ("Вера", "vera", True),
    ("Глеб", "gleb", False),
    ("Дарья", "darya", True),
    ("Егор", "egor", False),
    ("Зоя", "zoya", True),
    ("Илья", "ilya", False),
    ("Кира", "kira", True),
    ("Лев", "lev", False),
    ("Мария", "maria", True),
    ("Никита", "nikita", False),
    ("Ольга", "olga", True),
    ("Павел", "pavel", False),
    ("Маргарита", "margarita", True),
    ("Сергей", "sergey", False),
    ("Татьяна", "tatiana", True),
    ("Алексей", "alexey", False),
    ("Ульяна", "ulyana", True),
    ("Фёдор", "fedor", False),
)
LAST: tuple[tuple[str, str], ...] = (
    ("Иванов", "ivanov"),
    ("Петров", "petrov"),
    ("Сидоров", "sidorov"),
    ("Смирнов", "smirnov"),
    ("Кузнецов", "kuznetsov"),
    ("Попов", "popov"),
    ("Соколов", "sokolov"),
    ("Лебедев", "lebedev"),
    ("Козлов", "kozlov"),
    ("Новиков", "novikov"),
    ("Морозов", "morozov"),
    ("Волков", "volkov"),
    ("Орлов", "orlov"),
    ("Зайцев", "zaitsev"),
    ("Павлов", "pavlov"),
    ("Семёнов", "semenov"),
)
#: (region, city): where clients are.
REGIONS = (
    ("Москва", "Москва"),
    ("Санкт-Петербург", "Санкт-Петербург"),
    ("Республика Татарстан", "Казань"),
    ("Свердловская область", "Екатеринбург"),
    ("Новосибирская область", "Новосибирск"),
    ("Краснодарский край", "Сочи"),
    ("Нижегородская область", "Нижний Новгород"),
    ("Самарская область", "Самара"),
)
POSITIONS = (
    "Генеральный директор",
    "Коммерческий директор",
    "Менеджер по закупкам",
    "Главный бухгалтер",
    "Главный инженер",
    "Снабженец",
)
HEAD_POSITION = "Руководитель отдела продаж"
EMPLOYEE_POSITION = "Менеджер по продажам"
#: Organisations: «ООО «Альфа Строй»», «АО «Северлогистик»», «ИП Смирнова А. В.».
ORG_ROOTS = (
    ("Альфа", "alfa"), ("Север", "sever"), ("Вектор", "vektor"), ("Гранит", "granit"),
    ("Меридиан", "meridian"), ("Ока", "oka"), ("Волга", "volga"), ("Урал", "ural"),
    ("Сибирь", "sibir"), ("Кристалл", "kristall"), ("Орион", "orion"), ("Ладога", "ladoga"),
    ("Импульс", "impuls"), ("Прогресс", "progress"), ("Феникс", "feniks"), ("Байкал", "baikal"),
)  # fmt: skip
ORG_TRADES = (
    ("Строй", "stroy"), ("Логистик", "logistic"), ("Трейд", "trade"), ("Снаб", "snab"),
    ("Металл", "metall"), ("Пром", "prom"), ("Агро", "agro"), ("Техника", "tehnika"),
)  # fmt: skip
PATRONYMIC_INITIALS = "АБВГДЕИКМНОПС"
#: Every how many demo names one is a sole trader (ИП): about a quarter of organisations.
IP_STRIDE = 5
#: Contacts per organisation on average; some contacts belong to none.
CONTACTS_PER_ORG = 4
ORG_SHARE = 0.85
#: Mobile operators' codes after +7 9: numbers look like +7 916 …, +7 926 ….
MOBILE_CODES = ("16", "26", "03", "05", "15", "85", "99", "67", "77", "62")
#: Spreads consecutive contact ids over the 7-digit subscriber numbers (coprime to 10⁷).
NUMBER_SPREAD = 7_654_321
NUMBER_OFFSET = 3_141_593


def row_number(activity_id: int) -> int:
    """An order or invoice number a text names: plausible, and fixed by the row."""
    return 1000 + activity_id % 9000


def person(index: int) -> tuple[str, str]:
    """The `index`-th name of the demo (Russian, and a Latin login for e-mail)."""
    first, first_lat, woman = FIRST[index % len(FIRST)]
    last, last_lat = LAST[(index // len(FIRST)) % len(LAST)]
    if woman:
        last, last_lat = last + "а", last_lat + "a"
    return f"{first} {last}", f"{first_lat}.{last_lat}"


def mobile(contact_id: int) -> str:
    """A plausible Russian mobile number, a different one for every contact id below 10⁷:
    +7 9xx xxx-xx-xx."""
    code = MOBILE_CODES[contact_id % len(MOBILE_CODES)]
    subscriber = (contact_id * NUMBER_SPREAD + NUMBER_OFFSET) % 10_000_000
    return f"+79{code}{subscriber:07d}"


def organisation_names() -> list[tuple[str, str]]:
    """Every organisation the demo may name, with a Latin slug for e-mail domains."""
    names = [
        (f"ООО «{root} {trade}»", f"{root_lat}-{trade_lat}")
        for root, root_lat in ORG_ROOTS
        for trade, trade_lat in ORG_TRADES
    ]
    names += [
        (f"АО «{root}{trade.lower()}»", f"{root_lat}{trade_lat}")
        for root, root_lat in ORG_ROOTS
        for trade, trade_lat in ORG_TRADES[:4]
    ]
    for index in range(0, len(FIRST) * len(LAST), IP_STRIDE):
        first, _, woman = FIRST[index % len(FIRST)]
        last, last_lat = LAST[(index // len(FIRST)) % len(LAST)]
        patronymic = PATRONYMIC_INITIALS[index % len(PATRONYMIC_INITIALS)]
        surname = last + ("а" if woman else "")
        names.append((f"ИП {surname} {first[0]}. {patronymic}.", f"ip-{last_lat}{index}"))
    return names


@dataclass(frozen=True, slots=True)
class SeedResult:
    """What `seed` loaded."""

    employees: int
    contacts: int
    activities: int
    rollup_rows: int
    #: The first head of the demo team (people report to them): whom to log in as first.
    head_id: int | None = None
    head_name: str | None = None
    head_reports: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "employees": self.employees,
            "contacts": self.contacts,
            "activities": self.activities,
            "rollup_rows": self.rollup_rows,
        }


def default_sizes(activities_n: int) -> tuple[int, int]:
    """Employees and contacts for a number of activities (200 / 200,000 at 10M)."""
    return (
        max(MIN_EMPLOYEES, round(activities_n / ACTIVITIES_PER_EMPLOYEE)),
        max(MIN_CONTACTS, activities_n // ACTIVITIES_PER_CONTACT),
    )


def _cumulative(pairs: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    values, weights, total = [], [], 0.0
    for value, weight in pairs:
        total += weight
        values.append(value)
        weights.append(total)
    return values, [w / total for w in weights]


def _pick(values: list[Any], cum: list[float], r: float) -> Any:
    for value, edge in zip(values, cum, strict=True):
        if r < edge:
            return value
    return values[-1]


@dataclass(slots=True)
class _Team:
    employee_ids: list[int]
    workers: list[int]  # subordinates: they do most of the work
    clients_of: dict[int, list[int]]
    contact_ids: list[int]
    phone_of: dict[int, str]
    #: contact → (account, chat) where they write in messengers
    chat_of: dict[int, tuple[str, str]]


class _Generator:
    """Produces activity rows (column order `COLUMNS`) day by day, in time order."""

    COLUMNS = columns(
        activities,
        "id",
        "source",
        "external_id",
        "channel",
        "direction",
        "status",
        "occurred_at",
        "duration_s",
        "talk_s",
        "contact_id",
        "employee_id",
        "counterpart",
        "subject",
        "preview",
        "due_at",
        "completed_at",
        "result",
        "is_client",
        "flags",
        "meta",
        "created_at",
        "updated_at",
    )

    def __init__(
        self,
        team: _Team,
        total: int,
        first_id: int,
        now: datetime,
        tz: ZoneInfo,
        rnd: random.Random,
    ) -> None:
        self.team = team
        self.total = total
        self.next_id = first_id
        self.now = now
        self.tz = tz
        self.rnd = rnd
        self.kinds, self.kind_cum = _cumulative([((c, d), w) for c, d, w in MIX])
        self.status_tables = {k: _cumulative(v) for k, v in STATUSES.items()}

    def _days(self) -> list[tuple[date, float]]:
        today = self.now.astimezone(self.tz).date()
        days = [today - timedelta(days=i) for i in range(DAYS, 0, -1)]
        return [(d, WEEKEND_WEIGHT if d.weekday() >= 5 else 1.0) for d in days]

    def rows(self) -> Iterator[list[tuple[Any, ...]]]:
        """Chunks of rows for the whole year; callback tasks ride along with missed calls."""
        days = self._days()
        weight_sum = sum(w for _, w in days)
        made = 0
        carry = 0.0
        chunk: list[tuple[Any, ...]] = []
        for index, (day, weight) in enumerate(days):
            exact = self.total * weight / weight_sum + carry
            n = int(exact) if index < len(days) - 1 else self.total - made
            carry = exact - n
            n = min(n, self.total - made)
            start = (
                datetime.combine(day, time(WORKDAY_START_H), self.tz)
                .astimezone(UTC)
                .replace(tzinfo=None)
            )
            for _ in range(n):
                made += self._one(start, chunk)
                if len(chunk) >= CHUNK:
                    yield chunk
                    chunk = []
            if made >= self.total:
                break
        self._recent(chunk)
        if chunk:
            yield chunk

    def _recent(self, out: list[tuple[Any, ...]]) -> None:
        """Messages of the last hours nobody answered yet: unread dialogs to open."""
        chatty = [c for c in self.team.contact_ids if c in self.team.chat_of]
        if not chatty or self.total == 0:
            return
        now = self.now.astimezone(UTC).replace(tzinfo=None)
        for _ in range(RECENT_MESSAGES):
            contact = self.rnd.choice(chatty[: max(1, RECENT_MESSAGES // 2)])
            at = now - timedelta(seconds=self.rnd.randint(60, RECENT_HOURS * 3600))
            source, chat = self.team.chat_of[contact]
            row_id = self.next_id
            self.next_id += 1
            out.append(
                (
                    row_id, source, f"d{row_id:010d}", "messenger", "in", "received", at,
                    None, None, contact, None, chat, None, self.rnd.choice(MESSAGES_IN),
                    None, None, None, True, "", "{}", at, at,
                )
            )  # fmt: skip

    def _one(self, day_start: datetime, out: list[tuple[Any, ...]]) -> int:
        rnd = self.rnd
        team = self.team
        channel, direction = _pick(self.kinds, self.kind_cum, rnd.random())
        status = _pick(*self.status_tables[(channel, direction)], rnd.random())
        at = day_start + timedelta(seconds=int(rnd.random() * WORKDAY_HOURS * 3600))
        employee = rnd.choice(team.workers) if rnd.random() < 0.9 else rnd.choice(team.employee_ids)
        own = team.clients_of.get(employee)
        chosen = (
            rnd.choice(own)
            if own and rnd.random() < OWN_CLIENT_SHARE
            else rnd.choice(team.contact_ids)
        )
        contact: int | None = chosen
        is_client = True
        counterpart: str | None = team.phone_of.get(chosen)
        duration = talk = None
        due = completed = result = None
        subject = preview = None
        source = DEMO_SOURCE
        meta = "{}"
        if channel == "call":
            if direction == "internal":
                contact, is_client, counterpart = (
                    None,
                    False,
                    str(100 + rnd.randrange(len(team.employee_ids))),
                )
            if status == "answered":
                talk = float(int(rnd.expovariate(1 / 180)) + 5)
                duration = talk + float(rnd.randint(3, 25))
            else:
                duration = float(rnd.randint(5, 40))
        elif channel in ("email", "messenger", "sms"):
            counterpart = None
            chat = team.chat_of.get(chosen)
            if channel == "messenger" and chat is not None:
                source, counterpart = chat
                preview = rnd.choice(MESSAGES_IN if direction == "in" else MESSAGES_OUT)
            elif channel == "sms":
                preview = rnd.choice(SMS_TEXTS).format(n=row_number(self.next_id))
            elif channel == "email":
                title, body = rnd.choice(LETTERS_IN if direction == "in" else LETTERS_OUT)
                subject = title.format(n=row_number(self.next_id))
                preview = body
                if direction == "in" and rnd.random() < AUTO_REPLY_SHARE:
                    is_client = False
        elif channel == "meeting":
            duration = float(rnd.choice((1800, 3600, 5400, 7200)))
            due = at
            subject = rnd.choice(MEETING_SUBJECTS)
            preview = rnd.choice(NOTES) if rnd.random() < NOTE_SHARE else None
            if status == "completed":
                completed, result = at + timedelta(seconds=duration), rnd.choice(RESULTS)
        else:  # task
            duration = float(rnd.choice((900, 1800, 3600)))
            due = at + timedelta(days=rnd.randint(1, 5))
            subject = rnd.choice(TASK_SUBJECTS)
            preview = rnd.choice(NOTES) if rnd.random() < NOTE_SHARE else None
            if status == "completed":
                completed = due + timedelta(hours=rnd.uniform(-72, 30))
                completed = max(completed, at)
                result = rnd.choice(RESULTS)
        row_id = self.next_id
        self.next_id += 1
        out.append(
            (
                row_id,
                source,
                f"d{row_id:010d}",
                channel,
                direction,
                status,
                at,
                duration,
                talk,
                contact,
                employee,
                counterpart,
                subject,
                preview,
                due,
                completed,
                result,
                is_client,
                "auto_reply" if not is_client and channel == "email" else "",
                meta,
                at,
                at,
            )
        )
        if channel == "call" and direction == "in" and status == "missed":
            task_id = self.next_id
            self.next_id += 1
            done = rnd.random() < CALLBACK_DONE_SHARE
            task_due = at + DEFAULT_CALLBACK_DUE
            task_done = at + timedelta(minutes=rnd.randint(5, 240)) if done else None
            out.append(
                (
                    task_id,
                    CALLBACK_SOURCE,
                    f"d{task_id:010d}",
                    "task",
                    "out",
                    "completed" if done else "planned",
                    at,
                    None,
                    None,
                    contact,
                    employee,
                    counterpart,
                    CALLBACK_SUBJECT,
                    None,
                    task_due,
                    task_done,
                    CALLBACK_RESULT if done else None,
                    True,
                    "",
                    json.dumps({"callback_for": row_id}),
                    at,
                    at,
                )
            )
            return 1
        return 1


def _people(
    n_employees: int,
    n_contacts: int,
    rnd: random.Random,
    first_employee: int,
    first_contact: int,
    now: datetime,
    organisations: Sequence[tuple[int, str]],
) -> tuple[
    list[tuple[Any, ...]],
    list[tuple[Any, ...]],
    list[tuple[Any, ...]],
    list[tuple[Any, ...]],
    _Team,
]:
    """Employees (heads first, then their people), addresses, contacts and identities;
    contacts work at `organisations` ((id, e-mail domain slug)) or at none."""
    heads = max(2, n_employees // 10)
    created = (now - timedelta(days=DAYS + 30)).replace(tzinfo=None)
    emp_rows: list[tuple[Any, ...]] = []
    addr_rows: list[tuple[Any, ...]] = []
    ids = list(range(first_employee, first_employee + n_employees))
    head_ids = ids[:heads]
    workers = ids[heads:] or ids
    names = len(FIRST) * len(LAST)
    for i, eid in enumerate(ids):
        name, login = person(i)
        if i >= names:  # more people than names: the same name again, numbered
            name, login = f"{name} {i // names + 1}", f"{login}{i // names + 1}"
        head = None if eid in head_ids else head_ids[(i - heads) % heads]
        position = HEAD_POSITION if head is None else EMPLOYEE_POSITION
        emp_rows.append((eid, name, position, head, True, created))
        addr_rows.append((eid, "extension", str(100 + i)))
        addr_rows.append((eid, "email", f"{login}@demo.touchhub.example"))
    contact_rows: list[tuple[Any, ...]] = []
    ident_rows: list[tuple[Any, ...]] = []
    clients_of: dict[int, list[int]] = {}
    phone_of: dict[int, str] = {}
    chat_of: dict[int, tuple[str, str]] = {}
    contact_ids = list(range(first_contact, first_contact + n_contacts))
    for cid in contact_ids:
        region, city = rnd.choice(REGIONS)
        owner = rnd.choice(workers)
        clients_of.setdefault(owner, []).append(cid)
        name, login = person(rnd.randrange(names))
        org, domain = (
            rnd.choice(organisations)
            if organisations and rnd.random() < ORG_SHARE
            else (None, "mail")
        )
        when = created + timedelta(days=rnd.randint(0, DAYS))
        contact_rows.append(
            (
                cid,
                name,
                org,
                rnd.choice(POSITIONS) if rnd.random() < 0.6 else None,
                region,
                city if rnd.random() < 0.8 else None,
                rnd.choice(("high", "normal", "normal", "low")),
                rnd.choice(("A", "B", "B", "C", "C", "C")),
                "{}",
                rnd.random() < 0.1,
                owner,
                when,
                when,
            )
        )
        if rnd.random() < 0.9:
            phone = mobile(cid)
            phone_of[cid] = phone
            ident_rows.append((cid, "phone", phone, when))
        if rnd.random() < 0.7:
            ident_rows.append((cid, "email", f"{login}.{cid}@{domain}.example.com", when))
        if rnd.random() < TELEGRAM_SHARE:
            telegram = str(TELEGRAM_ID_BASE + cid)
            chat_of[cid] = (TELEGRAM_ACCOUNT, telegram)
            ident_rows.append((cid, "telegram", telegram, when))
        elif cid in phone_of:
            chat_of[cid] = (WHATSAPP_ACCOUNT, phone_of[cid])
    team = _Team(ids, workers, clients_of, contact_ids, phone_of, chat_of)
    return emp_rows, addr_rows, contact_rows, ident_rows, team


async def _organisations(engine: AsyncEngine, n_contacts: int, now: datetime) -> list[tuple[int, str]]:
    """The organisations the demo's contacts work at (added unless there already), as
    (id, e-mail domain slug): one per `CONTACTS_PER_ORG` contacts, spread over the forms."""
    every = organisation_names()
    wanted = min(len(every), max(1, n_contacts // CONTACTS_PER_ORG)) if n_contacts else 0
    chosen = [every[i * len(every) // wanted] for i in range(wanted)] if wanted else []
    slug = dict(chosen)
    table = schema.organizations
    created = now - timedelta(days=DAYS + 30)
    async with engine.begin() as conn:
        known = {
            row.name: row.id
            for row in await conn.execute(select(table.c.id, table.c.name).where(table.c.name.in_(slug)))
        }
        missing = [name for name in slug if name not in known]
        if missing:
            await conn.execute(insert(table), [{"name": n, "created_at": created} for n in missing])
            added = await conn.execute(
                select(table.c.id, table.c.name).where(table.c.name.in_(missing))
            )
            known.update({row.name: row.id for row in added})
    return [(int(known[name]), slug[name]) for name, _ in chosen]


EMP_COLS = columns(employees, "id", "name", "position", "head_id", "active", "created_at")
ADDR_COLS = columns(employee_addresses, "employee_id", "kind", "value")
CONTACT_COLS = columns(
    contacts,
    "id",
    "name",
    "organization_id",
    "position",
    "region",
    "city",
    "importance",
    "segment",
    "custom",
    "is_lead",
    "owner_employee_id",
    "created_at",
    "updated_at",
)
IDENT_COLS = columns(identities, "contact_id", "kind", "value", "created_at")


async def seed(
    engine: AsyncEngine,
    *,
    activities: int,
    employees: int | None = None,
    contacts: int | None = None,
    progress: Progress | None = None,
    seed: int = 0,
    timezone: str = "Europe/Moscow",
    now: datetime | None = None,
) -> SeedResult:
    """Load a demo team, client base and `activities` touches over the last 12 months."""
    if activities < 0:
        raise ValueError("activities must be ≥ 0")
    tz = ZoneInfo(timezone)
    now = now or datetime.now(UTC)
    default_emp, default_contacts = default_sizes(activities)
    n_emp = employees or default_emp
    n_contacts = contacts or default_contacts
    rnd = random.Random(seed)
    first = await next_ids(engine)
    first_emp = first.employee
    organisations = await _organisations(engine, n_contacts, now)
    emp_rows, addr_rows, contact_rows, ident_rows, team = _people(
        n_emp, n_contacts, rnd, first_emp, first.contact, now, organisations
    )
    if first_emp > 1:  # keep demo addresses unique next to earlier demo data
        addr_rows = [
            (e, k, f"{v}.{first_emp}" if k == "email" else f"{v}{first_emp}")
            for e, k, v in addr_rows
        ]
    generator = _Generator(team, activities, first.activity, now, tz, rnd)
    loaded = await load(
        engine,
        [
            Batch(schema.employees, EMP_COLS, [emp_rows]),
            Batch(schema.employee_addresses, ADDR_COLS, [addr_rows]),
            Batch(schema.contacts, CONTACT_COLS, [contact_rows]),
            Batch(schema.identities, IDENT_COLS, [ident_rows]),
            Batch(schema.activities, _Generator.COLUMNS, generator.rows()),
        ],
        tz=tz,
        expected_activities=activities,
        progress=progress,
    )
    logger.info(
        "demo: %d employees, %d contacts, %d activities", n_emp, n_contacts, loaded.activities
    )
    head = emp_rows[0] if emp_rows else None
    return SeedResult(
        employees=n_emp,
        contacts=n_contacts,
        activities=loaded.activities,
        rollup_rows=loaded.rollup_rows,
        head_id=None if head is None else int(head[0]),
        head_name=None if head is None else str(head[1]),
        head_reports=0 if head is None else sum(1 for row in emp_rows if row[3] == head[0]),
    )
