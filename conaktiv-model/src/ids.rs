//! Identifier newtypes. They carry no rule beyond "this string names that kind of thing", so
//! they accept any string; the newtype keeps a project id from being passed as a customer id.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Unwraps the identifier.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A ConAktiv contact person's key.
    ContactId
);
string_id!(
    /// A ConAktiv customer's key (the company a contact person belongs to).
    CustomerId
);
string_id!(
    /// A ConAktiv project's key.
    ProjectId
);
string_id!(
    /// A ConAktiv offer's key.
    OfferId
);
string_id!(
    /// A ConAktiv invoice's key.
    InvoiceId
);
string_id!(
    /// A ConAktiv appointment's key.
    AppointmentId
);
string_id!(
    /// A ConAktiv task's key.
    TaskId
);
string_id!(
    /// A ConAktiv mail record's key.
    MailId
);
string_id!(
    /// A ConAktiv user's login name (for example `mmueller`).
    UserName
);
string_id!(
    /// A ConAktiv user group's name (for example `Vertrieb`).
    GroupName
);
