//! The Graph front's real answers (over HTTP) against Microsoft's published Graph v1.0
//! metadata, `../shared/graph-metadata/v1.0-csdl.xml` beside the workspace (`GRAPH_CSDL`
//! overrides the path): every property of every JSON object exists on its entity or complex
//! type (following `BaseType`, into nested complex types and collections) with a JSON value of a
//! compatible kind, and every enum value exists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use quick_xml::events::Event as XmlEvent;
use serde_json::{Value, json};

#[derive(Default)]
struct Csdl {
    /// type -> (base, property -> type)
    types: HashMap<String, (Option<String>, HashMap<String, String>)>,
    enums: HashMap<String, Vec<String>>,
}

fn csdl_path() -> PathBuf {
    if let Ok(p) = std::env::var("GRAPH_CSDL") {
        return PathBuf::from(p);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in manifest.ancestors().skip(1) {
        for candidate in [
            dir.join("../shared/graph-metadata/v1.0-csdl.xml"),
            dir.join("shared/graph-metadata/v1.0-csdl.xml"),
        ] {
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("Graph CSDL not found beside the workspace (or set GRAPH_CSDL)");
}

fn unqualify(t: &str) -> String {
    t.trim_start_matches("graph.")
        .trim_start_matches("microsoft.graph.")
        .to_owned()
}

fn load() -> Csdl {
    let xml = std::fs::read_to_string(csdl_path()).expect("read CSDL");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut csdl = Csdl::default();
    let mut current_type: Option<String> = None;
    let mut current_enum: Option<String> = None;
    let mut in_graph = false;
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &[u8]| -> Option<String> {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name)
            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
    };
    loop {
        let event = reader.read_event().expect("CSDL is XML");
        let (e, empty) = match &event {
            XmlEvent::Start(e) => (e, false),
            XmlEvent::Empty(e) => (e, true),
            XmlEvent::End(e) => {
                match e.local_name().as_ref() {
                    b"EntityType" | b"ComplexType" => current_type = None,
                    b"EnumType" => current_enum = None,
                    _ => {}
                }
                continue;
            }
            XmlEvent::Eof => break,
            _ => continue,
        };
        if e.local_name().as_ref() == b"Schema" {
            in_graph = attr(e, b"Namespace").as_deref() == Some("microsoft.graph");
            continue;
        }
        if !in_graph {
            continue;
        }
        match e.local_name().as_ref() {
            b"EntityType" | b"ComplexType" => {
                let name = attr(e, b"Name").unwrap();
                let base = attr(e, b"BaseType").map(|b| unqualify(&b));
                csdl.types.insert(name.clone(), (base, HashMap::new()));
                if !empty {
                    current_type = Some(name);
                }
            }
            b"Property" | b"NavigationProperty" => {
                if let (Some(t), Some(n), Some(ty)) =
                    (&current_type, attr(e, b"Name"), attr(e, b"Type"))
                {
                    csdl.types.get_mut(t).unwrap().1.insert(n, ty);
                }
            }
            b"EnumType" => {
                let name = attr(e, b"Name").unwrap();
                csdl.enums.insert(name.clone(), Vec::new());
                if !empty {
                    current_enum = Some(name);
                }
            }
            b"Member" => {
                if let (Some(en), Some(n)) = (&current_enum, attr(e, b"Name")) {
                    csdl.enums.get_mut(en).unwrap().push(n);
                }
            }
            _ => {}
        }
    }
    csdl
}

impl Csdl {
    fn property(&self, type_name: &str, property: &str) -> Option<String> {
        let mut current = Some(type_name.to_owned());
        while let Some(name) = current {
            let (base, props) = self.types.get(&name)?;
            if let Some(t) = props.get(property) {
                return Some(t.clone());
            }
            current = base.clone();
        }
        None
    }

    /// Checks `value` as an instance of CSDL type `ty`; problems go to `errors`.
    fn check_value(&self, value: &Value, ty: &str, at: &str, errors: &mut Vec<String>) {
        if value.is_null() {
            return;
        }
        if let Some(inner) = ty
            .strip_prefix("Collection(")
            .and_then(|r| r.strip_suffix(')'))
        {
            match value.as_array() {
                Some(items) => {
                    for (i, v) in items.iter().enumerate() {
                        self.check_value(v, inner, &format!("{at}[{i}]"), errors);
                    }
                }
                None => errors.push(format!("{at}: {ty} needs an array, got {value}")),
            }
            return;
        }
        let ok = match ty {
            "Edm.String" | "Edm.DateTimeOffset" | "Edm.Date" | "Edm.Binary" | "Edm.Guid"
            | "Edm.Duration" | "Edm.TimeOfDay" => value.is_string(),
            "Edm.Boolean" => value.is_boolean(),
            "Edm.Int32" | "Edm.Int64" | "Edm.Int16" | "Edm.Byte" => {
                value.is_i64() || value.is_u64()
            }
            "Edm.Double" | "Edm.Single" | "Edm.Decimal" => value.is_number(),
            other => {
                let name = unqualify(other);
                if let Some(members) = self.enums.get(&name) {
                    match value.as_str() {
                        Some(v) => {
                            if !members.iter().any(|m| m == v) {
                                errors.push(format!("{at}: {v} is no member of enum {name}"));
                            }
                        }
                        None => errors.push(format!("{at}: enum {name} needs a string")),
                    }
                    return;
                }
                if self.types.contains_key(&name) {
                    self.check_object(value, &name, at, errors);
                    return;
                }
                errors.push(format!("{at}: unknown CSDL type {other}"));
                return;
            }
        };
        if !ok {
            errors.push(format!("{at}: {value} is not a {ty}"));
        }
    }

    fn check_object(&self, value: &Value, type_name: &str, at: &str, errors: &mut Vec<String>) {
        let Some(obj) = value.as_object() else {
            errors.push(format!("{at}: {type_name} needs an object"));
            return;
        };
        for (key, v) in obj {
            if key == "@odata.type" {
                // the type annotation (attachments): it must name the checked type
                if v.as_str() != Some(format!("#microsoft.graph.{type_name}").as_str()) {
                    errors.push(format!("{at}: @odata.type {v} is not {type_name}"));
                }
                continue;
            }
            if key.starts_with('@') {
                // OData annotations: the etag, @removed of a delta entry
                if !matches!(key.as_str(), "@odata.etag" | "@removed" | "@odata.context") {
                    errors.push(format!("{at}: unexpected annotation {key}"));
                }
                continue;
            }
            match self.property(type_name, key) {
                Some(ty) => self.check_value(v, &ty, &format!("{at}.{key}"), errors),
                None => errors.push(format!("{at}: {type_name} has no property {key}")),
            }
        }
    }

    /// Checks a collection page: `value` entries of `type_name`, OData links as strings.
    fn check_page(&self, page: &Value, type_name: &str, what: &str, errors: &mut Vec<String>) {
        for (key, v) in page.as_object().unwrap() {
            match key.as_str() {
                "value" => {
                    for (i, item) in v.as_array().unwrap().iter().enumerate() {
                        self.check_object(item, type_name, &format!("{what}[{i}]"), errors);
                    }
                }
                "@odata.nextLink" | "@odata.deltaLink" | "@odata.context" => {
                    assert!(v.is_string(), "{what}: {key}")
                }
                other => errors.push(format!("{what}: unexpected {other}")),
            }
        }
    }
}

#[tokio::test]
async fn the_graph_fronts_answers_match_the_published_metadata() {
    let csdl = load();
    assert!(csdl.types.contains_key("contact") && csdl.enums.contains_key("exchangeIdFormat"));
    // the checker itself finds a wrong property, kind and enum value
    let mut probe = Vec::new();
    csdl.check_object(
        &json!({ "surname": 1, "nope": "x", "emailAddresses": [{ "adress": "a" }] }),
        "contact",
        "probe",
        &mut probe,
    );
    csdl.check_value(
        &json!("sometimes"),
        "graph.exchangeIdFormat",
        "probe",
        &mut probe,
    );
    assert_eq!(probe.len(), 4, "{probe:?}");
    let mock = common::start().await;
    let http = reqwest::Client::new();
    let token: Value = http
        .post(mock.token_url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=sync-app&client_secret=app-secret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let root = format!("{}/v1.0/users/bob@contoso.test", mock.base_url());
    let call = |method: reqwest::Method, url: String, body: Option<Value>| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let mut r = http.request(method, url).bearer_auth(token);
            if let Some(b) = body {
                r = r.json(&b);
            }
            let resp = r.send().await.unwrap();
            assert!(resp.status().is_success(), "{}", resp.status());
            resp.json::<Value>().await.unwrap()
        }
    };
    let prop = "String {00020329-0000-0000-C000-000000000046} Name ConAktivRecordId";
    let mut errors = Vec::new();

    let user = call(reqwest::Method::GET, root.clone(), None).await;
    csdl.check_object(&user, "user", "user", &mut errors);

    let folder = call(
        reqwest::Method::POST,
        format!("{root}/contactFolders"),
        Some(json!({ "displayName": "Kunden" })),
    )
    .await;
    csdl.check_object(&folder, "contactFolder", "contactFolder", &mut errors);

    let created = call(
        reqwest::Method::POST,
        format!("{root}/contacts"),
        Some(json!({
            "givenName": "Eva", "surname": "Klein", "displayName": "Eva Klein",
            "emailAddresses": [{ "address": "eva@example.org", "name": "Eva" }],
            "businessPhones": ["+49 30 1"], "homePhones": ["+49 30 2"], "mobilePhone": "+49 170 3",
            "businessAddress": { "street": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115",
                                 "countryOrRegion": "DE" },
            "imAddresses": ["eva@im"], "birthday": "1980-05-17T00:00:00Z",
            "personalNotes": "note", "categories": ["CRM"], "jobTitle": "CTO",
            "singleValueExtendedProperties": [{ "id": prop, "value": "rec-1" }],
        })),
    )
    .await;
    csdl.check_object(&created, "contact", "contact (create)", &mut errors);
    let id = created["id"].as_str().unwrap().to_owned();
    let updated = call(
        reqwest::Method::PATCH,
        format!("{root}/contacts/{id}"),
        Some(json!({ "department": "Sales" })),
    )
    .await;
    csdl.check_object(&updated, "contact", "contact (update)", &mut errors);

    let expand = format!("singleValueExtendedProperties($filter=id eq '{prop}')");
    let list = http
        .get(format!("{root}/contacts"))
        .query(&[("$expand", expand.as_str()), ("$top", "1")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(list["@odata.nextLink"].is_string());
    csdl.check_page(&list, "contact", "contacts", &mut errors);
    let folders = call(reqwest::Method::GET, format!("{root}/contactFolders"), None).await;
    csdl.check_page(&folders, "contactFolder", "contactFolders", &mut errors);
    let mail_folders = call(reqwest::Method::GET, format!("{root}/mailFolders"), None).await;
    assert!(!mail_folders["value"].as_array().unwrap().is_empty());
    csdl.check_page(&mail_folders, "mailFolder", "mailFolders", &mut errors);
    let draft = call(
        reqwest::Method::POST,
        format!("{root}/messages"),
        Some(
            json!({ "subject": "Hi", "body": { "contentType": "html", "content": "<p>x</p>" },
                     "toRecipients": [{ "emailAddress": { "address": "a@example.org" } }] }),
        ),
    )
    .await;
    csdl.check_object(&draft, "message", "message (create)", &mut errors);
    let drafts = call(
        reqwest::Method::GET,
        format!("{root}/mailFolders/drafts/messages"),
        None,
    )
    .await;
    csdl.check_page(&drafts, "message", "messages", &mut errors);

    // a delta round with an @removed entry
    let delta = call(reqwest::Method::GET, format!("{root}/contacts/delta"), None).await;
    let link = delta["@odata.deltaLink"].as_str().unwrap().to_owned();
    http.delete(format!("{root}/contacts/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let removed = call(reqwest::Method::GET, link, None).await;
    assert_eq!(removed["value"][0]["@removed"]["reason"], "deleted");
    csdl.check_page(&delta, "contact", "delta", &mut errors);
    csdl.check_page(&removed, "contact", "delta (removed)", &mut errors);

    let translated = call(
        reqwest::Method::POST,
        format!("{root}/translateExchangeIds"),
        Some(
            json!({ "inputIds": [folder["id"], "garbage"], "sourceIdType": "restImmutableEntryId",
                     "targetIdType": "ewsId" }),
        ),
    )
    .await;
    csdl.check_page(
        &translated,
        "convertIdResult",
        "translateExchangeIds",
        &mut errors,
    );
    assert!(translated["value"][1]["errorDetails"]["code"].is_string());

    // calendars and events: a series with an exception and a cancelled occurrence
    let calendars = call(reqwest::Method::GET, format!("{root}/calendars"), None).await;
    csdl.check_page(&calendars, "calendar", "calendars", &mut errors);
    let series = call(
        reqwest::Method::POST,
        format!("{root}/events"),
        Some(json!({
            "subject": "Jour fixe", "transactionId": "tx-1",
            "body": { "contentType": "text", "content": "agenda" },
            "start": { "dateTime": "2027-01-04T09:00:00", "timeZone": "UTC" },
            "end": { "dateTime": "2027-01-04T10:00:00", "timeZone": "UTC" },
            "location": { "displayName": "Raum 1" }, "showAs": "busy",
            "attendees": [{ "emailAddress": { "address": "alice@contoso.test" }, "type": "required" }],
            "recurrence": {
                "pattern": { "type": "weekly", "interval": 1, "daysOfWeek": ["monday"] },
                "range": { "type": "numbered", "startDate": "2027-01-04", "numberOfOccurrences": 4 }
            },
            "singleValueExtendedProperties": [{ "id": prop, "value": "rec-2" }],
        })),
    )
    .await;
    csdl.check_object(&series, "event", "event (create)", &mut errors);
    let sid = series["id"].as_str().unwrap().to_owned();
    let window = "startDateTime=2027-01-01T00:00:00Z&endDateTime=2027-02-01T00:00:00Z";
    let instances = call(
        reqwest::Method::GET,
        format!("{root}/events/{sid}/instances?{window}"),
        None,
    )
    .await;
    csdl.check_page(&instances, "event", "instances", &mut errors);
    let occ = instances["value"][1]["id"].as_str().unwrap().to_owned();
    let exception = call(
        reqwest::Method::PATCH,
        format!("{root}/events/{occ}"),
        Some(json!({ "subject": "Jour fixe (verschoben)" })),
    )
    .await;
    csdl.check_object(&exception, "event", "event (exception)", &mut errors);
    let cancel = instances["value"][2]["id"].as_str().unwrap().to_owned();
    http.delete(format!("{root}/events/{cancel}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let master = call(
        reqwest::Method::GET,
        format!("{root}/events/{sid}?$expand=exceptionOccurrences"),
        None,
    )
    .await;
    assert_eq!(master["exceptionOccurrences"].as_array().unwrap().len(), 1);
    csdl.check_object(&master, "event", "event (series master)", &mut errors);
    let view = call(
        reqwest::Method::GET,
        format!("{root}/calendarView?{window}"),
        None,
    )
    .await;
    assert_eq!(view["value"].as_array().unwrap().len(), 3);
    csdl.check_page(&view, "event", "calendarView", &mut errors);
    let view_delta = call(
        reqwest::Method::GET,
        format!("{root}/calendarView/delta?{window}"),
        None,
    )
    .await;
    csdl.check_page(&view_delta, "event", "calendarView/delta", &mut errors);

    // To Do: lists, a task with a linked resource, the list's delta
    let lists = call(reqwest::Method::GET, format!("{root}/todo/lists"), None).await;
    csdl.check_page(&lists, "todoTaskList", "todo/lists", &mut errors);
    let list = call(
        reqwest::Method::POST,
        format!("{root}/todo/lists"),
        Some(json!({ "displayName": "CRM" })),
    )
    .await;
    csdl.check_object(&list, "todoTaskList", "todoTaskList (create)", &mut errors);
    let lid = list["id"].as_str().unwrap().to_owned();
    let task = call(
        reqwest::Method::POST,
        format!("{root}/todo/lists/{lid}/tasks"),
        Some(json!({
            "title": "Angebot", "importance": "high", "categories": ["CRM"],
            "body": { "contentType": "text", "content": "anrufen" },
            "dueDateTime": { "dateTime": "2027-03-01T00:00:00", "timeZone": "UTC" },
            "linkedResources": [{ "applicationName": "ConAktiv", "displayName": "Vorgang 1",
                                  "externalId": "1", "webUrl": "https://crm.example.org/1" }],
        })),
    )
    .await;
    csdl.check_object(&task, "todoTask", "todoTask (create)", &mut errors);
    let tid = task["id"].as_str().unwrap().to_owned();
    let links = call(
        reqwest::Method::GET,
        format!("{root}/todo/lists/{lid}/tasks/{tid}/linkedResources"),
        None,
    )
    .await;
    assert_eq!(links["value"][0]["externalId"], "1");
    csdl.check_page(&links, "linkedResource", "linkedResources", &mut errors);
    let task_delta = call(
        reqwest::Method::GET,
        format!("{root}/todo/lists/{lid}/tasks/delta"),
        None,
    )
    .await;
    csdl.check_page(&task_delta, "todoTask", "tasks/delta", &mut errors);

    // attachments: one inline, an upload session
    let mid = draft["id"].as_str().unwrap().to_owned();
    let attachment = call(
        reqwest::Method::POST,
        format!("{root}/messages/{mid}/attachments"),
        Some(
            json!({ "@odata.type": "#microsoft.graph.fileAttachment", "name": "a.txt",
                     "contentType": "text/plain", "contentBytes": "aGFsbG8=" }),
        ),
    )
    .await;
    csdl.check_object(
        &attachment,
        "fileAttachment",
        "fileAttachment (add)",
        &mut errors,
    );
    let attachments = call(
        reqwest::Method::GET,
        format!("{root}/messages/{mid}/attachments"),
        None,
    )
    .await;
    assert_eq!(attachments["value"][0]["contentBytes"], "aGFsbG8=");
    csdl.check_page(&attachments, "fileAttachment", "attachments", &mut errors);
    let session = call(
        reqwest::Method::POST,
        format!("{root}/messages/{mid}/attachments/createUploadSession"),
        Some(
            json!({ "AttachmentItem": { "attachmentType": "file", "name": "big.bin",
                                         "size": 5000000 } }),
        ),
    )
    .await;
    csdl.check_object(&session, "uploadSession", "uploadSession", &mut errors);

    assert!(
        errors.is_empty(),
        "answers not in the metadata:\n{}",
        errors.join("\n")
    );
    mock.shutdown().await.unwrap();
}
