// Drives ews-mock with ews-javascript-api, the JavaScript port of Microsoft's EWS Managed API.
//
//   EWS_URL=http://127.0.0.1:8443/EWS/Exchange.asmx node smoke.js
//
// Optional: EWS_USER (default anna@contoso.test), EWS_PASSWORD (default anna-pw), the user of
// ews-mock/org.example.toml. Basic credentials (WebCredentials), Exchange2013 requests.
// Prints "ews-javascript-api smoke test passed" and exits 0, or prints the failure and exits 1.
'use strict';

const ews = require('ews-javascript-api');

const url = process.env.EWS_URL;
const user = process.env.EWS_USER || 'anna@contoso.test';
const password = process.env.EWS_PASSWORD || 'anna-pw';

function check(cond, what) {
  if (!cond) {
    throw new Error(`check failed: ${what}`);
  }
  console.log(`ok - ${what}`);
}

function describe(err) {
  if (err && typeof err === 'object') {
    const parts = [err.constructor && err.constructor.name, err.message];
    if (err.ErrorCode !== undefined) parts.push(`ErrorCode ${ews.ServiceError[err.ErrorCode]}`);
    if (err.Response && err.Response.ErrorMessage) parts.push(err.Response.ErrorMessage);
    if (err.InnerException) parts.push(`inner: ${describe(err.InnerException)}`);
    return `${parts.filter(Boolean).join(': ')}\n${err.stack || ''}`;
  }
  return String(err);
}

