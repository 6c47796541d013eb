//! Contact persons ("Ansprechpartner") of ConAktiv customers.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, CustomerId};

/// The parts of a person's name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonName {
    /// Title or salutation ("Dr.", "Prof.").
    pub title: String,
    /// Given name ("Anna").
    pub given_name: String,
    /// Middle name.
    pub middle_name: String,
    /// Surname ("Schmidt").
    pub surname: String,
    /// Suffix ("jun.").
    pub suffix: String,
    /// Nickname.
    pub nickname: String,
}

/// What kind of e-mail address a contact has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// The business address.
    #[default]
    Business,
    /// A private address.
    Private,
    /// Any other address.
    Other,
}

/// One of a contact's e-mail addresses.
///
/// The address is kept as text: addresses that arrive from Exchange (for example an
/// Exchange-internal `EX` address) must not be rejected and lost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEmail {
    /// Kind of address.
    pub kind: EmailKind,
    /// The address, for example `anna.schmidt@kunde.example`.
    pub address: String,
    /// The name shown with the address, if any.
    #[serde(default)]
    pub display_name: String,
}

/// What kind of phone number a contact has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    /// Business phone.
    #[default]
    Business,
    /// Home phone.
    Home,
    /// Mobile phone.
    Mobile,
    /// Fax (business).
    Fax,
    /// Any other number.
    Other,
}

/// One of a contact's phone numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// Kind of number.
    pub kind: PhoneKind,
    /// The number as entered, for example `+49 30 1234567`.
    pub number: String,
}

/// What kind of postal address a contact has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// Business address.
    #[default]
    Business,
    /// Home address.
    Home,
    /// Any other address.
    Other,
}

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostalAddress {
    /// Kind of address.
    pub kind: AddressKind,
    /// Street and house number (may span lines).
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// State or region.
    pub state: String,
    /// Country.
    pub country: String,
}

impl PostalAddress {
    /// Whether every field except the kind is empty.
    pub fn is_empty(&self) -> bool {
        [
            &self.street,
            &self.postal_code,
            &self.city,
            &self.state,
            &self.country,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

/// A contact person of a customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactPerson {
    /// ConAktiv key; `None` for a contact not yet stored in ConAktiv.
    pub id: Option<ContactId>,
    /// The customer the person belongs to.
    pub customer: Option<CustomerId>,
    /// Name parts.
    pub name: PersonName,
    /// Display name ("Schmidt, Anna"); empty means "derive from the name parts".
    pub display_name: String,
    /// Company name.
    pub company: String,
    /// Department.
    pub department: String,
    /// Job title.
    pub job_title: String,
    /// E-mail addresses, in order of preference.
    pub emails: Vec<ContactEmail>,
    /// Phone numbers.
    pub phones: Vec<PhoneNumber>,
    /// Postal addresses.
    pub addresses: Vec<PostalAddress>,
    /// Birthday.
    pub birthday: Option<NaiveDate>,
    /// Free-text notes.
    pub notes: String,
    /// Categories (keywords).
    pub categories: Vec<String>,
}

impl ContactPerson {
    /// The display name, or "given surname" built from the name parts when it is empty.
    pub fn effective_display_name(&self) -> String {
        if !self.display_name.trim().is_empty() {
            return self.display_name.clone();
        }
        [
            self.name.title.as_str(),
            self.name.given_name.as_str(),
            self.name.middle_name.as_str(),
            self.name.surname.as_str(),
            self.name.suffix.as_str(),
        ]
        .iter()
        .filter(|s| !s.trim().is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// The first e-mail address of the given kind.
    pub fn email(&self, kind: EmailKind) -> Option<&ContactEmail> {
        self.emails.iter().find(|e| e.kind == kind)
    }

    /// The first phone number of the given kind.
    pub fn phone(&self, kind: PhoneKind) -> Option<&PhoneNumber> {
        self.phones.iter().find(|p| p.kind == kind)
    }

    /// The first postal address of the given kind.
    pub fn address(&self, kind: AddressKind) -> Option<&PostalAddress> {
        self.addresses.iter().find(|a| a.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_falls_back_to_name_parts() {
        let mut c = ContactPerson {
            name: PersonName {
                title: "Dr.".into(),
                given_name: "Anna".into(),
                surname: "Schmidt".into(),
                ..PersonName::default()
            },
            ..ContactPerson::default()
        };
        assert_eq!(c.effective_display_name(), "Dr. Anna Schmidt");
        c.display_name = "Schmidt, Anna".into();
        assert_eq!(c.effective_display_name(), "Schmidt, Anna");
    }

    #[test]
    fn lookups_by_kind() {
        let c = ContactPerson {
            emails: vec![
                ContactEmail {
                    kind: EmailKind::Private,
                    address: "anna@privat.example".into(),
                    display_name: String::new(),
                },
                ContactEmail {
                    kind: EmailKind::Business,
                    address: "a.schmidt@kunde.example".into(),
                    display_name: String::new(),
                },
            ],
            phones: vec![PhoneNumber {
                kind: PhoneKind::Mobile,
                number: "+49 170 1234567".into(),
            }],
            addresses: vec![PostalAddress {
                kind: AddressKind::Home,
                city: "Berlin".into(),
                ..PostalAddress::default()
            }],
            ..ContactPerson::default()
        };
        assert_eq!(
            c.email(EmailKind::Business).map(|e| e.address.as_str()),
            Some("a.schmidt@kunde.example")
        );
        assert!(c.phone(PhoneKind::Fax).is_none());
        assert_eq!(
            c.phone(PhoneKind::Mobile).map(|p| p.number.as_str()),
            Some("+49 170 1234567")
        );
        assert!(c.address(AddressKind::Home).is_some_and(|a| !a.is_empty()));
        assert!(c.address(AddressKind::Business).is_none());
    }
}
