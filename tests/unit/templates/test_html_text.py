"""The text part derived from a letter's HTML: links, paragraphs, line breaks, lists."""

from __future__ import annotations

import pytest

from hub.templates import html_to_text

CASES = [
    ("<p>Здравствуйте, Иван!</p><p>Ждём вас.</p>", "Здравствуйте, Иван!\n\nЖдём вас."),
    ("<p>Первая строка<br>вторая<br/>третья</p>", "Первая строка\nвторая\nтретья"),
    ("<p>Каталог: <a href='https://acme.ru/каталог'>смотреть</a>.</p>",
     "Каталог: смотреть (https://acme.ru/каталог)."),
    ("<a href='https://acme.ru'>https://acme.ru</a>", "https://acme.ru"),
    ("<a href='https://acme.ru/x'></a>", "https://acme.ru/x"),
    ("<a href='mailto:zakaz@acme.ru'>zakaz@acme.ru</a>", "zakaz@acme.ru"),
    ("<a href='mailto:zakaz@acme.ru'>Напишите нам</a>", "Напишите нам (zakaz@acme.ru)"),
    ("<a href='#top'>Наверх</a>", "Наверх"),
    ("<ul><li>Скидка 10%</li><li>Доставка</li></ul>", "- Скидка 10%\n- Доставка"),
    ("<ol><li>Один</li><li>Два</li><li>Три</li></ol>", "1. Один\n2. Два\n3. Три"),
    ("<ul><li>Москва<ul><li>Тверская</li></ul></li></ul>", "- Москва\n\n  - Тверская"),
    ("<h1>Приглашение</h1><p>на выставку</p>", "Приглашение\n\nна выставку"),
    ("<p>  много   \n  пробелов\tи&nbsp;переводов  </p>", "много пробелов и переводов"),
    ("<p>&laquo;Ёлка&raquo; &amp; &lt;ко&gt;</p>", "«Ёлка» & <ко>"),
    ("<head><title>Письмо</title><style>p {color: red}</style></head><body><p>Текст</p>"
     "<script>alert('x')</script></body>", "Текст"),
    ("<table><tr><th>Товар</th><th>Цена</th></tr><tr><td>Кирпич</td><td>25 ₽</td></tr></table>",
     "Товар | Цена\nКирпич | 25 ₽"),
    ("<pre>код:\n  отступ</pre>", "код:\n  отступ"),
    ("<p>До</p><hr><p>После</p>", "До\n\n----------\n\nПосле"),
    ("<img src='logo.png' alt='Логотип «Ромашки»'>", "Логотип «Ромашки»"),
    ("<div><div><p>Вложенный</p></div></div>\n\n\n<p>абзац</p>", "Вложенный\n\nабзац"),
    ("Просто текст без тегов", "Просто текст без тегов"),
    ("", ""),
]  # fmt: skip


@pytest.mark.parametrize(("html", "text"), CASES)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_a_whole_russian_letter() -> None:
    html = """<html><body>
      <h2>Уважаемый Пётр Сергеевич!</h2>
      <p>Приглашаем вас на выставку <b>«Стройэкспо-2027»</b>,
         которая пройдёт в&nbsp;Москве 12–14 марта.<br>Начало в 10:00.</p>
      <ul>
        <li>Скидка 15% участникам;</li>
        <li>бесплатный <a href="https://romashka.ru/katalog">каталог</a>.</li>
      </ul>
      <p>С уважением,<br>Анна Петрова<br>+7 495 123-45-67</p>
      <p style="font-size:10px"><a href="https://romashka.ru/u/123">Отписаться от рассылки</a></p>
    </body></html>"""
    assert html_to_text(html) == (
        "Уважаемый Пётр Сергеевич!\n\n"
        "Приглашаем вас на выставку «Стройэкспо-2027», которая пройдёт в Москве 12–14 марта.\n"
        "Начало в 10:00.\n\n"
        "- Скидка 15% участникам;\n"
        "- бесплатный каталог (https://romashka.ru/katalog).\n\n"
        "С уважением,\nАнна Петрова\n+7 495 123-45-67\n\n"
        "Отписаться от рассылки (https://romashka.ru/u/123)"
    )
