"""A real Dovecot (IMAP with IDLE, SPECIAL-USE Sent) on loopback for e-mail tests and benches.

`start_dovecot_server()` writes the recipe of PEERS.md into a fresh directory under /tmp,
starts `dovecot -F` and waits for the `* OK` greeting. One server serves a whole test
session: `DovecotServer.mailboxes()` returns a `Dovecot`, the view a test acts on, in which
the test's account names ("ivan", "petr") stand for logins of that test only ("ivan@t7",
"petr@t7"). The passwd-file is looked up by the part before "@" (the name and its
password), the mail home by the whole login, so every test starts from empty Maildirs
and the passwd-file need not change between tests. `running_dovecot()` is the same view
over a server of its own, for benches and one-off scripts.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
#: The accounts an e-mail test gets unless it asks for others.
DEFAULT_USERS = {"ivan": "ivanpw", "petr": "petrpw"}
#: Dovecot stats a passwd-file at most once a second; a new name waits this long.
PASSWD_FILE_RELOAD_S = 1.1

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = dovecot-touchhub-{port}
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {user}
default_internal_group = {group}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{d}/mail/%u/Maildir
imap_idle_notify_interval = 10 secs
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
service imap-login {{
  user = {login_user}
  {chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = 0
  }}
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
service anvil {{
  {chroot}
}}
service stats {{
  user = {user}
}}
"""


def free_port() -> int:
    """A port nobody listens on right now (bind to 0, read it back)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DovecotServer:
    """A running Dovecot: its life cycle and the logins in its passwd-file."""

    root: Path
    port: int
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None
    _seq: int = 0
    _tenants: int = 0
    _mail_ids: tuple[int, int] = field(default=(0, 0))
    _passwords: dict[str, str] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- life cycle

    def start(self) -> None:
        """Start in the foreground and wait for the greeting."""
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends the imap children too
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    sock.settimeout(2)
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"dovecot not ready in {READY_TIMEOUT_S} s: {self.log()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM and wait; imap processes still serving old connections are ended too."""
        if self.proc is None:
            return
        group = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, optionally stay down a while, start again on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def ensure_running(self) -> None:
        """Start again if a test left the server stopped (e.g. it failed while it was down)."""
        if not self.running:
            self.stop()
            self.start()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- users

    def add_users(self, users: dict[str, str]) -> None:
        """Let names (name -> password) log in, as NAME@anything; known names are kept."""
        clash = {n for n, p in users.items() if self._passwords.get(n, p) != p}
        if clash:
            raise ValueError(f"users already exist with another password: {sorted(clash)}")
        new = users.keys() - self._passwords.keys()
        if not new:
            return
        self._passwords.update(users)
        path = self.root / "users"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self._passwords.items()))
        tmp.rename(path)
        if self.running:  # Dovecot looks at a changed passwd-file at most once a second
            time.sleep(PASSWD_FILE_RELOAD_S)

    def mailboxes(self, users: dict[str, str] | None = None) -> Dovecot:
        """Users (name -> password) with empty mail homes, under logins no other call gets."""
        users = users or dict(DEFAULT_USERS)
        self.add_users(users)
        self._tenants += 1
        logins = {name: f"{name}@t{self._tenants}" for name in users}
        return Dovecot(server=self, users=dict(users), logins=logins)

    # -- mail, by login

    def maildir(self, login: str, folder: str = "INBOX") -> Path:
        base = self.root / "mail" / login / "Maildir"
        return base if folder == "INBOX" else base / f".{folder.replace('/', '.')}"

    def preload(self, login: str, messages: Iterable[bytes], folder: str = "INBOX") -> int:
        """Deliver straight into the Maildir (fast: thousands of letters in a blink)."""
        box = self.maildir(login, folder)
        for sub in ("tmp", "new", "cur"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        uid, gid = self._mail_ids
        count = 0
        for raw in messages:
            self._seq += 1
            name = f"{int(time.time())}.M{self._seq}P{os.getpid()}.touchhub,S={len(raw)}"
            tmp = box / "tmp" / name
            tmp.write_bytes(raw)
            os.chown(tmp, uid, gid)
            tmp.rename(box / "new" / name)
            count += 1
        for path in [box, *(box / s for s in ("tmp", "new", "cur")), *box.parents]:
            if path == self.root / "mail":
                break
            with contextlib.suppress(OSError):
                os.chown(path, uid, gid)
        return count

    def doveadm(self, *args: str) -> str:
        result = subprocess.run(
            [DOVEADM, "-c", str(self.conf), *args], capture_output=True, text=True, timeout=30
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)}: {result.stderr}")
        return result.stdout


