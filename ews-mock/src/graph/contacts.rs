//! Contact folders and contacts: CRUD, `If-Match`, `$select`/`$top`/`$filter`/`$expand`,
//! delta per folder with `@removed`, paging by `@odata.nextLink`, expired delta tokens (410).

use axum::http::{Method, StatusCode};
use ews_client::types::Item as EwsItem;
use ews_client::types::contact::{
    EmailAddressEntry, EmailAddressKey, ImAddressEntry, ImAddressKey, PhoneNumberEntry,
    PhoneNumberKey, PhysicalAddressEntry, PhysicalAddressKey,
};
use ews_client::types::{Body, BodyType};
use graph_client::contacts::{Contact, ContactFolder};
use graph_client::types::{EmailAddress, PhysicalAddress};

use super::common::{self, check_if_match, store_error};
use super::ids as gids;
use super::{Reply, Request, extended, parse_body};
use crate::ids::{IdKind, encode_change_key};
use crate::store::{ChangeKind, Mailbox, StoredItem};

type EwsContact = ews_client::types::Contact;

pub(crate) fn dispatch(req: &Request<'_>, path: &[&str]) -> Reply {
    let m = &req.method;
    match path {
        ["contactFolders"] if m == Method::GET => list_folders(req, None),
        ["contactFolders"] if m == Method::POST => create_folder(req, None),
        ["contactFolders", id] if m == Method::GET => get_folder(req, id),
        ["contactFolders", id, "childFolders"] if m == Method::GET => list_folders(req, Some(id)),
        ["contactFolders", id, "childFolders"] if m == Method::POST => create_folder(req, Some(id)),
        ["contactFolders", id, "contacts"] if m == Method::GET => list(req, Some(id)),
        ["contactFolders", id, "contacts"] if m == Method::POST => create(req, Some(id)),
        ["contactFolders", id, "contacts", "delta"] if m == Method::GET => delta(req, Some(id)),
        ["contacts", "delta"] if m == Method::GET => delta(req, None),
        ["contactFolders", _, "contacts", id] | ["contacts", id] => match m.as_str() {
            "GET" => get(req, id),
            "PATCH" => update(req, id),
            "DELETE" => delete(req, id),
            _ => Reply::method_not_allowed(),
        },
        ["contacts"] if m == Method::GET => list(req, None),
        ["contacts"] if m == Method::POST => create(req, None),
        _ => Reply::no_segment(),
    }
}

fn is_contact_folder(class: &str) -> bool {
    class.starts_with("IPF.Contact")
}

/// The folder key of a Graph contact folder id (`None`: the default Contacts folder).
fn folder_key(mb: &Mailbox, id: Option<&str>) -> Option<u64> {
    common::folder_of_kind(mb, id, "contacts", is_contact_folder)
}

fn folder_json(mb: &Mailbox, key: u64) -> Option<ContactFolder> {
    let f = mb.folders.get(&key)?;
    Some(ContactFolder {
        id: Some(gids::encode(IdKind::Folder, &mb.address, key)),
        display_name: Some(f.name.clone()),
        parent_folder_id: f
            .parent
            .map(|p| gids::encode(IdKind::Folder, &mb.address, p)),
        single_value_extended_properties: None,
    })
}

fn list_folders(req: &Request<'_>, parent: Option<&str>) -> Reply {
    let scope = |mb: &Mailbox| folder_key(mb, parent).map(Some).ok_or(());
    common::list_folders(req, scope, is_contact_folder, folder_json)
}

fn get_folder(req: &Request<'_>, id: &str) -> Reply {
    let find = |mb: &Mailbox| folder_key(mb, Some(id)).and_then(|k| folder_json(mb, k));
    common::get_folder(req, find, "folder")
}

fn create_folder(req: &Request<'_>, parent: Option<&str>) -> Reply {
    let name = match common::folder_name(req, |b: ContactFolder| b.display_name) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let kind = common::FolderKind {
        class: "IPF.Contact",
        json: folder_json,
        what: "folder",
        error: store_error,
    };
    common::create_folder(req, &name, |mb| folder_key(mb, parent), &kind)
}

