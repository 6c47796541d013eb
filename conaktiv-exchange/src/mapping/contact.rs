//! Contacts: [`ContactPerson`] and EWS [`Contact`] (`t:Contact`).
//!
//! E-mail addresses, phone numbers and postal addresses are matched by kind: the first CRM
//! entry of a kind is synced with the Exchange slot of that kind (business e-mail with
//! `EmailAddress1`, private with `EmailAddress2`, other with `EmailAddress3`; the phone and
//! address kinds with their Exchange keys). Further CRM entries of the same kind have no
//! Exchange slot and are left alone, as are the customer link and the e-mail kinds.

use std::collections::BTreeSet;

use conaktiv_model::ContactPerson;
use conaktiv_model::contact::{
    AddressKind, ContactEmail, EmailKind, PhoneKind, PhoneNumber, PostalAddress,
};
use ews_client::types::contact::{
    EmailAddressEntry, EmailAddressKey, PhoneNumberEntry, PhoneNumberKey, PhysicalAddressEntry,
    PhysicalAddressKey,
};
use ews_client::types::{Body, Contact, ExtendedProperty, PropertyPath};

use super::canon::{self, get_str, get_string, put};
use super::{FieldChange, Record};

/// The canonical field names of a contact [`Record`].
pub mod fields {
    /// Title ("Dr."); EWS extended property `0x3A45` (`PidTagDisplayNamePrefix`).
    pub const TITLE: &str = "title";
    /// Given name; `contacts:GivenName`.
    pub const GIVEN_NAME: &str = "given_name";
    /// Middle name; `contacts:MiddleName`.
    pub const MIDDLE_NAME: &str = "middle_name";
    /// Surname; `contacts:Surname`.
    pub const SURNAME: &str = "surname";
    /// Suffix ("jun."); `contacts:Generation`.
    pub const SUFFIX: &str = "suffix";
    /// Nickname; `contacts:Nickname`.
    pub const NICKNAME: &str = "nickname";
    /// Display name (the CRM's derived name when it has none); `contacts:DisplayName`.
    pub const DISPLAY_NAME: &str = "display_name";
    /// Company; `contacts:CompanyName`.
    pub const COMPANY: &str = "company";
    /// Department; `contacts:Department`.
    pub const DEPARTMENT: &str = "department";
    /// Job title; `contacts:JobTitle`.
    pub const JOB_TITLE: &str = "job_title";
    /// Birthday, a date; `contacts:Birthday`.
    pub const BIRTHDAY: &str = "birthday";
    /// Notes (multi-line text); `item:Body`.
    pub const NOTES: &str = "notes";
    /// Categories, a sorted array; `item:Categories`.
    pub const CATEGORIES: &str = "categories";
    /// E-mail address fields: `email.1` (business), `email.2` (private), `email.3`
    /// (other), with the display names in `email.1.name`, ...; `contacts:EmailAddress` /
    /// `EmailAddress1`...
    pub const EMAIL_PREFIX: &str = "email.";
    /// Phone fields: `phone.business`, `phone.home`, `phone.mobile`, `phone.fax`,
    /// `phone.other`; `contacts:PhoneNumber` / `BusinessPhone`, `HomePhone`, `MobilePhone`,
    /// `BusinessFax`, `OtherTelephone`.
    pub const PHONE_PREFIX: &str = "phone.";
    /// Address fields: `address.{business,home,other}.{street,postal_code,city,state,country}`;
    /// `contacts:PhysicalAddress:Street` ... / `Business`, `Home`, `Other`.
    pub const ADDRESS_PREFIX: &str = "address.";
}

const EMAIL_SLOTS: [(EmailKind, EmailAddressKey, &str); 3] = [
    (EmailKind::Business, EmailAddressKey::EmailAddress1, "1"),
    (EmailKind::Private, EmailAddressKey::EmailAddress2, "2"),
    (EmailKind::Other, EmailAddressKey::EmailAddress3, "3"),
];

