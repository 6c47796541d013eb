#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Rule resolution and configuration-time conflicts, data-driven from TOML rule sets.

use conaktiv_exchange::host::DirectoryUser;
use conaktiv_exchange::rules::{RuleProblem, assignments, check_rules, resolve};
use conaktiv_model::Configuration;
use conaktiv_model::config::{SyncRule, SyncTable};

fn rules(toml: &str) -> Vec<SyncRule> {
    Configuration::parse_toml_str(toml, "rules.toml")
        .unwrap()
        .rules
}

fn rule(description: &str, table: &str, validity: &str, folder: &str) -> String {
    let (validity, name) = match validity.split_once(':') {
        Some((v, n)) => (v, format!("validity_name = {n:?}\n")),
        None => (validity, String::new()),
    };
    format!(
        "[[rules]]\ndescription = {description:?}\ntable = {table:?}\nmaster = \"conaktiv\"\nvalidity = {validity:?}\n{name}sync_folders = [{{ path = {folder:?} }}]\n"
    )
}

fn user(name: &str, groups: &[&str]) -> DirectoryUser {
    DirectoryUser {
        name: name.into(),
        display_name: name.into(),
        mailbox: Some(format!("{name}@agentur.example")),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        mail_accounts: vec![],
        active: true,
    }
}

fn directory() -> Vec<DirectoryUser> {
    vec![
        user("anna", &["Vertrieb"]),
        user("bert", &["Vertrieb", "Technik"]),
        user("carl", &[]),
        user("dora", &["Technik"]),
    ]
}

#[test]
fn user_rule_beats_group_rule_beats_all_users_rule() {
    let set = rules(
        &[
            rule("Alle", "contacts", "all_users", "/Contacts"),
            rule(
                "Vertrieb",
                "contacts",
                "group:vertrieb",
                "/Contacts/Vertrieb",
            ),
            rule("Anna", "contacts", "user:Anna", "/Contacts/Anna"),
            rule(
                "Technik Termine",
                "appointments",
                "group:Technik",
                "/Calendar",
            ),
        ]
        .concat(),
    );
    let cases: &[(&str, SyncTable, Option<&str>)] = &[
        ("anna", SyncTable::Contacts, Some("Anna")),
        ("bert", SyncTable::Contacts, Some("Vertrieb")),
        ("carl", SyncTable::Contacts, Some("Alle")),
        ("dora", SyncTable::Contacts, Some("Alle")),
        ("anna", SyncTable::Appointments, None),
        ("bert", SyncTable::Appointments, Some("Technik Termine")),
        ("dora", SyncTable::Appointments, Some("Technik Termine")),
        ("carl", SyncTable::Tasks, None),
    ];
    let users = directory();
    for (name, table, expected) in cases {
        let u = users.iter().find(|u| u.name == *name).unwrap();
        let got = resolve(&set, *table, u)
            .unwrap()
            .map(|r| r.description.as_str());
        assert_eq!(got, *expected, "{name} {table:?}");
    }
    let problems = check_rules(&set, &users);
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn conflicts_are_reported_with_the_rules_named() {
    struct Case {
        what: &'static str,
        rules: Vec<String>,
        expected: Vec<RuleProblem>,
    }
    let cases = vec![
        Case {
            what: "two all-users rules for one table",
            rules: vec![
                rule("K1", "contacts", "all_users", "/Contacts"),
                rule("K2", "contacts", "all_users", "/Contacts/Other"),
            ],
            expected: vec![RuleProblem::DuplicateTarget {
                rule: "K2".into(),
                other: "K1".into(),
                target: "all users".into(),
                table: "contacts",
            }],
        },
        Case {
            what: "two rules for one user, names differ in case only",
            rules: vec![
                rule("A1", "tasks", "user:anna", "/Tasks"),
                rule("A2", "tasks", "user:ANNA", "/Tasks"),
            ],
            expected: vec![RuleProblem::DuplicateTarget {
                rule: "A2".into(),
                other: "A1".into(),
                target: "user anna".into(),
                table: "tasks",
            }],
        },
        Case {
            what: "bert is in two groups with contact rules",
            rules: vec![
                rule("V", "contacts", "group:Vertrieb", "/Contacts"),
                rule("T", "contacts", "group:Technik", "/Contacts"),
            ],
            expected: vec![RuleProblem::AmbiguousGroups {
                user: "bert".into(),
                table: "contacts",
                rules: vec!["V".into(), "T".into()],
                groups: vec!["Vertrieb".into(), "Technik".into()],
            }],
        },
        Case {
            what: "a contacts rule and a mail rule on one folder tree",
            rules: vec![
                rule("Mail", "email", "all_users", "/Inbox"),
                rule("Kontakte", "contacts", "user:carl", "/Inbox"),
            ],
            expected: vec![RuleProblem::FolderOverlap {
                rules: ["Mail".into(), "Kontakte".into()],
                tables: ["email", "contacts"],
                folder: "/Inbox".into(),
                user: "carl".into(),
            }],
        },
        Case {
            what: "unknown user and empty group are warnings",
            rules: vec![
                rule("Z", "tasks", "user:zora", "/Tasks"),
                rule("E", "contacts", "group:Einkauf", "/Contacts"),
            ],
            expected: vec![
                RuleProblem::UnknownUser {
                    rule: "Z".into(),
                    user: "zora".into(),
                },
                RuleProblem::EmptyGroup {
                    rule: "E".into(),
                    group: "Einkauf".into(),
                },
            ],
        },
    ];
    let users = directory();
    for case in cases {
        let set = rules(&case.rules.concat());
        let problems = check_rules(&set, &users);
        assert_eq!(problems, case.expected, "{}", case.what);
    }
}

#[test]
fn bert_with_his_own_rule_is_not_ambiguous() {
    let set = rules(
        &[
            rule("V", "contacts", "group:Vertrieb", "/Contacts"),
            rule("T", "contacts", "group:Technik", "/Contacts"),
            rule("B", "contacts", "user:bert", "/Contacts"),
        ]
        .concat(),
    );
    assert!(check_rules(&set, &directory()).is_empty());
    let bert = user("bert", &["Vertrieb", "Technik"]);
    assert_eq!(
        resolve(&set, SyncTable::Contacts, &bert)
            .unwrap()
            .unwrap()
            .description,
        "B"
    );
}

#[test]
fn an_invalid_filter_names_its_rule() {
    let text = format!(
        "{}filter = \"company = 'x\"\n",
        rule("Kaputt", "contacts", "all_users", "/Contacts")
    );
    let set = rules(&text);
    let problems = check_rules(&set, &directory());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].is_error());
    assert_eq!(problems[0].rules(), ["Kaputt"]);
    assert!(problems[0].to_string().contains("Kaputt"));
    assert!(problems[0].to_string().contains("closing quote"));
}