// ---------------------------------------------------------------------------------------------
// EWS contact <-> Graph contact

fn phones(c: &EwsContact, keys: &[PhoneNumberKey]) -> Option<Vec<String>> {
    let v: Vec<String> = keys
        .iter()
        .filter_map(|k| c.phone_numbers.iter().find(|p| p.key == *k))
        .map(|p| p.number.clone())
        .collect();
    Some(v)
}

fn address(c: &EwsContact, key: PhysicalAddressKey) -> Option<PhysicalAddress> {
    c.physical_addresses
        .iter()
        .find(|a| a.key == key)
        .map(|a| PhysicalAddress {
            street: a.street.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            country_or_region: a.country_or_region.clone(),
            postal_code: a.postal_code.clone(),
        })
}

/// The Graph view of a stored contact; `None` if the item is no contact.
pub(crate) fn to_graph(
    graph: &super::GraphState,
    mb: &Mailbox,
    stored: &StoredItem,
    expand: Option<&[ews_client::types::paths::ExtendedFieldUri]>,
) -> Option<Contact> {
    let EwsItem::Contact(c) = &stored.item else {
        return None;
    };
    let change_key = encode_change_key(stored.key, stored.version);
    Some(Contact {
        etag: Some(gids::etag(&change_key)),
        id: Some(graph.item_id(&mb.address, stored.key)),
        change_key: Some(change_key),
        categories: Some(c.common.categories.clone()),
        created_date_time: Some(stored.created),
        last_modified_date_time: Some(stored.modified),
        parent_folder_id: Some(gids::encode(IdKind::Folder, &mb.address, stored.folder)),
        display_name: c.display_name.clone().or_else(|| c.common.subject.clone()),
        given_name: c.given_name.clone(),
        middle_name: c.middle_name.clone(),
        surname: c.surname.clone(),
        // `PidTagDisplayNamePrefix` (0x3A45), where EWS writes the title
        title: c.title().map(str::to_owned),
        generation: c.generation.clone(),
        initials: c.initials.clone(),
        nick_name: c.nickname.clone(),
        file_as: c.file_as.clone(),
        company_name: c.company_name.clone(),
        department: c.department.clone(),
        job_title: c.job_title.clone(),
        office_location: c.office_location.clone(),
        profession: c.profession.clone(),
        manager: c.manager.clone(),
        assistant_name: c.assistant_name.clone(),
        email_addresses: Some(
            [
                EmailAddressKey::EmailAddress1,
                EmailAddressKey::EmailAddress2,
                EmailAddressKey::EmailAddress3,
            ]
            .iter()
            .filter_map(|k| c.email_addresses.iter().find(|e| e.key == *k))
            .map(|e| EmailAddress {
                name: e.name.clone(),
                address: Some(e.address.clone()),
            })
            .collect(),
        ),
        primary_email_address: email_slot(c, EmailAddressKey::EmailAddress1),
        secondary_email_address: email_slot(c, EmailAddressKey::EmailAddress2),
        tertiary_email_address: email_slot(c, EmailAddressKey::EmailAddress3),
        business_phones: phones(
            c,
            &[
                PhoneNumberKey::BusinessPhone,
                PhoneNumberKey::BusinessPhone2,
            ],
        ),
        home_phones: phones(c, &[PhoneNumberKey::HomePhone, PhoneNumberKey::HomePhone2]),
        mobile_phone: c
            .phone_numbers
            .iter()
            .find(|p| p.key == PhoneNumberKey::MobilePhone)
            .map(|p| p.number.clone()),
        im_addresses: Some(c.im_addresses.iter().map(|a| a.address.clone()).collect()),
        business_home_page: c.business_home_page.clone(),
        business_address: address(c, PhysicalAddressKey::Business),
        home_address: address(c, PhysicalAddressKey::Home),
        other_address: address(c, PhysicalAddressKey::Other),
        birthday: c.birthday,
        personal_notes: c.common.body.as_ref().map(|b| b.content.clone()),
        spouse_name: c.spouse_name.clone(),
        single_value_extended_properties: expand
            .map(|w| {
                let mut props = extended::read(&c.common.extended_properties, w);
                props.extend(phone_properties(c, w));
                props
            })
            .filter(|v| !v.is_empty()),
    })
}