@dataclass
class Dovecot:
    """One test's users on a running Dovecot, by the names the test gives them."""

    server: DovecotServer
    #: name -> password, as the test knows its accounts.
    users: dict[str, str]
    #: name -> the login on the server (unique on it, so the mail home starts empty).
    logins: dict[str, str]

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, user: str) -> str:
        return f"imap://{quote(self.logins[user], safe='')}@{self.host}:{self.port}"

    def restart(self, down_for: float = 0.0) -> None:
        """Restart the server (every connection to it drops), same port."""
        self.server.restart(down_for)

    def log(self) -> str:
        return self.server.log()

    # -- mail

    def imap(self, user: str) -> imaplib.IMAP4:
        """A logged-in stdlib client (blocking; run it in a thread from async tests)."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.logins[user], self.users[user])
        return client

    def append(self, user: str, messages: Iterable[bytes], folder: str = "INBOX") -> int:
        """IMAP APPEND each message to `folder`; returns how many."""
        count = 0
        client = self.imap(user)
        try:
            for raw in messages:
                typ, data = client.append(folder, "", None, raw)
                if typ != "OK":
                    raise RuntimeError(f"APPEND failed: {data!r}")
                count += 1
        finally:
            client.logout()
        return count

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        return self.server.maildir(self.logins[user], folder)

    def preload(self, user: str, messages: Iterable[bytes], folder: str = "INBOX") -> int:
        """Deliver straight into the Maildir (fast: thousands of letters in a blink)."""
        return self.server.preload(self.logins[user], messages, folder)

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        out = self.server.doveadm("mailbox", "status", "-u", self.logins[user], "uidvalidity", folder)
        return int(out.split("=")[1])

    def change_uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        """Give `folder` a new UIDVALIDITY (as after a server migration); returns it."""
        new = self.uidvalidity(user, folder) + 1000
        self.server.doveadm(
            "mailbox", "update", "-u", self.logins[user], "--uid-validity", str(new), folder
        )
        return new


def start_dovecot_server() -> DovecotServer:
    """Write a config into a fresh /tmp directory and start Dovecot; the caller stops it."""
    root = Path(tempfile.mkdtemp(prefix="touchhub-dovecot-", dir="/tmp"))
    root.chmod(0o711)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    is_root = os.geteuid() == 0
    me = pwd.getpwuid(os.geteuid())
    if is_root:
        mail_user = pwd.getpwnam("dovecot")
        uid, gid = mail_user.pw_uid, mail_user.pw_gid
        login_user, chroot = "dovenull", ""
        user, group = "root", "root"
    else:
        uid, gid = me.pw_uid, me.pw_gid
        login_user, chroot = me.pw_name, "chroot ="
        user = group = me.pw_name
    port = free_port()
    (root / "dovecot.conf").write_text(
        CONFIG.format(
            d=root,
            port=port,
            uid=uid,
            gid=gid,
            login_user=login_user,
            chroot=chroot,
            user=user,
            group=group,
        )
    )
    os.chown(root / "mail", uid, gid)
    server = DovecotServer(root=root, port=port, _mail_ids=(uid, gid))
    server.add_users(dict(DEFAULT_USERS))
    server.start()
    return server


@contextlib.contextmanager
def running_dovecot_server() -> Iterator[DovecotServer]:
    """Dovecot for the length of a `with` block; the directory is removed afterwards."""
    server = start_dovecot_server()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@contextlib.contextmanager
def running_dovecot(users: dict[str, str] | None = None) -> Iterator[Dovecot]:
    """A Dovecot of its own with `users` on it, for the length of a `with` block."""
    with running_dovecot_server() as server:
        yield server.mailboxes(users)