async function main() {
  if (!url) {
    throw new Error('EWS_URL is not set');
  }
  const service = new ews.ExchangeService(ews.ExchangeVersion.Exchange2013, ews.TimeZoneInfo.Utc);
  service.Credentials = new ews.WebCredentials(user, password);
  service.Url = new ews.Uri(url);

  // Folder.Bind on a well-known folder
  const inbox = await ews.Folder.Bind(service, ews.WellKnownFolderName.Inbox);
  check(inbox.DisplayName === 'Inbox', `Folder.Bind(Inbox) -> ${inbox.DisplayName}`);
  check(inbox.TotalCount === 1, `inbox holds the seeded message (TotalCount ${inbox.TotalCount})`);

  // FindFolders below the message folder root
  const folders = await service.FindFolders(ews.WellKnownFolderName.MsgFolderRoot, new ews.FolderView(100));
  const names = folders.Folders.map((f) => f.DisplayName);
  for (const expected of ['Inbox', 'Contacts', 'Calendar', 'Tasks', 'CRM Contacts']) {
    check(names.includes(expected), `FindFolders(MsgFolderRoot) lists ${expected}`);
  }

  // a contact
  const contact = new ews.Contact(service);
  contact.GivenName = 'Eva';
  contact.Surname = 'Frank';
  contact.CompanyName = 'Northwind';
  contact.FileAs = 'Frank, Eva';
  contact.EmailAddresses._setItem(ews.EmailAddressKey.EmailAddress1, new ews.EmailAddress('eva@example.org'));
  contact.PhoneNumbers._setItem(ews.PhoneNumberKey.MobilePhone, '+49 170 1234567');
  await contact.Save(ews.WellKnownFolderName.Contacts);
  check(contact.Id && contact.Id.UniqueId, 'Contact.Save returns an id');

  // an appointment
  const appointment = new ews.Appointment(service);
  appointment.Subject = 'Planning';
  appointment.Location = 'Room 1';
  appointment.Body = new ews.MessageBody(ews.BodyType.Text, 'Agenda: budget');
  appointment.Start = new ews.DateTime(Date.UTC(2026, 11, 3, 9, 0, 0));
  appointment.End = new ews.DateTime(Date.UTC(2026, 11, 3, 10, 30, 0));
  await appointment.Save(ews.WellKnownFolderName.Calendar, ews.SendInvitationsMode.SendToNone);
  check(appointment.Id && appointment.Id.UniqueId, 'Appointment.Save returns an id');

  // FindItems + Load
  const contacts = await service.FindItems(ews.WellKnownFolderName.Contacts, new ews.ItemView(50));
  const foundContact = contacts.Items.find((i) => i.Id.UniqueId === contact.Id.UniqueId);
  check(foundContact, `FindItems(Contacts) finds the new contact among ${contacts.Items.length}`);
  await foundContact.Load();
  check(foundContact.GivenName === 'Eva' && foundContact.Surname === 'Frank', 'Load: contact names');
  check(foundContact.CompanyName === 'Northwind', 'Load: contact company');
  check(
    foundContact.EmailAddresses._getItem(ews.EmailAddressKey.EmailAddress1).Address === 'eva@example.org',
    'Load: contact e-mail address',
  );

  const calendar = await service.FindItems(ews.WellKnownFolderName.Calendar, new ews.ItemView(50));
  const foundAppointment = calendar.Items.find((i) => i.Id.UniqueId === appointment.Id.UniqueId);
  check(foundAppointment, `FindItems(Calendar) finds the new appointment among ${calendar.Items.length}`);
  await foundAppointment.Load();
  check(foundAppointment.Subject === 'Planning', 'Load: appointment subject');
  check(foundAppointment.Location === 'Room 1', 'Load: appointment location');
  check(
    foundAppointment.Start.TotalMilliSeconds === Date.UTC(2026, 11, 3, 9, 0, 0),
    `Load: appointment start ${foundAppointment.Start.ToISOString()}`,
  );
  check(
    foundAppointment.End.TotalMilliSeconds === Date.UTC(2026, 11, 3, 10, 30, 0),
    `Load: appointment end ${foundAppointment.End.ToISOString()}`,
  );

  // sync state before the update and delete
  const calendarId = new ews.FolderId(ews.WellKnownFolderName.Calendar);
  const initial = await service.SyncFolderItems(
    calendarId, ews.PropertySet.IdOnly, null, 100, ews.SyncFolderItemsScope.NormalItems, null,
  );
  check(initial.Count >= 2, `SyncFolderItems(Calendar) from scratch: ${initial.Count} creations`);

  // update
  foundAppointment.Subject = 'Planning (moved)';
  foundAppointment.Location = 'Room 2';
  await foundAppointment.Update(ews.ConflictResolutionMode.AutoResolve, ews.SendInvitationsOrCancellationsMode.SendToNone);
  const reloaded = await ews.Appointment.Bind(service, appointment.Id);
  check(reloaded.Subject === 'Planning (moved)' && reloaded.Location === 'Room 2', 'Update: subject and location changed');

  foundContact.CompanyName = 'Contoso';
  await foundContact.Update(ews.ConflictResolutionMode.AlwaysOverwrite);
  const contactAgain = await ews.Contact.Bind(service, contact.Id);
  check(contactAgain.CompanyName === 'Contoso', 'Update: contact company changed');

  // delete
  await reloaded.Delete(ews.DeleteMode.HardDelete, ews.SendCancellationsMode.SendToNone);
  let gone = false;
  try {
    await ews.Appointment.Bind(service, appointment.Id);
  } catch (e) {
    gone = e.ErrorCode === ews.ServiceError.ErrorItemNotFound;
    if (!gone) throw e;
  }
  check(gone, 'Delete: the appointment is gone (ErrorItemNotFound)');

  // incremental sync: the update and the deletion
  const changes = await service.SyncFolderItems(
    calendarId, ews.PropertySet.FirstClassProperties, null, 100, ews.SyncFolderItemsScope.NormalItems, initial.SyncState,
  );
  const list = changes.GetEnumerator();
  const kinds = list.map((c) => `${ews.ChangeType[c.ChangeType]}:${c.ItemId.UniqueId}`);
  check(
    list.some((c) => c.ChangeType === ews.ChangeType.Delete && c.ItemId.UniqueId === appointment.Id.UniqueId),
    `SyncFolderItems reports the deletion (${kinds.join(', ')})`,
  );
  check(!changes.MoreChangesAvailable, 'SyncFolderItems: no more changes');
  const none = await service.SyncFolderItems(
    calendarId, ews.PropertySet.IdOnly, null, 100, ews.SyncFolderItemsScope.NormalItems, changes.SyncState,
  );
  check(none.Count === 0, 'SyncFolderItems with the last state: no changes');

  await contactAgain.Delete(ews.DeleteMode.HardDelete);
  console.log('ews-javascript-api smoke test passed');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`ews-javascript-api smoke test FAILED: ${describe(err)}`);
    process.exit(1);
  },
);
