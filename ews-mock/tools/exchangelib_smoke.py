"""Smoke test of ews-mock with a third-party EWS client (Python's exchangelib).

    cargo run -p ews-mock -- --listen 127.0.0.1:18443 --data ews-mock/org.example.toml &
    pip install exchangelib
    python3 ews-mock/tools/exchangelib_smoke.py [NTLM|BASIC]

Checked with exchangelib 5.6: NTLM and Basic, inbox, FindItem, CreateItem/UpdateItem/GetItem
of a contact, sending mail, SyncFolderItems, CalendarView, ResolveNames, DeleteItem. Walking
the folder tree does not work yet: exchangelib asks for distinguished folders that
ews-client's DistinguishedFolderName does not know (e.g. allcategorizeditems), so the request
is rejected with ErrorSchemaValidation instead of a per-folder ErrorFolderNotFound.
"""
import sys

from exchangelib import (BASIC, DELEGATE, NTLM, UTC, Account, Configuration, Contact,
                         Credentials, EWSDateTime, Mailbox, Message)
from exchangelib.version import EXCHANGE_2016, Version

auth = sys.argv[1] if len(sys.argv) > 1 else "NTLM"
user = "CONTOSO\\anna" if auth == "NTLM" else "anna@contoso.test"
config = Configuration(
    service_endpoint="http://127.0.0.1:18443/EWS/Exchange.asmx",
    credentials=Credentials(user, "anna-pw"),
    auth_type=NTLM if auth == "NTLM" else BASIC,
    version=Version(EXCHANGE_2016),
)
acc = Account("anna@contoso.test", config=config, autodiscover=False, access_type=DELEGATE)
assert acc.inbox.name == "Inbox"
assert "Carla Diaz" in [c.display_name or c.subject for c in acc.contacts.all()]
c = Contact(folder=acc.contacts, display_name="Zoe Zed", given_name="Zoe", surname="Zed")
c.save()
before = c.changekey
c.given_name = "Zoey"
c.save(update_fields=["given_name"])
assert c.changekey != before
assert acc.contacts.get(id=c.id).given_name == "Zoey"
Message(account=acc, subject="hi", body="hello",
        to_recipients=[Mailbox(email_address="ben@contoso.test")]).send_and_save()
acc.sent.refresh()  # exchangelib caches the folder fetched by send_and_save
assert acc.sent.total_count >= 1
assert len(list(acc.contacts.sync_items())) >= 2
view = acc.calendar.view(start=EWSDateTime(2026, 12, 1, tzinfo=UTC),
                         end=EWSDateTime(2026, 12, 31, tzinfo=UTC))
assert [i.subject for i in view] == ["Review"]
assert acc.protocol.resolve_names(["ben"])[0].email_address == "ben@contoso.test"
c.delete()
print("exchangelib smoke test passed")
