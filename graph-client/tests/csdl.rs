//! Every property our serde types serialize exists on the CSDL entity or complex type of that
//! name (following `BaseType`) with a compatible type, and every enum value exists: checked
//! against Microsoft's published Graph v1.0 metadata, `../shared/graph-metadata/v1.0-csdl.xml`
//! beside the workspace (`GRAPH_CSDL` overrides the path).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

use std::collections::HashMap;
use std::path::PathBuf;

use graph_client::calendar::{
    Attendee, AttendeeType, Calendar, Event, EventType, FreeBusyStatus, Location, ResponseStatus,
    ResponseType,
};
use graph_client::contacts::{Contact, ContactFolder};
use graph_client::mail::{
    AttachmentItem, AttachmentType, CreateUploadSession, FileAttachment, FollowupFlag,
    FollowupFlagStatus, MailFolder, Message, MoveTo, SendMail, UploadSession,
};
use graph_client::todo::{
    LinkedResource, OpenExtension, TaskStatus, TodoTask, TodoTaskList, WellknownListName,
};
use graph_client::translate::{
    ConvertIdResult, ExchangeIdFormat, GenericError, TranslateExchangeIds,
};
use graph_client::types::{
    BodyType, DateTimeTimeZone, DayOfWeek, EmailAddress, Importance, ItemBody, PatternedRecurrence,
    PhysicalAddress, Recipient, RecurrencePattern, RecurrencePatternType, RecurrenceRange,
    RecurrenceRangeType, Sensitivity, SingleValueExtendedProperty, WeekIndex,
};
use graph_client::users::User;
use graph_client::{Described, DescribedEnum};
use quick_xml::events::Event as XmlEvent;

#[derive(Default)]
struct StructType {
    base: Option<String>,
    properties: HashMap<String, String>,
}

#[derive(Default)]
struct Csdl {
    types: HashMap<String, StructType>,
    enums: HashMap<String, Vec<String>>,
    /// action name -> parameter names (every overload)
    actions: HashMap<String, Vec<Vec<String>>>,
}

fn qualify(name: &str) -> String {
    let normalize = |t: &str| match t.strip_prefix("graph.") {
        Some(rest) => format!("microsoft.graph.{rest}"),
        None => t.to_owned(),
    };
    match name
        .strip_prefix("Collection(")
        .and_then(|r| r.strip_suffix(')'))
    {
        Some(inner) => format!("Collection({})", normalize(inner)),
        None => normalize(name),
    }
}

