"""Smoke test of ews-mock with a third-party EWS client (Python's exchangelib).

    cargo run -p ews-mock -- --listen 127.0.0.1:18443 --data ews-mock/org.example.toml &
    python3 -m pip install exchangelib
    EWS_URL=http://127.0.0.1:18443/EWS/Exchange.asmx python3 ews-mock/tools/exchangelib_smoke.py [NTLM|BASIC]

Run automatically by `cargo test -p ews-mock --test exchangelib`. Checked with exchangelib 5.6:
NTLM and Basic, walking the whole folder tree (exchangelib asks for every distinguished folder
it knows; those the mock does not model answer ErrorFolderNotFound), CreateFolder/
UpdateFolder/DeleteFolder, inbox, FindItem,
CreateItem/UpdateItem/GetItem of a contact, sending mail, SyncFolderItems, CalendarView,
ResolveNames, DeleteItem.
"""
import os
import sys

from exchangelib import (BASIC, DELEGATE, NTLM, UTC, Account, Configuration, Contact,
                         Credentials, EWSDateTime, Mailbox, Message)
from exchangelib.version import EXCHANGE_2016, Version

auth = sys.argv[1] if len(sys.argv) > 1 else "NTLM"
url = os.environ.get("EWS_URL", "http://127.0.0.1:18443/EWS/Exchange.asmx")
user = "CONTOSO\\anna" if auth == "NTLM" else "anna@contoso.test"
config = Configuration(
    service_endpoint=url,
    credentials=Credentials(user, "anna-pw"),
    auth_type=NTLM if auth == "NTLM" else BASIC,
    version=Version(EXCHANGE_2016),
)
acc = Account("anna@contoso.test", config=config, autodiscover=False, access_type=DELEGATE)
assert acc.inbox.name == "Inbox"
# Walking the folder tree: exchangelib asks for every distinguished folder it knows
names = {f.name for f in acc.root.walk()}
assert {"Inbox", "Contacts", "Calendar", "Top of Information Store"} <= names, names
assert acc.msg_folder_root.absolute.endswith("Top of Information Store")
# CreateFolder, UpdateFolder (rename), DeleteFolder
from exchangelib.folders import Messages  # noqa: E402
f = Messages(parent=acc.inbox, name="Smoke Folder")
f.save()
f.name = "Smoke Folder Renamed"
f.save(update_fields=["name"])
f.refresh()
assert f.name == "Smoke Folder Renamed", f.name
f.delete()
assert "Smoke Folder Renamed" not in [c.name for c in acc.inbox.children]
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