/// The phone numbers Graph has no property for, which it reads as MAPI properties:
/// `PidTagBusinessFaxNumber` (0x3A24) and `PidTagOtherTelephoneNumber` (0x3A1F).
const PHONE_TAGS: [(u16, PhoneNumberKey); 2] = [
    (0x3A24, PhoneNumberKey::BusinessFax),
    (0x3A1F, PhoneNumberKey::OtherTelephone),
];

fn phone_uri(tag: u16) -> ews_client::types::paths::ExtendedFieldUri {
    ews_client::types::paths::ExtendedFieldUri::tagged(
        format!("0x{tag:04X}"),
        ews_client::types::paths::MapiPropertyType::String,
    )
}

/// The `PHONE_TAGS` numbers of a contact that `wanted` names, as extended properties.
fn phone_properties(
    c: &EwsContact,
    wanted: &[ews_client::types::paths::ExtendedFieldUri],
) -> Vec<graph_client::types::SingleValueExtendedProperty> {
    PHONE_TAGS
        .iter()
        .filter(|(tag, _)| wanted.iter().any(|w| extended::same(w, &phone_uri(*tag))))
        .filter_map(|(tag, key)| {
            let number = c.phone_numbers.iter().find(|p| p.key == *key)?;
            Some(graph_client::types::SingleValueExtendedProperty {
                id: Some(format!("String 0x{tag:04x}")),
                value: Some(number.number.clone()),
            })
        })
        .collect()
}

fn email_slot(c: &EwsContact, key: EmailAddressKey) -> Option<EmailAddress> {
    c.email_addresses
        .iter()
        .find(|e| e.key == key)
        .map(|e| EmailAddress {
            name: e.name.clone(),
            address: Some(e.address.clone()),
        })
}

fn set_email_slot(c: &mut EwsContact, key: EmailAddressKey, e: Option<&EmailAddress>) {
    c.email_addresses.retain(|x| x.key != key);
    if let Some(address) = e
        .and_then(|e| e.address.clone())
        .filter(|a| !a.trim().is_empty())
    {
        let mut entry = EmailAddressEntry::new(key, address);
        entry.name = e.and_then(|e| e.name.clone()).filter(|n| !n.is_empty());
        c.email_addresses.push(entry);
        c.email_addresses.sort_by_key(|x| x.key.as_str().to_owned());
    }
}

/// Clears what a PATCH body sets to `null` (Graph's way of removing a value).
pub(crate) fn clear_nulls(body: &[u8], c: &mut EwsContact) {
    for k in common::nulled(body) {
        match k.as_str() {
            "birthday" => c.birthday = None,
            "primaryEmailAddress" => set_email_slot(c, EmailAddressKey::EmailAddress1, None),
            "secondaryEmailAddress" => set_email_slot(c, EmailAddressKey::EmailAddress2, None),
            "tertiaryEmailAddress" => set_email_slot(c, EmailAddressKey::EmailAddress3, None),
            "businessAddress" => c
                .physical_addresses
                .retain(|a| a.key != PhysicalAddressKey::Business),
            "homeAddress" => c
                .physical_addresses
                .retain(|a| a.key != PhysicalAddressKey::Home),
            "otherAddress" => c
                .physical_addresses
                .retain(|a| a.key != PhysicalAddressKey::Other),
            "title" => c.set_title(None),
            "generation" => c.generation = None,
            "personalNotes" => c.common.body = None,
            "mobilePhone" => c
                .phone_numbers
                .retain(|p| p.key != PhoneNumberKey::MobilePhone),
            _ => {}
        }
    }
}

fn set_phones(c: &mut EwsContact, keys: &[PhoneNumberKey], numbers: &[String]) {
    c.phone_numbers.retain(|p| !keys.contains(&p.key));
    for (k, n) in keys.iter().zip(numbers) {
        c.phone_numbers.push(PhoneNumberEntry::new(*k, n.clone()));
    }
}

