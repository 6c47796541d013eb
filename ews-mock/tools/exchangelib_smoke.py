"""Smoke test of ews-mock with a third-party EWS client (Python's exchangelib).

    cargo run -p ews-mock -- --listen 127.0.0.1:18443 --data ews-mock/org.example.toml &
    python3 -m pip install exchangelib
    EWS_URL=http://127.0.0.1:18443/EWS/Exchange.asmx python3 ews-mock/tools/exchangelib_smoke.py [NTLM|BASIC]

Run automatically by `cargo test -p ews-mock --test exchangelib`. Checked with exchangelib 5.6:
NTLM and Basic, walking the whole folder tree (exchangelib asks for every distinguished folder
it knows; those the mock does not model answer ErrorFolderNotFound), CreateFolder/
UpdateFolder/DeleteFolder, a weekly Europe/Berlin series across the change to summer time
with a changed and a deleted occurrence, inbox, FindItem,
CreateItem/UpdateItem/GetItem of a contact, sending mail, SyncFolderItems, CalendarView,
ResolveNames, DeleteItem.
"""
import os
import sys
from datetime import timedelta

from exchangelib import (BASIC, DELEGATE, NTLM, UTC, Account, CalendarItem, Configuration,
                         Contact, Credentials, EWSDateTime, EWSTimeZone, Mailbox, Message)
from exchangelib.fields import MONDAY
from exchangelib.recurrence import Recurrence, WeeklyPattern
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
# A weekly series at 09:00 Europe/Berlin stays at 09:00 local across the change to summer
# time (28 March 2027); an occurrence changed by exchangelib keeps its own fields.
berlin = EWSTimeZone("Europe/Berlin")
first = EWSDateTime(2027, 3, 15, 9, 0, tzinfo=berlin)
series = CalendarItem(folder=acc.calendar, subject="Weekly", location="Room 1", start=first,
                      end=first + timedelta(hours=1),
                      recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[MONDAY]),
                                            start=first.date(), number=4))
series.save()
window = dict(start=EWSDateTime(2027, 3, 1, tzinfo=berlin), end=EWSDateTime(2027, 5, 1, tzinfo=berlin))
occ = list(acc.calendar.view(**window))
local = [o.start.astimezone(berlin).strftime("%m-%d %H:%M") for o in occ]
assert local == ["03-15 09:00", "03-22 09:00", "03-29 09:00", "04-05 09:00"], local
second = occ[1]
second.subject = "Moved"
second.location = "Room 2"
second.save(update_fields=["subject", "location"])
second.refresh()
assert (second.subject, second.location, second.type) == ("Moved", "Room 2", "Exception")
master = acc.calendar.get(id=series.id)
assert master.subject == "Weekly" and len(master.modified_occurrences) == 1
third = series.occurrence(index=3)
third.refresh()
assert (third.subject, third.location) == ("Weekly", "Room 1")
by_occurrence = second.recurring_master()  # RecurringMasterItemId
by_occurrence.refresh()
assert by_occurrence.id == series.id and by_occurrence.subject == "Weekly"
second.delete()
master = acc.calendar.get(id=series.id)
assert len(master.deleted_occurrences) == 1 and not master.modified_occurrences
assert [o.subject for o in acc.calendar.view(**window)] == ["Weekly"] * 3
series.delete()
c.delete()
print("exchangelib smoke test passed")