const PHONE_SLOTS: [(PhoneKind, PhoneNumberKey, &str); 5] = [
    (
        PhoneKind::Business,
        PhoneNumberKey::BusinessPhone,
        "business",
    ),
    (PhoneKind::Home, PhoneNumberKey::HomePhone, "home"),
    (PhoneKind::Mobile, PhoneNumberKey::MobilePhone, "mobile"),
    (PhoneKind::Fax, PhoneNumberKey::BusinessFax, "fax"),
    (PhoneKind::Other, PhoneNumberKey::OtherTelephone, "other"),
];

const ADDRESS_SLOTS: [(AddressKind, PhysicalAddressKey, &str); 3] = [
    (
        AddressKind::Business,
        PhysicalAddressKey::Business,
        "business",
    ),
    (AddressKind::Home, PhysicalAddressKey::Home, "home"),
    (AddressKind::Other, PhysicalAddressKey::Other, "other"),
];

/// The address parts: record suffix and EWS dictionary field URI.
const ADDRESS_PARTS: [(&str, &str); 5] = [
    ("street", "contacts:PhysicalAddress:Street"),
    ("postal_code", "contacts:PhysicalAddress:PostalCode"),
    ("city", "contacts:PhysicalAddress:City"),
    ("state", "contacts:PhysicalAddress:State"),
    ("country", "contacts:PhysicalAddress:CountryOrRegion"),
];

/// The simple text fields: record name, EWS field URI, multi-line.
const TEXT_FIELDS: [(&str, &str); 8] = [
    (fields::GIVEN_NAME, "contacts:GivenName"),
    (fields::MIDDLE_NAME, "contacts:MiddleName"),
    (fields::SURNAME, "contacts:Surname"),
    (fields::SUFFIX, "contacts:Generation"),
    (fields::NICKNAME, "contacts:Nickname"),
    (fields::COMPANY, "contacts:CompanyName"),
    (fields::DEPARTMENT, "contacts:Department"),
    (fields::JOB_TITLE, "contacts:JobTitle"),
];

fn email_name_field(slot: &str) -> String {
    format!("{}{slot}.name", fields::EMAIL_PREFIX)
}

fn email_field(slot: &str) -> String {
    format!("{}{slot}", fields::EMAIL_PREFIX)
}

fn phone_field(slot: &str) -> String {
    format!("{}{slot}", fields::PHONE_PREFIX)
}

fn address_field(kind: &str, part: &str) -> String {
    format!("{}{kind}.{part}", fields::ADDRESS_PREFIX)
}

/// Whether the record has any field whose name starts with `prefix` (one ordered lookup,
/// so that a record without e-mail, phone or address fields costs no field-name building).
fn has_prefixed(r: &Record, prefix: &str) -> bool {
    r.fields
        .range::<str, _>((
            std::ops::Bound::Included(prefix),
            std::ops::Bound::Unbounded,
        ))
        .next()
        .is_some_and(|(name, _)| name.starts_with(prefix))
}

fn address_part(a: &PostalAddress, part: &str) -> Option<String> {
    match part {
        "street" => canon::multiline(&a.street),
        "postal_code" => canon::line(&a.postal_code),
        "city" => canon::line(&a.city),
        "state" => canon::line(&a.state),
        _ => canon::line(&a.country),
    }
}

fn address_part_mut<'a>(a: &'a mut PostalAddress, part: &str) -> &'a mut String {
    match part {
        "street" => &mut a.street,
        "postal_code" => &mut a.postal_code,
        "city" => &mut a.city,
        "state" => &mut a.state,
        _ => &mut a.country,
    }
}

fn name_text(c: &ContactPerson, field: &str) -> Option<String> {
    let n = &c.name;
    let s = match field {
        fields::GIVEN_NAME => &n.given_name,
        fields::MIDDLE_NAME => &n.middle_name,
        fields::SURNAME => &n.surname,
        fields::SUFFIX => &n.suffix,
        fields::NICKNAME => &n.nickname,
        fields::COMPANY => &c.company,
        fields::DEPARTMENT => &c.department,
        _ => &c.job_title,
    };
    canon::line(s)
}

