//! Contacts: the canonical contact [`Record`] (see [`crate::mapping::contact`]) and Graph's
//! [`Contact`].
//!
//! E-mail slots use `primaryEmailAddress` / `secondaryEmailAddress` /
//! `tertiaryEmailAddress` (Exchange's `EmailAddress1` / `2` / `3`), because the
//! `emailAddresses` collection drops empty slots (an address in slot 2 alone would read as
//! slot 1); the collection is only a fallback for reading. The business fax and the other
//! phone have no Graph property: they are the MAPI properties `PidTagBusinessFaxNumber`
//! (`String 0x3a24`) and `PidTagOtherTelephoneNumber` (`String 0x3a1f`) as single-value
//! extended properties ([`extended_properties`]). The title is Graph's `title`
//! (`PidTagDisplayNamePrefix`, the `0x3A45` EWS writes).

use chrono::{NaiveDate, NaiveTime};
use graph_client::contacts::Contact;
use graph_client::extended::{self, PropertyId};
use graph_client::types::{EmailAddress, PhysicalAddress};
use serde_json::{Map, Value};

use super::to_json;
use crate::mapping::Record;
use crate::mapping::canon::{self, get_str, get_string, put};
use crate::mapping::contact::fields;

/// `PidTagBusinessFaxNumber`: the business fax (`phone.fax`).
pub fn business_fax_property() -> PropertyId {
    PropertyId::tagged("String", 0x3A24)
}

/// `PidTagOtherTelephoneNumber`: the other phone (`phone.other`).
pub fn other_phone_property() -> PropertyId {
    PropertyId::tagged("String", 0x3A1F)
}

/// The extended properties the mapping reads: `$expand` them
/// (`graph_client::extended::expand`) together with the correlation key.
pub fn extended_properties() -> Vec<PropertyId> {
    vec![business_fax_property(), other_phone_property()]
}

/// The Graph properties the mapping reads, for a `$select` (Graph may leave the e-mail slot
/// properties out of a default answer; the collection is the fallback).
pub const SELECT: [&str; 25] = [
    "title",
    "givenName",
    "middleName",
    "surname",
    "generation",
    "nickName",
    "companyName",
    "department",
    "jobTitle",
    "displayName",
    "personalNotes",
    "birthday",
    "categories",
    "emailAddresses",
    "primaryEmailAddress",
    "secondaryEmailAddress",
    "tertiaryEmailAddress",
    "businessPhones",
    "homePhones",
    "mobilePhone",
    "businessAddress",
    "homeAddress",
    "otherAddress",
    "changeKey",
    "parentFolderId",
];

/// Record fields Graph cannot carry (none: every contact field has a Graph property or an
/// extended property).
pub const NOT_CARRIED: [&str; 0] = [];

/// The simple text fields: record name and Graph property.
const TEXT_FIELDS: [(&str, &str); 11] = [
    (fields::TITLE, "title"),
    (fields::GIVEN_NAME, "givenName"),
    (fields::MIDDLE_NAME, "middleName"),
    (fields::SURNAME, "surname"),
    (fields::SUFFIX, "generation"),
    (fields::NICKNAME, "nickName"),
    (fields::COMPANY, "companyName"),
    (fields::DEPARTMENT, "department"),
    (fields::JOB_TITLE, "jobTitle"),
    (fields::DISPLAY_NAME, "displayName"),
    (fields::NOTES, "personalNotes"),
];

const EMAIL_SLOTS: [(&str, &str); 3] = [
    ("1", "primaryEmailAddress"),
    ("2", "secondaryEmailAddress"),
    ("3", "tertiaryEmailAddress"),
];

const ADDRESS_SLOTS: [(&str, &str); 3] = [
    ("business", "businessAddress"),
    ("home", "homeAddress"),
    ("other", "otherAddress"),
];

const ADDRESS_PARTS: [&str; 5] = ["street", "postal_code", "city", "state", "country"];

