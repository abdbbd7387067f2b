"""Every command that reads a file answers bad bytes with one line and a non-zero exit.

Hypothesis feeds each file-reading command random bytes, UTF-8 cut anywhere, cp1251,
koi8-r and UTF-16 text; none may end in a traceback (`tests.helpers.cli` re-raises any
exception other than the `SystemExit` click turns a refusal into).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliResult, Touchhub

SAMPLE = "ФИО;Телефон;Город;Email\n" + "".join(
    f"Иванов Пётр {n};+7 495 123-45-6{n};Москва;p{n}@пример.рф\n" for n in range(1, 7)
)
AMI_SAMPLE = (
    "Event: Newchannel\r\nChannel: PJSIP/101-00000001\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n"
    "CallerIDNum: 101\r\nExten: 84951234567\r\nContext: from-internal\r\n\r\n"
)


@st.composite
def encoded_text(draw: st.DrawFn, sample: str) -> bytes:
    """The sample (or random text) in an encoding users' programs write, maybe cut short."""
    text = draw(st.one_of(st.just(sample), st.text(max_size=300)))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "koi8-r", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    return data[:cut] if draw(st.booleans()) else data


def any_bytes(sample: str) -> st.SearchStrategy[bytes]:
    """Random bytes, or text in a real-world encoding, maybe truncated mid-character."""
    return st.one_of(st.binary(max_size=600), encoded_text(sample))


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """One store for every example (migrating it per example would cost minutes)."""
    with tempfile.TemporaryDirectory() as name:
        path = Path(name)
        store(path).ok("contacts", "list")
        yield path


def store(workdir: Path) -> Touchhub:
    """`touchhub` on the module's one store (the helper fails on any traceback)."""
    return Touchhub.sqlite(workdir / "bad.db")


def run(workdir: Path, args: list[str], data: bytes, name: str = "input.csv") -> CliResult:
    """Write `data` to a file and run the command on it."""
    file = workdir / name
    file.write_bytes(data)
    return store(workdir).run(*[str(file) if a == "FILE" else a for a in args])


def assert_no_traceback(result: CliResult) -> None:
    """Success, or a refusal: one `Error:` line on stderr and exit code 1 or 2."""
    if result.exit_code != 0:
        assert result.exit_code in (1, 2), result.exit_code
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
        assert len(errors) == 1, result.stderr


COMMON = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@COMMON
@given(data=any_bytes(SAMPLE), vcard=st.booleans())
def test_import_contacts(workdir: Path, data: bytes, vcard: bool) -> None:
    name = "input.vcf" if vcard else "input.csv"
    assert_no_traceback(run(workdir, ["import", "contacts", "FILE"], data, name))


@COMMON
@given(data=any_bytes("name;head;extension;email\nПётр;;101;p@пример.рф\n"))
def test_employees_import(workdir: Path, data: bytes) -> None:
    assert_no_traceback(run(workdir, ["employees", "import", "FILE"], data))


@COMMON
@given(data=any_bytes(AMI_SAMPLE))
def test_ami_replay(workdir: Path, data: bytes) -> None:
    assert_no_traceback(run(workdir, ["ami", "replay", "FILE"], data, "input.raw"))


@COMMON
@given(data=any_bytes("Добрый день!\nЭто письмо."))
def test_email_send_body_file(workdir: Path, data: bytes) -> None:
    args = ["email", "send", "--from", "nobody", "--to", "a@b.ru", "--subject", "s"]
    assert_no_traceback(run(workdir, [*args, "--body-file", "FILE"], data, "body.txt"))


@COMMON
@given(data=any_bytes('[store]\nurl = "sqlite:///x.db"\n[kpi]\ntimezone = "Europe/Moscow"\n'))
def test_config_file(workdir: Path, data: bytes) -> None:
    file = workdir / "touchhub.toml"
    file.write_bytes(data)
    assert_no_traceback(Touchhub(config=file).run("employees", "list"))


@COMMON
@given(data=any_bytes('[[indicator]]\nid = "x"\ntitle = "Икс"\n'))
def test_kpi_indicators_file(workdir: Path, data: bytes) -> None:
    indicators = workdir / "indicators.toml"
    indicators.write_bytes(data)
    config = workdir / "kpi.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{workdir}/bad.db"\n[kpi]\nindicators_file = "{indicators}"\n',
        encoding="utf-8",
    )
    assert_no_traceback(Touchhub(config=config).run("kpi", "indicators"))


def test_russian_utf8_csv_without_bom_imports(workdir: Path) -> None:
    """The 357-byte file whose 200th byte falls inside a letter."""
    data = ("ФИО;Телефон;Город\n" + "".join(
        f"Иванов Пётр {n};+7 495 123-45-6{n};Москва\n" for n in range(1, 7)
    )).encode()
    assert len(data) == 357
    result = run(workdir, ["import", "contacts", "FILE"], data)
    assert result.exit_code == 0, result.output
    assert "rejected 0" in result.stdout and "created" in result.stdout


def test_bytes_in_no_known_encoding_are_one_line(workdir: Path) -> None:
    result = run(workdir, ["import", "contacts", "FILE"], b"name\n\x98\xff\xfe\n")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error: the file is neither")


def test_missing_output_directory_is_one_line(workdir: Path) -> None:
    result = store(workdir).run("kpi", "--xlsx", "/no/such/dir/k.xlsx")
    assert result.exit_code == 1 and "/no/such/dir/k.xlsx" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["interaction", "add", "--kind", "task", "--subject", "bad \udcff byte"],
        ["employees", "add", "\udcd0\udc9f"],
        ["contacts", "list", "-q", "\udcff"],
    ],
)
def test_arguments_that_are_not_utf8_are_one_line(workdir: Path, args: list[str]) -> None:
    result = store(workdir).run(*args)
    assert result.exit_code == 2, result.output
    assert_no_traceback(result)
    assert "not valid UTF-8" in result.stderr


@pytest.mark.parametrize(
    ("args", "mention"),
    [
        (["activities", "list", "--since", "9999-12-31T23:59:59-14:00"], "range"),
        (["activities", "list", "--until", "0001-01-01T00:00:00+14:00"], "range"),
        (["interaction", "add", "--kind", "task", "--subject", "s", "--due", "2026-99-01"], "ISO"),
        (["ami", "replay", "FILE", "--charset", "no-such-charset"], "character set"),
    ],
)
def test_odd_options_are_one_line(workdir: Path, args: list[str], mention: str) -> None:
    result = run(workdir, args, b"Event: FullyBooted\r\n\r\n", "input.raw")
    assert_no_traceback(result)
    assert result.exit_code == 2 and mention in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["interaction", "add", "--kind", "task", "--subject", "s", "--due", "завтра"],
         "неверное значение '--due': 'завтра' — не дата и не время ISO"),
        (["activities", "list", "--since", "9999-12-31T23:59:59-14:00"],
         "неверное значение '--since': '9999-12-31T23:59:59-14:00' выходит за пределы календаря"),
    ],
)  # fmt: skip
def test_a_time_that_is_not_one_is_refused_in_russian_naming_its_option(
    workdir: Path, args: list[str], said: str
) -> None:
    result = store(workdir).run("--lang", "ru", *args)
    assert "Traceback" not in result.output + result.stderr
    assert result.stderr.count("Ошибка:") == 1 and said in result.stderr, result.stderr
    assert result.exit_code == 2