fn name_text_mut<'a>(c: &'a mut ContactPerson, field: &str) -> &'a mut String {
    match field {
        fields::GIVEN_NAME => &mut c.name.given_name,
        fields::MIDDLE_NAME => &mut c.name.middle_name,
        fields::SURNAME => &mut c.name.surname,
        fields::SUFFIX => &mut c.name.suffix,
        fields::NICKNAME => &mut c.name.nickname,
        fields::COMPANY => &mut c.company,
        fields::DEPARTMENT => &mut c.department,
        _ => &mut c.job_title,
    }
}

fn derived_display_name(c: &ContactPerson) -> Option<String> {
    let mut bare = c.clone();
    bare.display_name.clear();
    canon::line(&bare.effective_display_name())
}

/// Projects a CRM contact person onto a [`Record`].
pub fn crm_to_record(c: &ContactPerson) -> Record {
    let mut r = Record::new();
    put(&mut r, fields::TITLE, canon::line(&c.name.title));
    for (name, _) in TEXT_FIELDS {
        put(&mut r, name, name_text(c, name));
    }
    put(
        &mut r,
        fields::DISPLAY_NAME,
        canon::line(&c.effective_display_name()),
    );
    put(&mut r, fields::BIRTHDAY, c.birthday.map(canon::date));
    put(&mut r, fields::NOTES, canon::multiline(&c.notes));
    canon::put_value(&mut r, fields::CATEGORIES, canon::categories(&c.categories));
    for (kind, _, slot) in EMAIL_SLOTS {
        if let Some(e) = c.email(kind) {
            put(&mut r, &email_field(slot), canon::line(&e.address));
            if canon::line(&e.address).is_some() {
                put(
                    &mut r,
                    &email_name_field(slot),
                    canon::email_name(&e.display_name, &e.address),
                );
            }
        }
    }
    for (kind, _, slot) in PHONE_SLOTS {
        if let Some(p) = c.phone(kind) {
            put(&mut r, &phone_field(slot), canon::line(&p.number));
        }
    }
    for (kind, _, slot) in ADDRESS_SLOTS {
        if let Some(a) = c.address(kind) {
            for (part, _) in ADDRESS_PARTS {
                put(&mut r, &address_field(slot, part), address_part(a, part));
            }
        }
    }
    r
}

/// Applies the mapped fields of a [`Record`] onto a CRM contact person. Unmapped fields (id,
/// customer, e-mail kinds, further entries of a kind) are left alone; a field whose
/// canonical value is unchanged keeps the CRM's spelling.
pub fn record_onto_crm(r: &Record, c: &mut ContactPerson) {
    canon::apply_line(&mut c.name.title, get_str(r, fields::TITLE));
    for (name, _) in TEXT_FIELDS {
        canon::apply_line(name_text_mut(c, name), get_str(r, name));
    }
    let display = get_str(r, fields::DISPLAY_NAME);
    // A display name equal to the one derived from the name parts stays derived (empty).
    if !(c.display_name.trim().is_empty() && display.map(str::to_owned) == derived_display_name(c))
    {
        canon::apply_line(&mut c.display_name, display);
    }
    if c.birthday.map(canon::date).as_deref() != get_str(r, fields::BIRTHDAY) {
        c.birthday = r.get(fields::BIRTHDAY).and_then(canon::parse_date);
    }
    canon::apply_multiline(&mut c.notes, get_str(r, fields::NOTES));
    canon::apply_categories(&mut c.categories, r.get(fields::CATEGORIES));

    for (kind, _, slot) in EMAIL_SLOTS {
        let address = get_str(r, &email_field(slot));
        let name = get_str(r, &email_name_field(slot));
        let pos = c.emails.iter().position(|e| e.kind == kind);
        match (pos, address) {
            (Some(i), Some(a)) => {
                let e = &mut c.emails[i];
                canon::apply_line(&mut e.address, Some(a));
                if canon::email_name(&e.display_name, &e.address).as_deref() != name {
                    e.display_name = name.unwrap_or_default().to_owned();
                }
            }
            (Some(i), None) => {
                // An entry that is already empty stays (it maps to nothing either way).
                if canon::line(&c.emails[i].address).is_some() {
                    c.emails.remove(i);
                }
            }
            (None, Some(a)) => c.emails.push(ContactEmail {
                kind,
                address: a.to_owned(),
                display_name: name.unwrap_or_default().to_owned(),
            }),
            (None, None) => {}
        }
    }
    for (kind, _, slot) in PHONE_SLOTS {
        let number = get_str(r, &phone_field(slot));
        let pos = c.phones.iter().position(|p| p.kind == kind);
        match (pos, number) {
            (Some(i), Some(n)) => canon::apply_line(&mut c.phones[i].number, Some(n)),
            (Some(i), None) => {
                if canon::line(&c.phones[i].number).is_some() {
                    c.phones.remove(i);
                }
            }
            (None, Some(n)) => c.phones.push(PhoneNumber {
                kind,
                number: n.to_owned(),
            }),
            (None, None) => {}
        }
    }
    for (kind, _, slot) in ADDRESS_SLOTS {
        let parts: Vec<(&str, Option<&str>)> = ADDRESS_PARTS
            .iter()
            .map(|(part, _)| (*part, get_str(r, &address_field(slot, part))))
            .collect();
        let any = parts.iter().any(|(_, v)| v.is_some());
        let pos = c.addresses.iter().position(|a| a.kind == kind);
        match (pos, any) {
            (Some(i), true) => {
                let a = &mut c.addresses[i];
                for (part, v) in parts {
                    if part == "street" {
                        canon::apply_multiline(address_part_mut(a, part), v);
                    } else {
                        canon::apply_line(address_part_mut(a, part), v);
                    }
                }
            }
            (Some(i), false) => {
                if !c.addresses[i].is_empty() {
                    c.addresses.remove(i);
                }
            }
            (None, true) => {
                let mut a = PostalAddress {
                    kind,
                    ..PostalAddress::default()
                };
                for (part, v) in parts {
                    *address_part_mut(&mut a, part) = v.unwrap_or_default().to_owned();
                }
                c.addresses.push(a);
            }
            (None, false) => {}
        }
    }
}