fn csdl_path() -> PathBuf {
    if let Ok(p) = std::env::var("GRAPH_CSDL") {
        return PathBuf::from(p);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The workspace is the manifest's parent; `shared/` lies beside the workspace. A git
    // worktree may sit deeper, so the ancestors are searched too.
    for dir in manifest.ancestors().skip(1) {
        let candidate = dir.join("../shared/graph-metadata/v1.0-csdl.xml");
        if candidate.is_file() {
            return candidate;
        }
        let candidate = dir.join("shared/graph-metadata/v1.0-csdl.xml");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "Graph CSDL not found: expected ../shared/graph-metadata/v1.0-csdl.xml beside the workspace (or set GRAPH_CSDL)"
    );
}

fn load() -> Csdl {
    let path = csdl_path();
    let xml = std::fs::read_to_string(&path).expect("read CSDL");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut csdl = Csdl::default();
    let mut current_type: Option<String> = None;
    let mut current_enum: Option<String> = None;
    let mut current_action: Option<(String, Vec<String>)> = None;
    // Other schemas (callRecords, security, ...) reuse names such as `user`; only
    // `microsoft.graph` is ours.
    let mut in_graph_schema = false;
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
                    b"Action" => {
                        if let Some((name, params)) = current_action.take() {
                            csdl.actions.entry(name).or_default().push(params);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            XmlEvent::Eof => break,
            _ => continue,
        };
        if e.local_name().as_ref() == b"Schema" {
            in_graph_schema = attr(e, b"Namespace").as_deref() == Some("microsoft.graph");
            continue;
        }
        if !in_graph_schema {
            continue;
        }
        match e.local_name().as_ref() {
            b"EntityType" | b"ComplexType" => {
                let name = attr(e, b"Name").expect("type name");
                csdl.types.insert(
                    name.clone(),
                    StructType {
                        base: attr(e, b"BaseType")
                            .map(|b| b.trim_start_matches("graph.").to_owned()),
                        properties: HashMap::new(),
                    },
                );
                if !empty {
                    current_type = Some(name);
                }
            }
            b"Property" | b"NavigationProperty" => {
                if let (Some(t), Some(name), Some(ty)) =
                    (&current_type, attr(e, b"Name"), attr(e, b"Type"))
                    && let Some(entry) = csdl.types.get_mut(t)
                {
                    entry.properties.insert(name, qualify(&ty));
                }
            }
            b"EnumType" => {
                let name = attr(e, b"Name").expect("enum name");
                csdl.enums.insert(name.clone(), Vec::new());
                if !empty {
                    current_enum = Some(name);
                }
            }
            b"Member" => {
                if let (Some(en), Some(name)) = (&current_enum, attr(e, b"Name")) {
                    csdl.enums.entry(en.clone()).or_default().push(name);
                }
            }
            b"Action" if !empty => {
                current_action = Some((attr(e, b"Name").expect("action name"), Vec::new()));
            }
            b"Parameter" => {
                if let (Some((_, params)), Some(name)) = (&mut current_action, attr(e, b"Name")) {
                    params.push(name);
                }
            }
            _ => {}
        }
    }
    csdl
}

impl Csdl {
    /// The property's CSDL type on `type_name` or its bases.
    fn property(&self, type_name: &str, property: &str) -> Option<String> {
        let mut current = Some(type_name.to_owned());
        while let Some(name) = current {
            let t = self.types.get(&name)?;
            if let Some(ty) = t.properties.get(property) {
                return Some(ty.clone());
            }
            current = t.base.clone();
        }
        None
    }

    /// Whether `derived` is `base` or derives from it (both qualified, maybe collections).
    fn compatible(&self, ours: &str, theirs: &str) -> bool {
        if ours == theirs {
            return true;
        }
        let strip = |s: &str| {
            s.strip_prefix("Collection(")
                .and_then(|r| r.strip_suffix(')'))
                .map(str::to_owned)
        };
        match (strip(ours), strip(theirs)) {
            (Some(o), Some(t)) => return self.compatible(&o, &t),
            (None, None) => {}
            _ => return false,
        }
        let (Some(o), Some(t)) = (
            ours.strip_prefix("microsoft.graph."),
            theirs.strip_prefix("microsoft.graph."),
        ) else {
            return false;
        };
        let mut current = Some(o.to_owned());
        while let Some(name) = current {
            if name == t {
                return true;
            }
            current = self.types.get(&name).and_then(|ty| ty.base.clone());
        }
        false
    }

    fn check_struct<T: Described>(&self, problems: &mut Vec<String>) {
        let name = T::CSDL_NAME;
        if !self.types.contains_key(name) {
            problems.push(format!("type {name} is not in the CSDL"));
            return;
        }
        let properties = T::properties();
        assert!(!properties.is_empty(), "{name} declares no properties");
        for (property, ours) in properties {
            match self.property(name, property) {
                None => problems.push(format!("{name}.{property} does not exist")),
                Some(theirs) if !self.compatible(&ours, &theirs) => {
                    problems.push(format!("{name}.{property}: ours {ours}, CSDL {theirs}"))
                }
                Some(_) => {}
            }
        }
    }

    fn check_enum<T: DescribedEnum>(&self, problems: &mut Vec<String>) {
        let name = T::CSDL_NAME;
        let Some(members) = self.enums.get(name) else {
            problems.push(format!("enum {name} is not in the CSDL"));
            return;
        };
        for value in T::VALUES {
            if !members.iter().any(|m| m == value) {
                problems.push(format!("enum {name} has no value {value}"));
            }
        }
    }

    /// The top-level keys of an action body exist as parameters of the action (OData
    /// matches action parameter names case-insensitively; Microsoft's reference writes them
    /// in camelCase, the CSDL in PascalCase).
    fn check_action(&self, action: &str, body: serde_json::Value, problems: &mut Vec<String>) {
        let Some(overloads) = self.actions.get(action) else {
            problems.push(format!("action {action} is not in the CSDL"));
            return;
        };
        let keys: Vec<String> = body.as_object().expect("object").keys().cloned().collect();
        let ok = overloads.iter().any(|params| {
            keys.iter()
                .all(|k| params.iter().any(|p| p.eq_ignore_ascii_case(k)))
        });
        if !ok {
            problems.push(format!(
                "action {action}: body keys {keys:?} are not its parameters {overloads:?}"
            ));
        }
    }
}

macro_rules! structs {
    ($csdl:expr, $problems:expr, $($t:ty),* $(,)?) => {{ let mut n = 0; $( $csdl.check_struct::<$t>($problems); n += 1; )* n }};
}
macro_rules! enums {
    ($csdl:expr, $problems:expr, $($t:ty),* $(,)?) => {{ let mut n = 0; $( $csdl.check_enum::<$t>($problems); n += 1; )* n }};
}

#[test]
fn serde_types_match_the_graph_v1_metadata() {
    let csdl = load();
    assert!(
        csdl.types.len() > 1000,
        "CSDL parsed only {} types",
        csdl.types.len()
    );
    let mut problems = Vec::new();
    let structs = structs!(
        csdl,
        &mut problems,
        User,
        MailFolder,
        Message,
        FollowupFlag,
        FileAttachment,
        AttachmentItem,
        UploadSession,
        ContactFolder,
        Contact,
        Calendar,
        Event,
        Attendee,
        ResponseStatus,
        Location,
        TodoTaskList,
        TodoTask,
        LinkedResource,
        OpenExtension,
        ConvertIdResult,
        GenericError,
        ItemBody,
        EmailAddress,
        Recipient,
        DateTimeTimeZone,
        PhysicalAddress,
        SingleValueExtendedProperty,
        RecurrencePattern,
        RecurrenceRange,
        PatternedRecurrence,
    );
    let enums = enums!(
        csdl,
        &mut problems,
        BodyType,
        Importance,
        Sensitivity,
        DayOfWeek,
        WeekIndex,
        RecurrencePatternType,
        RecurrenceRangeType,
        FollowupFlagStatus,
        AttachmentType,
        EventType,
        FreeBusyStatus,
        AttendeeType,
        ResponseType,
        WellknownListName,
        TaskStatus,
        ExchangeIdFormat,
    );
    let json = |v: &dyn erased::Json| v.json();
    csdl.check_action(
        "translateExchangeIds",
        json(&TranslateExchangeIds {
            input_ids: vec!["x".into()],
            target_id_type: ExchangeIdFormat::RestImmutableEntryId,
            source_id_type: ExchangeIdFormat::EwsId,
        }),
        &mut problems,
    );
    csdl.check_action(
        "sendMail",
        json(&SendMail {
            message: Message::default(),
            save_to_sent_items: Some(true),
        }),
        &mut problems,
    );
    csdl.check_action(
        "move",
        json(&MoveTo {
            destination_id: "inbox".into(),
        }),
        &mut problems,
    );
    csdl.check_action(
        "createUploadSession",
        json(&CreateUploadSession {
            attachment_item: AttachmentItem::default(),
        }),
        &mut problems,
    );
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    println!("checked {structs} types and {enums} enums against the CSDL");
}

#[test]
fn the_check_catches_mistakes() {
    // A misspelt property, a wrong type and a missing enum value must be reported.
    graph_client_test_types::declare();
    let csdl = load();
    let mut problems = Vec::new();
    csdl.check_struct::<graph_client_test_types::Wrong>(&mut problems);
    csdl.check_enum::<graph_client_test_types::WrongEnum>(&mut problems);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("message.subjekt does not exist"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("message.isRead: ours Edm.String, CSDL Edm.Boolean"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("enum importance has no value urgent"))
    );
    // Derived types are compatible with their base (fileAttachment is an attachment).
    assert!(csdl.compatible(
        "Collection(microsoft.graph.fileAttachment)",
        "Collection(microsoft.graph.attachment)"
    ));
    assert!(!csdl.compatible(
        "microsoft.graph.attachment",
        "microsoft.graph.fileAttachment"
    ));
}

mod graph_client_test_types {
    use graph_client::{Described, DescribedEnum};

    pub fn declare() {}

    pub struct Wrong;
    impl Described for Wrong {
        const CSDL_NAME: &'static str = "message";
        fn properties() -> Vec<(&'static str, String)> {
            vec![
                ("subject", "Edm.String".into()),
                ("subjekt", "Edm.String".into()),
                ("isRead", "Edm.String".into()),
            ]
        }
    }

    pub struct WrongEnum;
    impl DescribedEnum for WrongEnum {
        const CSDL_NAME: &'static str = "importance";
        const VALUES: &'static [&'static str] = &["low", "urgent"];
    }
}

mod erased {
    pub trait Json {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("serializable")
        }
    }
}