fn text_of<'a>(c: &'a Contact, name: &str) -> Option<&'a String> {
    match name {
        fields::TITLE => c.title.as_ref(),
        fields::GIVEN_NAME => c.given_name.as_ref(),
        fields::MIDDLE_NAME => c.middle_name.as_ref(),
        fields::SURNAME => c.surname.as_ref(),
        fields::SUFFIX => c.generation.as_ref(),
        fields::NICKNAME => c.nick_name.as_ref(),
        fields::COMPANY => c.company_name.as_ref(),
        fields::DEPARTMENT => c.department.as_ref(),
        fields::JOB_TITLE => c.job_title.as_ref(),
        fields::DISPLAY_NAME => c.display_name.as_ref(),
        _ => c.personal_notes.as_ref(),
    }
}

fn text_mut<'a>(c: &'a mut Contact, name: &str) -> &'a mut Option<String> {
    match name {
        fields::TITLE => &mut c.title,
        fields::GIVEN_NAME => &mut c.given_name,
        fields::MIDDLE_NAME => &mut c.middle_name,
        fields::SURNAME => &mut c.surname,
        fields::SUFFIX => &mut c.generation,
        fields::NICKNAME => &mut c.nick_name,
        fields::COMPANY => &mut c.company_name,
        fields::DEPARTMENT => &mut c.department,
        fields::JOB_TITLE => &mut c.job_title,
        fields::DISPLAY_NAME => &mut c.display_name,
        _ => &mut c.personal_notes,
    }
}

fn email_slot_mut<'a>(c: &'a mut Contact, slot: &str) -> &'a mut Option<EmailAddress> {
    match slot {
        "1" => &mut c.primary_email_address,
        "2" => &mut c.secondary_email_address,
        _ => &mut c.tertiary_email_address,
    }
}

fn address_slot_mut<'a>(c: &'a mut Contact, slot: &str) -> &'a mut Option<PhysicalAddress> {
    match slot {
        "business" => &mut c.business_address,
        "home" => &mut c.home_address,
        _ => &mut c.other_address,
    }
}

fn address_part(a: &PhysicalAddress, part: &str) -> Option<String> {
    let v = match part {
        "street" => return a.street.as_deref().and_then(canon::multiline),
        "postal_code" => a.postal_code.as_deref(),
        "city" => a.city.as_deref(),
        "state" => a.state.as_deref(),
        _ => a.country_or_region.as_deref(),
    };
    v.and_then(canon::line)
}

fn address_part_mut<'a>(a: &'a mut PhysicalAddress, part: &str) -> &'a mut Option<String> {
    match part {
        "street" => &mut a.street,
        "postal_code" => &mut a.postal_code,
        "city" => &mut a.city,
        "state" => &mut a.state,
        _ => &mut a.country_or_region,
    }
}

fn email_field(slot: &str) -> String {
    format!("{}{slot}", fields::EMAIL_PREFIX)
}

fn email_name_field(slot: &str) -> String {
    format!("{}{slot}.name", fields::EMAIL_PREFIX)
}

fn phone_field(slot: &str) -> String {
    format!("{}{slot}", fields::PHONE_PREFIX)
}

fn address_field(slot: &str, part: &str) -> String {
    format!("{}{slot}.{part}", fields::ADDRESS_PREFIX)
}

/// The birthday as Graph gets it: the date at 11:59 UTC, as EWS writes it.
fn birthday_instant(d: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    d.and_time(NaiveTime::from_hms_opt(11, 59, 0).unwrap_or(NaiveTime::MIN))
        .and_utc()
}