fn opt_line(s: Option<&String>) -> Option<String> {
    s.and_then(|s| canon::line(s))
}

/// Projects an EWS contact onto a [`Record`].
pub fn ews_to_record(x: &Contact) -> Record {
    let mut r = Record::new();
    put(&mut r, fields::TITLE, x.title().and_then(canon::line));
    for (name, uri) in TEXT_FIELDS {
        let v = match uri {
            "contacts:GivenName" => x.given_name.as_ref(),
            "contacts:MiddleName" => x.middle_name.as_ref(),
            "contacts:Surname" => x.surname.as_ref(),
            "contacts:Generation" => x.generation.as_ref(),
            "contacts:Nickname" => x.nickname.as_ref(),
            "contacts:CompanyName" => x.company_name.as_ref(),
            "contacts:Department" => x.department.as_ref(),
            _ => x.job_title.as_ref(),
        };
        put(&mut r, name, opt_line(v));
    }
    put(
        &mut r,
        fields::DISPLAY_NAME,
        opt_line(x.display_name.as_ref()),
    );
    put(&mut r, fields::BIRTHDAY, x.birthday_date().map(canon::date));
    put(
        &mut r,
        fields::NOTES,
        canon::body_text(x.common.body.as_ref()),
    );
    canon::put_value(
        &mut r,
        fields::CATEGORIES,
        canon::categories(&x.common.categories),
    );
    for (_, key, slot) in EMAIL_SLOTS {
        if let Some(e) = x.email(key)
            && let Some(a) = canon::line(&e.address)
        {
            put(&mut r, &email_field(slot), Some(a));
            put(
                &mut r,
                &email_name_field(slot),
                canon::email_name(e.name.as_deref().unwrap_or(""), &e.address),
            );
        }
    }
    for (_, key, slot) in PHONE_SLOTS {
        put(
            &mut r,
            &phone_field(slot),
            x.phone(key).and_then(canon::line),
        );
    }
    for (_, key, slot) in ADDRESS_SLOTS {
        if let Some(a) = x.address(key) {
            for (part, uri) in ADDRESS_PARTS {
                let v = a
                    .parts()
                    .iter()
                    .find(|(u, _)| *u == uri)
                    .and_then(|(_, v)| v.as_deref());
                let v = if part == "street" {
                    v.and_then(canon::multiline)
                } else {
                    v.and_then(canon::line)
                };
                put(&mut r, &address_field(slot, part), v);
            }
        }
    }
    r
}

