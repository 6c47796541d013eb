//! # conaktiv-model
//!
//! The CRM side's records (contact persons, appointments, tasks, mails) and the configuration
//! records of the product's admin screens (EWS servers, mail accounts, sync rules, batch tasks),
//! with validation and a TOML configuration file.
//!
//! ## Start here
//!
//! [`Configuration`] is the connector's configuration: [`Configuration::load`] reads, parses
//! and validates a TOML file, [`Configuration::from_toml_str`] does the same for a text.
//! Every problem names the file, the line and the field; secrets never appear in `Debug` or
//! in errors.
//!
//! ```
//! use conaktiv_model::{ConfigError, Configuration};
//!
//! let text = r#"
//! [[servers]]
//! name = "Exchange Büro"
//! url = "https://mail.agentur.example/EWS/Exchange.asmx"
//! kind = "on_premises"
//! admin_user = "AGENTUR\\exchange-admin"
//! admin_password = "example-password"
//! auth_scheme = "ntlm"
//!
//! [[rules]]
//! description = "Kontakte"
//! table = "contacts"
//! master = "conaktiv"
//! sync_folders = [{ path = "/Contacts", include_subfolders = true }]
//! to_exchange = { transfer_new = true, transfer_changed = true }
//! to_conaktiv = { transfer_new = true, transfer_changed = true }
//! "#;
//! // parsed and validated (Configuration::load("conaktiv.toml") does the same for a file)
//! let config = Configuration::from_toml_str(text, "conaktiv.toml")?;
//! assert_eq!(config.servers[0].name, "Exchange Büro");
//! assert_eq!(config.rules[0].description, "Kontakte");
//! assert!(config.validate().is_ok());
//! assert!(!format!("{config:?}").contains("example-password"));
//!
//! // a second server record of the same name: refused, with file, line and field
//! let twice = format!("{text}{}", &text[..text.find("[[rules]]").unwrap_or(0)]);
//! let err = Configuration::from_toml_str(&twice, "conaktiv.toml").unwrap_err();
//! assert!(matches!(err, ConfigError::Invalid { .. }));
//! let message = err.to_string();
//! assert!(message.contains("conaktiv.toml:"), "{message}");
//! assert!(message.contains("duplicate"), "{message}");
//! assert!(!message.contains("example-password"), "{message}");
//! # Ok::<(), ConfigError>(())
//! ```
//!
//! ## Contents
//!
//! Architecture invariant: this crate does no I/O beyond reading the one configuration file
//! it is asked to load ([`Configuration::load`]), and knows nothing of EWS, HTTP, SMTP/IMAP or
//! SQL. Other crates map these records to EWS items and run the sync.
//!
//! * CRM records: [`contact`], [`appointment`] (with [`recurrence`]), [`task`], [`mail`].
//! * Configuration: [`config`] ([`Configuration`], servers, accounts, rules, batch tasks, the
//!   TOML file) and [`validate`].
//! * Building blocks: [`ids`] (identifier newtypes), [`values`] (values validated when built:
//!   ports, intervals, e-mail addresses, https URLs, folder paths) and [`secret`].
#![warn(missing_docs)]

pub mod appointment;
pub mod config;
pub mod contact;
pub mod ids;
pub mod mail;
pub mod recurrence;
pub mod secret;
pub mod task;
pub mod validate;
pub mod values;

pub use appointment::Appointment;
pub use config::{ConfigError, Configuration};
pub use contact::ContactPerson;
pub use ids::{
    AppointmentId, ContactId, CustomerId, GroupName, InvoiceId, MailId, OfferId, ProjectId, TaskId,
    UserName,
};
pub use mail::Mail;
pub use secret::Secret;
pub use task::Task;
pub use validate::{FieldPath, ValidationError, ValidationErrorKind};
pub use values::{
    CertificateFingerprint, DistinguishedFolder, EmailAddress, FolderPath, HttpsUrl,
    IntervalMinutes, Percent, Port, Subfolders, ValueError,
};