fn set_address(c: &mut EwsContact, key: PhysicalAddressKey, a: &PhysicalAddress) {
    c.physical_addresses.retain(|p| p.key != key);
    let entry = PhysicalAddressEntry {
        street: a.street.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        country_or_region: a.country_or_region.clone(),
        postal_code: a.postal_code.clone(),
        ..PhysicalAddressEntry::new(key)
    };
    if entry != PhysicalAddressEntry::new(key) {
        c.physical_addresses.push(entry);
    }
}

/// Applies the properties present in a Graph contact (create body or patch) to an EWS one.
pub(crate) fn apply(g: &Contact, c: &mut EwsContact) -> Result<(), String> {
    macro_rules! copy {
        ($($from:ident => $to:ident),* $(,)?) => {
            $( if let Some(v) = &g.$from { c.$to = Some(v.clone()); } )*
        };
    }
    copy!(
        generation => generation,
        given_name => given_name,
        middle_name => middle_name,
        surname => surname,
        initials => initials,
        nick_name => nickname,
        file_as => file_as,
        company_name => company_name,
        department => department,
        job_title => job_title,
        office_location => office_location,
        profession => profession,
        manager => manager,
        assistant_name => assistant_name,
        business_home_page => business_home_page,
        spouse_name => spouse_name,
    );
    if let Some(t) = &g.title {
        c.set_title(Some(t.as_str()).filter(|t| !t.is_empty()));
    }
    for (e, key) in [
        (&g.primary_email_address, EmailAddressKey::EmailAddress1),
        (&g.secondary_email_address, EmailAddressKey::EmailAddress2),
        (&g.tertiary_email_address, EmailAddressKey::EmailAddress3),
    ] {
        if let Some(e) = e {
            set_email_slot(c, key, Some(e));
        }
    }
    if let Some(name) = &g.display_name {
        c.display_name = Some(name.clone());
        c.common.subject = Some(name.clone());
    }
    if let Some(b) = g.birthday {
        c.birthday = Some(b);
    }
    if let Some(cats) = &g.categories {
        c.common.categories = cats.clone();
    }
    if let Some(list) = &g.email_addresses {
        if list.len() > 3 {
            return Err("A contact has at most 3 email addresses.".to_string());
        }
        c.email_addresses = list
            .iter()
            .zip([
                EmailAddressKey::EmailAddress1,
                EmailAddressKey::EmailAddress2,
                EmailAddressKey::EmailAddress3,
            ])
            .filter_map(|(e, k)| {
                let mut entry = EmailAddressEntry::new(k, e.address.clone()?);
                entry.name = e.name.clone();
                Some(entry)
            })
            .collect();
    }
    if let Some(p) = &g.business_phones {
        set_phones(
            c,
            &[
                PhoneNumberKey::BusinessPhone,
                PhoneNumberKey::BusinessPhone2,
            ],
            p,
        );
    }
    if let Some(p) = &g.home_phones {
        set_phones(
            c,
            &[PhoneNumberKey::HomePhone, PhoneNumberKey::HomePhone2],
            p,
        );
    }
    if let Some(m) = &g.mobile_phone {
        set_phones(c, &[PhoneNumberKey::MobilePhone], std::slice::from_ref(m));
    }
    if let Some(im) = &g.im_addresses {
        c.im_addresses = im
            .iter()
            .zip([
                ImAddressKey::ImAddress1,
                ImAddressKey::ImAddress2,
                ImAddressKey::ImAddress3,
            ])
            .map(|(a, key)| ImAddressEntry {
                key,
                address: a.clone(),
            })
            .collect();
    }
    for (a, key) in [
        (&g.business_address, PhysicalAddressKey::Business),
        (&g.home_address, PhysicalAddressKey::Home),
        (&g.other_address, PhysicalAddressKey::Other),
    ] {
        if let Some(a) = a {
            set_address(c, key, a);
        }
    }
    if let Some(notes) = &g.personal_notes {
        c.common.body = Some(Body {
            body_type: BodyType::Text,
            content: notes.clone(),
            is_truncated: None,
        });
    }
    if let Some(props) = &g.single_value_extended_properties {
        let mut rest = Vec::new();
        for p in props {
            let uri = p.id.as_deref().and_then(extended::parse_id);
            let phone = PHONE_TAGS.iter().find(|(tag, _)| {
                uri.as_ref()
                    .is_some_and(|u| extended::same(u, &phone_uri(*tag)))
            });
            match phone {
                Some((_, key)) => {
                    let number = p.value.clone().unwrap_or_default();
                    let numbers: Vec<String> =
                        (!number.is_empty()).then_some(number).into_iter().collect();
                    set_phones(c, &[*key], &numbers);
                }
                None => rest.push(p.clone()),
            }
        }
        extended::write(&mut c.common.extended_properties, &rest)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// $select

/// The contact as JSON with only the `$select`ed properties (and `id`, `@odata.etag`).
fn select_json(contact: &Contact, select: Option<&str>) -> serde_json::Value {
    let mut value = serde_json::to_value(contact).unwrap_or_default();
    if let (Some(select), Some(obj)) = (select, value.as_object_mut()) {
        let keep: Vec<&str> = select.split(',').map(str::trim).collect();
        obj.retain(|k, _| {
            k == "id"
                || k == "@odata.etag"
                || k == "singleValueExtendedProperties"
                || keep.iter().any(|s| s.eq_ignore_ascii_case(k))
        });
    }
    value
}

fn expand_of(
    req: &Request<'_>,
) -> Result<Option<Vec<ews_client::types::paths::ExtendedFieldUri>>, Reply> {
    extended::parse_expand(req.param("$expand")).map_err(|e| Reply::bad_request(&e))
}

// ---------------------------------------------------------------------------------------------
// contacts

fn contact_key(graph: &super::GraphState, mb: &Mailbox, id: &str) -> Option<u64> {
    let key = graph.item_key(&mb.address, id)?;
    mb.items
        .get(&key)
        .filter(|s| matches!(s.item, EwsItem::Contact(_)))
        .map(|s| s.key)
}

fn list(req: &Request<'_>, folder: Option<&str>) -> Reply {
    let expand = match expand_of(req) {
        Ok(e) => e,
        Err(r) => return r,
    };
    enum Filter {
        Extended(ews_client::types::paths::ExtendedFieldUri, String),
        Field(String, String),
    }
    let filter = match req.param("$filter") {
        None => None,
        Some(f) => match extended::parse_filter(f) {
            Ok(Some((uri, value))) => Some(Filter::Extended(uri, value)),
            Ok(None) => {
                // `property eq 'value'` on a string property
                let parsed = f.split_once(" eq ").and_then(|(p, v)| {
                    let v = v.trim().strip_prefix('\'')?.strip_suffix('\'')?;
                    Some((p.trim().to_string(), v.replace("''", "'")))
                });
                match parsed {
                    Some((p, v)) => Some(Filter::Field(p, v)),
                    None => return Reply::bad_request(&format!("unsupported $filter '{f}'")),
                }
            }
            Err(e) => return Reply::bad_request(&e),
        },
    };
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(fkey) = folder_key(mb, folder) else {
        return Reply::not_found("folder");
    };
    let Some(f) = mb.folders.get(&fkey) else {
        return Reply::not_found("folder");
    };
    let mut matching: Vec<Contact> = Vec::new();
    for key in &f.items {
        let Some(stored) = mb.items.get(key) else {
            continue;
        };
        if let (Some(Filter::Extended(uri, value)), EwsItem::Contact(c)) = (&filter, &stored.item)
            && !extended::matches(&c.common.extended_properties, uri, value)
        {
            continue;
        }
        let Some(contact) = to_graph(&req.shared.graph, mb, stored, expand.as_deref()) else {
            continue;
        };
        if let Some(Filter::Field(p, v)) = &filter {
            let json = serde_json::to_value(&contact).unwrap_or_default();
            if json.get(p).and_then(|x| x.as_str()) != Some(v.as_str()) {
                continue;
            }
        }
        matching.push(contact);
    }
    common::paged_map(req, matching, 10, |c| select_json(&c, req.param("$select")))
}

fn get(req: &Request<'_>, id: &str) -> Reply {
    let expand = match expand_of(req) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let store = req.shared.read();
    let Some(mb) = store.mailbox(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let contact = contact_key(&req.shared.graph, mb, id)
        .and_then(|k| mb.items.get(&k))
        .and_then(|s| to_graph(&req.shared.graph, mb, s, expand.as_deref()));
    match contact {
        Some(c) => Reply::json(StatusCode::OK, &select_json(&c, req.param("$select"))),
        None => Reply::not_found("contact"),
    }
}

/// The extended properties a write body names, to return them in the answer as Graph does.
fn written_props(body: &Contact) -> Vec<ews_client::types::paths::ExtendedFieldUri> {
    body.single_value_extended_properties
        .iter()
        .flatten()
        .filter_map(|p| p.id.as_deref().and_then(extended::parse_id))
        .collect()
}

fn create(req: &Request<'_>, folder: Option<&str>) -> Reply {
    let body: Contact = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut contact = EwsContact::default();
    contact.common.item_class = Some("IPM.Contact".to_string());
    if let Err(e) = apply(&body, &mut contact) {
        return Reply::bad_request(&e);
    }
    let wanted = written_props(&body);
    common::create_item(
        req,
        |mb| folder_key(mb, folder),
        "folder",
        EwsItem::Contact(contact),
        "contact",
        store_error,
        |mb, s| to_graph(&req.shared.graph, mb, s, Some(&wanted)),
    )
}

fn update(req: &Request<'_>, id: &str) -> Reply {
    let body: Contact = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(key) = contact_key(&req.shared.graph, mb, id) else {
        return Reply::not_found("contact");
    };
    let Some(stored) = mb.items.get(&key) else {
        return Reply::not_found("contact");
    };
    let expected = match check_if_match(stored, req.if_match()) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let change = |item: &mut EwsItem| match item {
        EwsItem::Contact(c) => {
            let applied = apply(&body, c);
            clear_nulls(req.body, c);
            applied
        }
        _ => Ok(()),
    };
    if let Err(r) = common::change_item(mb, key, expected, store_error, change) {
        return r;
    }
    let wanted = written_props(&body);
    common::item_reply(mb, key, StatusCode::OK, "contact", |s| {
        to_graph(&req.shared.graph, mb, s, Some(&wanted))
    })
}

fn delete(req: &Request<'_>, id: &str) -> Reply {
    let mut store = req.shared.write();
    let Some(mb) = store.mailbox_mut(&req.mailbox) else {
        return Reply::not_found("mailbox");
    };
    let Some(key) = contact_key(&req.shared.graph, mb, id) else {
        return Reply::not_found("contact");
    };
    if let Some(stored) = mb.items.get(&key)
        && let Err(r) = check_if_match(stored, req.if_match())
    {
        return r;
    }
    match mb.delete_item(key) {
        Ok(_) => Reply::empty(StatusCode::NO_CONTENT),
        Err(e) => store_error(e),
    }
}

/// `contacts/delta` of a folder: `$deltatoken` (a finished round) or `$skiptoken` (the next
/// page) carry the journal position.
fn delta(req: &Request<'_>, folder: Option<&str>) -> Reply {
    let select = req.param("$select");
    let query: Vec<(&str, &str)> = select.map(|s| ("$select", s)).into_iter().collect();
    let graph = &req.shared.graph;
    common::item_delta(
        req,
        |mb| folder_key(mb, folder),
        "folder",
        store_error,
        &query,
        |mb, change, value| {
            let id = graph.item_id(&mb.address, change.key);
            value.push(match change.kind {
                ChangeKind::Delete => {
                    serde_json::to_value(common::removed::<Contact>(id)).unwrap_or_default()
                }
                _ => match mb
                    .items
                    .get(&change.key)
                    .and_then(|s| to_graph(graph, mb, s, None))
                {
                    Some(c) => select_json(&c, select),
                    None => return,
                },
            });
        },
    )
}