/// Builds the EWS contact holding a [`Record`]'s mapped fields (for `CreateItem`; the
/// record id goes on with [`super::key::set_record_id`]).
pub fn record_to_ews(r: &Record) -> Contact {
    let mut x = Contact::default();
    if let Some(t) = get_string(r, fields::TITLE) {
        x.common
            .set_extended_property(ExtendedProperty::string(Contact::title_property(), t));
    }
    x.given_name = get_string(r, fields::GIVEN_NAME);
    x.middle_name = get_string(r, fields::MIDDLE_NAME);
    x.surname = get_string(r, fields::SURNAME);
    x.generation = get_string(r, fields::SUFFIX);
    x.nickname = get_string(r, fields::NICKNAME);
    x.company_name = get_string(r, fields::COMPANY);
    x.department = get_string(r, fields::DEPARTMENT);
    x.job_title = get_string(r, fields::JOB_TITLE);
    x.display_name = get_string(r, fields::DISPLAY_NAME);
    x.set_birthday_date(r.get(fields::BIRTHDAY).and_then(canon::parse_date));
    x.common.body = get_string(r, fields::NOTES).map(Body::text);
    x.common.categories = canon::string_list(r.get(fields::CATEGORIES));
    let (emails, phones, addresses) = (
        has_prefixed(r, fields::EMAIL_PREFIX),
        has_prefixed(r, fields::PHONE_PREFIX),
        has_prefixed(r, fields::ADDRESS_PREFIX),
    );
    for (_, key, slot) in EMAIL_SLOTS.iter().filter(|_| emails) {
        if let Some(a) = get_str(r, &email_field(slot)) {
            let mut e = EmailAddressEntry::new(*key, a);
            e.name = get_string(r, &email_name_field(slot));
            x.email_addresses.push(e);
        }
    }
    for (_, key, slot) in PHONE_SLOTS.iter().filter(|_| phones) {
        if let Some(n) = get_str(r, &phone_field(slot)) {
            x.phone_numbers.push(PhoneNumberEntry::new(*key, n));
        }
    }
    for (_, key, slot) in ADDRESS_SLOTS.iter().filter(|_| addresses) {
        let mut e = PhysicalAddressEntry::new(*key);
        let mut any = false;
        for (part, uri) in ADDRESS_PARTS {
            if let Some(v) = get_string(r, &address_field(slot, part))
                && let Some(p) = e.part_mut(uri)
            {
                *p = Some(v);
                any = true;
            }
        }
        if any {
            x.physical_addresses.push(e);
        }
    }
    x
}

/// The EWS property path a record field is stored in; `None` for unknown field names.
pub fn field_path(name: &str) -> Option<PropertyPath> {
    if name == fields::TITLE {
        return Some(PropertyPath::Extended(Contact::title_property()));
    }
    if let Some((_, uri)) = TEXT_FIELDS.iter().find(|(n, _)| *n == name) {
        return Some(PropertyPath::field(*uri));
    }
    let simple = match name {
        fields::DISPLAY_NAME => Some("contacts:DisplayName"),
        fields::BIRTHDAY => Some("contacts:Birthday"),
        fields::NOTES => Some("item:Body"),
        fields::CATEGORIES => Some("item:Categories"),
        _ => None,
    };
    if let Some(uri) = simple {
        return Some(PropertyPath::field(uri));
    }
    if let Some(rest) = name.strip_prefix(fields::EMAIL_PREFIX) {
        let slot = rest.strip_suffix(".name").unwrap_or(rest);
        let (_, key, _) = EMAIL_SLOTS.iter().find(|(_, _, s)| *s == slot)?;
        return Some(PropertyPath::indexed("contacts:EmailAddress", key.as_str()));
    }
    if let Some(slot) = name.strip_prefix(fields::PHONE_PREFIX) {
        let (_, key, _) = PHONE_SLOTS.iter().find(|(_, _, s)| *s == slot)?;
        return Some(PropertyPath::indexed("contacts:PhoneNumber", key.as_str()));
    }
    if let Some(rest) = name.strip_prefix(fields::ADDRESS_PREFIX) {
        let (slot, part) = rest.split_once('.')?;
        let (_, key, _) = ADDRESS_SLOTS.iter().find(|(_, _, s)| *s == slot)?;
        let (_, uri) = ADDRESS_PARTS.iter().find(|(p, _)| *p == part)?;
        return Some(PropertyPath::indexed(*uri, key.as_str()));
    }
    None
}