/// Projects a Graph contact onto a [`Record`] (equal to what
/// [`crate::mapping::contact::ews_to_record`] gives for the same item). The correlation key
/// is not part of it.
pub fn graph_to_record(c: &Contact) -> Record {
    let mut r = Record::new();
    for (name, _) in TEXT_FIELDS {
        let v = text_of(c, name);
        let v = if name == fields::NOTES {
            v.and_then(|s| canon::multiline(s))
        } else {
            v.and_then(|s| canon::line(s))
        };
        put(&mut r, name, v);
    }
    put(
        &mut r,
        fields::BIRTHDAY,
        c.birthday.map(|b| canon::date(canon::date_from_ews(b))),
    );
    canon::put_value(
        &mut r,
        fields::CATEGORIES,
        canon::categories(c.categories.as_deref().unwrap_or_default()),
    );
    let slots = [
        &c.primary_email_address,
        &c.secondary_email_address,
        &c.tertiary_email_address,
    ];
    let by_slot: Vec<Option<&EmailAddress>> = if slots.iter().any(|s| s.is_some()) {
        slots.iter().map(|s| s.as_ref()).collect()
    } else {
        // no slot properties: the collection, in slot order
        let list = c.email_addresses.as_deref().unwrap_or_default();
        (0..3).map(|i| list.get(i)).collect()
    };
    for ((slot, _), e) in EMAIL_SLOTS.iter().zip(by_slot) {
        let Some(e) = e else { continue };
        let address = e.address.as_deref().unwrap_or_default();
        if let Some(a) = canon::line(address) {
            put(&mut r, &email_field(slot), Some(a));
            put(
                &mut r,
                &email_name_field(slot),
                canon::email_name(e.name.as_deref().unwrap_or(""), address),
            );
        }
    }
    let first = |l: &Option<Vec<String>>| {
        l.as_ref()
            .and_then(|l| l.first())
            .and_then(|s| canon::line(s))
    };
    let props = c.single_value_extended_properties.as_deref();
    put(&mut r, &phone_field("business"), first(&c.business_phones));
    put(&mut r, &phone_field("home"), first(&c.home_phones));
    put(
        &mut r,
        &phone_field("mobile"),
        c.mobile_phone.as_deref().and_then(canon::line),
    );
    put(
        &mut r,
        &phone_field("fax"),
        extended::find(props, &business_fax_property()).and_then(canon::line),
    );
    put(
        &mut r,
        &phone_field("other"),
        extended::find(props, &other_phone_property()).and_then(canon::line),
    );
    for (slot, _) in ADDRESS_SLOTS {
        let a = match slot {
            "business" => c.business_address.as_ref(),
            "home" => c.home_address.as_ref(),
            _ => c.other_address.as_ref(),
        };
        if let Some(a) = a {
            for part in ADDRESS_PARTS {
                put(&mut r, &address_field(slot, part), address_part(a, part));
            }
        }
    }
    r
}

/// The Graph contact holding a [`Record`]'s mapped fields: the body of a POST (no id, no
/// correlation key; add that with `graph_client::extended::PropertyId::value`).
pub fn record_to_graph(r: &Record) -> Contact {
    let mut c = Contact::default();
    for (name, _) in TEXT_FIELDS {
        *text_mut(&mut c, name) = get_string(r, name);
    }
    c.birthday = r
        .get(fields::BIRTHDAY)
        .and_then(canon::parse_date)
        .map(birthday_instant);
    let cats = canon::string_list(r.get(fields::CATEGORIES));
    c.categories = (!cats.is_empty()).then_some(cats);
    for (slot, _) in EMAIL_SLOTS {
        if let Some(a) = get_string(r, &email_field(slot)) {
            *email_slot_mut(&mut c, slot) = Some(EmailAddress {
                name: get_string(r, &email_name_field(slot)),
                address: Some(a),
            });
        }
    }
    c.business_phones = get_string(r, &phone_field("business")).map(|n| vec![n]);
    c.home_phones = get_string(r, &phone_field("home")).map(|n| vec![n]);
    c.mobile_phone = get_string(r, &phone_field("mobile"));
    let mut props = Vec::new();
    if let Some(n) = get_str(r, &phone_field("fax")) {
        props.push(business_fax_property().value(n));
    }
    if let Some(n) = get_str(r, &phone_field("other")) {
        props.push(other_phone_property().value(n));
    }
    c.single_value_extended_properties = (!props.is_empty()).then_some(props);
    for (slot, _) in ADDRESS_SLOTS {
        if let Some(a) = address_of(r, slot) {
            *address_slot_mut(&mut c, slot) = Some(a);
        }
    }
    c
}

