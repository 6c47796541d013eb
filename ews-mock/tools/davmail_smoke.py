#!/usr/bin/env python3
"""Drives DavMail (an EWS-to-IMAP/SMTP gateway) pointed at ews-mock, as a mail client would.

Usage: davmail_smoke.py IMAP_PORT SMTP_PORT

Expects bob@contoso.test (bob-pw) with one message "Welcome Bob" in the inbox and
alice@contoso.test (alice-pw). Logs in, lists folders, reads the seeded message, appends a
message (write), changes its flags (update), deletes the seeded message (\\Deleted + EXPUNGE),
sends a message to alice through DavMail's SMTP and reads it in alice's inbox.
Prints "davmail smoke test passed" at the end; exits 1 at the first failed step.
"""
import email
import imaplib
import smtplib
import sys
import time
from email.message import EmailMessage

IMAP, SMTP = int(sys.argv[1]), int(sys.argv[2])


def check(ok, what):
    if not ok:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


def count(imap, box="INBOX"):
    typ, data = imap.select(box)
    check(typ == "OK", f"select {box}")
    return int(data[0])


m = imaplib.IMAP4("127.0.0.1", IMAP)
typ, _ = m.login("bob@contoso.test", "bob-pw")
check(typ == "OK", "login")
typ, boxes = m.list()
names = [b.decode() for b in boxes]
check(
    typ == "OK" and any('"INBOX"' in n for n in names) and any("\\Sent" in n for n in names),
    f"list folders {names}",
)
check(count(m) == 1, "one seeded message in the inbox")
typ, data = m.fetch("1", "(RFC822)")
msg = email.message_from_bytes(data[0][1])
check(msg["Subject"] == "Welcome Bob", f"read the seeded message: {msg['Subject']}")
part = msg.get_payload(0) if msg.is_multipart() else msg
check(b"Hello from the seed" in part.get_payload(decode=True), "its body")

# write
new = EmailMessage()
new["From"] = "bob@contoso.test"
new["To"] = "bob@contoso.test"
new["Subject"] = "Appended by DavMail"
new["Message-ID"] = "<appended-1@contoso.test>"
new.set_content("Written through IMAP APPEND")
typ, data = m.append("INBOX", "(\\Seen)", imaplib.Time2Internaldate(time.time()), new.as_bytes())
check(typ == "OK", f"append {data}")
check(count(m) == 2, "two messages after the append")
typ, data = m.search(None, "SUBJECT", '"Appended by DavMail"')
num = data[0].split()[0]
typ, data = m.fetch(num, "(FLAGS RFC822)")
check(b"\\Seen" in data[0][0], f"the appended message is seen {data[0][0]!r}")
check(b"Written through IMAP APPEND" in data[0][1], "its body")

# update
typ, _ = m.store(num, "-FLAGS", "(\\Seen)")
check(typ == "OK", "unset \\Seen")
typ, _ = m.store(num, "+FLAGS", "(\\Flagged)")
check(typ == "OK", "set \\Flagged")
count(m)
typ, data = m.fetch(num, "(FLAGS)")
check(b"\\Seen" not in data[0] and b"\\Flagged" in data[0], f"flags updated {data}")

# delete
typ, data = m.search(None, "SUBJECT", '"Welcome Bob"')
seeded = data[0].split()[0]
m.store(seeded, "+FLAGS", "(\\Deleted)")
typ, data = m.expunge()
check(typ == "OK", f"expunge {data}")
check(count(m) == 1, "one message left after the delete")
m.logout()

# send to another mailbox and read it there
s = smtplib.SMTP("127.0.0.1", SMTP)
s.login("bob@contoso.test", "bob-pw")
out = EmailMessage()
out["From"] = "bob@contoso.test"
out["To"] = "alice@contoso.test"
out["Subject"] = "Sent through DavMail"
out.set_content("Hello Alice")
s.send_message(out)
s.quit()
print("ok: sent through SMTP")
a = imaplib.IMAP4("127.0.0.1", IMAP)
a.login("alice@contoso.test", "alice-pw")
hits = []
for _ in range(20):
    a.select("INBOX")
    typ, data = a.search(None, "SUBJECT", '"Sent through DavMail"')
    hits = data[0].split()
    if hits:
        break
    time.sleep(0.25)
check(hits, "alice received the mail")
typ, data = a.fetch(hits[0], "(RFC822)")
got = email.message_from_bytes(data[0][1])
check("bob@contoso.test" in (got["From"] or ""), f"from bob: {got['From']}")
part = got.get_payload(0) if got.is_multipart() else got
check(b"Hello Alice" in part.get_payload(decode=True), "its body")
a.logout()
print("davmail smoke test passed")