/// A contact holding only the value at `path` of `full`; `None` when `full` has no value
/// there.
fn project(full: &Contact, path: &PropertyPath) -> Option<Contact> {
    let mut x = Contact::default();
    match path {
        PropertyPath::Extended(uri) => {
            let p = full.common.extended_property(uri)?.clone();
            x.common.extended_properties.push(p);
        }
        PropertyPath::Field(uri) => match uri.as_str() {
            "contacts:GivenName" => x.given_name = Some(full.given_name.clone()?),
            "contacts:MiddleName" => x.middle_name = Some(full.middle_name.clone()?),
            "contacts:Surname" => x.surname = Some(full.surname.clone()?),
            "contacts:Generation" => x.generation = Some(full.generation.clone()?),
            "contacts:Nickname" => x.nickname = Some(full.nickname.clone()?),
            "contacts:CompanyName" => x.company_name = Some(full.company_name.clone()?),
            "contacts:Department" => x.department = Some(full.department.clone()?),
            "contacts:JobTitle" => x.job_title = Some(full.job_title.clone()?),
            "contacts:DisplayName" => x.display_name = Some(full.display_name.clone()?),
            "contacts:Birthday" => x.birthday = Some(full.birthday?),
            "item:Body" => x.common.body = Some(full.common.body.clone()?),
            "item:Categories" if !full.common.categories.is_empty() => {
                x.common.categories = full.common.categories.clone()
            }
            _ => return None,
        },
        PropertyPath::Indexed {
            field_uri,
            field_index,
        } => match field_uri.as_str() {
            "contacts:EmailAddress" => {
                let key: EmailAddressKey = field_index.parse().ok()?;
                x.email_addresses.push(full.email(key)?.clone());
            }
            "contacts:PhoneNumber" => {
                let key: PhoneNumberKey = field_index.parse().ok()?;
                x.phone_numbers
                    .push(PhoneNumberEntry::new(key, full.phone(key)?));
            }
            part_uri => {
                let key: PhysicalAddressKey = field_index.parse().ok()?;
                let value = full
                    .address(key)?
                    .parts()
                    .iter()
                    .find(|(u, _)| *u == part_uri)
                    .and_then(|(_, v)| (*v).clone())?;
                let mut e = PhysicalAddressEntry::new(key);
                *e.part_mut(part_uri)? = Some(value);
                x.physical_addresses.push(e);
            }
        },
    }
    Some(x)
}

/// The `UpdateItem` changes that turn the Exchange contact of `old` into that of `new`: one
/// `SetItemField` per changed or added property, one `DeleteItemField` per removed one
/// (an e-mail address and its display name are one property).
pub fn record_to_update_changes(old: &Record, new: &Record) -> Vec<FieldChange> {
    let full = record_to_ews(new);
    changed_paths(old, new, field_path)
        .into_iter()
        .map(|path| match project(&full, &path) {
            Some(item) => FieldChange::Set {
                path,
                item: item.into(),
            },
            None => FieldChange::Delete { path },
        })
        .collect()
}

/// The distinct property paths of the fields that differ between two records, in the
/// order of the field names.
pub(crate) fn changed_paths(
    old: &Record,
    new: &Record,
    path_of: impl Fn(&str) -> Option<PropertyPath>,
) -> Vec<PropertyPath> {
    let names: BTreeSet<&String> = old.fields.keys().chain(new.fields.keys()).collect();
    let mut out: Vec<PropertyPath> = Vec::new();
    for name in names {
        if old.get(name) == new.get(name) {
            continue;
        }
        if let Some(p) = path_of(name)
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    out
}