/// The address of a slot; `None` when the record has none of its parts.
fn address_of(r: &Record, slot: &str) -> Option<PhysicalAddress> {
    let mut a = PhysicalAddress::default();
    let mut any = false;
    for part in ADDRESS_PARTS {
        if let Some(v) = get_string(r, &address_field(slot, part)) {
            *address_part_mut(&mut a, part) = Some(v);
            any = true;
        }
    }
    any.then_some(a)
}

/// The PATCH body that turns the Graph contact of `old` into that of `new`: only the
/// changed properties; a cleared text as `""`, a cleared list as `[]`, a cleared birthday or
/// e-mail slot as `null`, a changed address as the whole address (cleared parts `""`), a
/// cleared fax or other phone as the extended property with value `""`.
pub fn patch(old: &Record, new: &Record) -> Value {
    let changed = |f: &str| old.get(f) != new.get(f);
    let mut m = Map::new();
    for (name, prop) in TEXT_FIELDS {
        if changed(name) {
            m.insert(
                prop.into(),
                get_string(new, name).unwrap_or_default().into(),
            );
        }
    }
    if changed(fields::BIRTHDAY) {
        let b = new
            .get(fields::BIRTHDAY)
            .and_then(canon::parse_date)
            .map(birthday_instant);
        m.insert("birthday".into(), b.map_or(Value::Null, |b| to_json(&b)));
    }
    if changed(fields::CATEGORIES) {
        m.insert(
            "categories".into(),
            canon::string_list(new.get(fields::CATEGORIES)).into(),
        );
    }
    for (slot, prop) in EMAIL_SLOTS {
        if changed(&email_field(slot)) || changed(&email_name_field(slot)) {
            let v = match get_string(new, &email_field(slot)) {
                Some(a) => to_json(&EmailAddress {
                    name: Some(get_string(new, &email_name_field(slot)).unwrap_or_default()),
                    address: Some(a),
                }),
                None => Value::Null,
            };
            m.insert(prop.into(), v);
        }
    }
    for (slot, prop) in [("business", "businessPhones"), ("home", "homePhones")] {
        if changed(&phone_field(slot)) {
            let list: Vec<String> = get_string(new, &phone_field(slot)).into_iter().collect();
            m.insert(prop.into(), list.into());
        }
    }
    if changed(&phone_field("mobile")) {
        m.insert(
            "mobilePhone".into(),
            get_string(new, &phone_field("mobile"))
                .unwrap_or_default()
                .into(),
        );
    }
    let mut props = Vec::new();
    for (slot, id) in [
        ("fax", business_fax_property()),
        ("other", other_phone_property()),
    ] {
        if changed(&phone_field(slot)) {
            props.push(id.value(get_string(new, &phone_field(slot)).unwrap_or_default()));
        }
    }
    if !props.is_empty() {
        m.insert("singleValueExtendedProperties".into(), to_json(&props));
    }
    for (slot, prop) in ADDRESS_SLOTS {
        if ADDRESS_PARTS
            .iter()
            .any(|p| changed(&address_field(slot, p)))
        {
            let mut a = address_of(new, slot).unwrap_or_default();
            for part in ADDRESS_PARTS {
                let p = address_part_mut(&mut a, part);
                if p.is_none() {
                    *p = Some(String::new());
                }
            }
            m.insert(prop.into(), to_json(&a));
        }
    }
    Value::Object(m)
}