#[test]
fn a_filter_that_created_records_cannot_match_is_a_warning_naming_its_rule() {
    // (filter, warned?)
    let cases = [
        ("#Exchange AND company = 'Kunde'", false),
        ("", false),
        ("company != 'Kunde'", true),
        ("#A OR #B", true),
    ];
    for (filter, warned) in cases {
        let text = format!(
            "{}filter = \"{filter}\"\n",
            rule("Gefiltert", "contacts", "all_users", "/Contacts")
        );
        let problems = check_rules(&rules(&text), &directory());
        if warned {
            assert_eq!(problems.len(), 1, "{filter}: {problems:?}");
            assert!(
                !problems[0].is_error(),
                "{filter}: a warning, nothing is lost"
            );
            assert_eq!(problems[0].rules(), ["Gefiltert"]);
            assert!(problems[0].to_string().contains("cannot be made to match"));
        } else {
            assert!(problems.is_empty(), "{filter}: {problems:?}");
        }
    }
}

#[test]
fn assignments_cover_active_users_with_mailboxes_and_skip_ambiguous_ones() {
    let set = rules(
        &[
            rule("Alle Kontakte", "contacts", "all_users", "/Contacts"),
            rule("V Aufgaben", "tasks", "group:Vertrieb", "/Tasks"),
            rule("T Aufgaben", "tasks", "group:Technik", "/Tasks"),
        ]
        .concat(),
    );
    let mut users = directory();
    users.push(DirectoryUser {
        active: false,
        ..user("emil", &[])
    });
    users.push(DirectoryUser {
        mailbox: None,
        ..user("fritz", &[])
    });
    let (jobs, problems) = assignments(&set, &users);
    let got: Vec<String> = jobs.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "anna <anna@agentur.example> contacts: rule \"Alle Kontakte\"",
            "anna <anna@agentur.example> tasks: rule \"V Aufgaben\"",
            "bert <bert@agentur.example> contacts: rule \"Alle Kontakte\"",
            "carl <carl@agentur.example> contacts: rule \"Alle Kontakte\"",
            "dora <dora@agentur.example> contacts: rule \"Alle Kontakte\"",
            "dora <dora@agentur.example> tasks: rule \"T Aufgaben\"",
        ]
    );
    assert_eq!(problems.len(), 1);
    assert!(matches!(&problems[0], RuleProblem::AmbiguousGroups { user, .. } if user == "bert"));
}
