//! Contact folders and contacts (CRUD, delta per folder).

use crate::client::Mailbox;
use crate::error::Error;
use crate::mail::has_id;
use crate::odata::{DeltaRound, DeltaStart, ListOptions, folder_path, select_query};
use crate::schema::graph_struct;
use crate::types::{EmailAddress, PhysicalAddress, SingleValueExtendedProperty};

graph_struct! {
    /// `contactFolder`.
    pub struct ContactFolder = "contactFolder" {
        "id" => id: String,
        "displayName" => display_name: String,
        "parentFolderId" => parent_folder_id: String,
        "singleValueExtendedProperties" => single_value_extended_properties: Vec<SingleValueExtendedProperty>,
    }
}

graph_struct! {
    /// `contact`.
    pub struct Contact = "contact" {
        "@odata.etag" => etag: String,
        "id" => id: String,
        "changeKey" => change_key: String,
        "categories" => categories: Vec<String>,
        "createdDateTime" => created_date_time: chrono::DateTime<chrono::Utc>,
        "lastModifiedDateTime" => last_modified_date_time: chrono::DateTime<chrono::Utc>,
        "parentFolderId" => parent_folder_id: String,
        "displayName" => display_name: String,
        "givenName" => given_name: String,
        "middleName" => middle_name: String,
        "surname" => surname: String,
        "generation" => generation: String,
        "title" => title: String,
        "initials" => initials: String,
        "nickName" => nick_name: String,
        "fileAs" => file_as: String,
        "companyName" => company_name: String,
        "department" => department: String,
        "jobTitle" => job_title: String,
        "officeLocation" => office_location: String,
        "profession" => profession: String,
        "manager" => manager: String,
        "assistantName" => assistant_name: String,
        "emailAddresses" => email_addresses: Vec<EmailAddress>,
        "primaryEmailAddress" => primary_email_address: EmailAddress,
        "secondaryEmailAddress" => secondary_email_address: EmailAddress,
        "tertiaryEmailAddress" => tertiary_email_address: EmailAddress,
        "businessPhones" => business_phones: Vec<String>,
        "homePhones" => home_phones: Vec<String>,
        "mobilePhone" => mobile_phone: String,
        "imAddresses" => im_addresses: Vec<String>,
        "businessHomePage" => business_home_page: String,
        "businessAddress" => business_address: PhysicalAddress,
        "homeAddress" => home_address: PhysicalAddress,
        "otherAddress" => other_address: PhysicalAddress,
        "birthday" => birthday: chrono::DateTime<chrono::Utc>,
        "personalNotes" => personal_notes: String,
        "spouseName" => spouse_name: String,
        "singleValueExtendedProperties" => single_value_extended_properties: Vec<SingleValueExtendedProperty>,
    }
}

has_id!(ContactFolder, Contact);

fn contacts_path(folder: Option<&str>) -> Vec<&str> {
    folder_path(folder, "contactFolders", "contacts", "contacts")
}

impl Mailbox {
    /// The top-level contact folders (the default Contacts folder is `contacts` itself).
    pub async fn contact_folders(&self) -> Result<Vec<ContactFolder>, Error> {
        self.list_at(&["contactFolders"], &[], "contact folders")
            .await
    }

    /// The child folders of a contact folder.
    pub async fn contact_child_folders(&self, id: &str) -> Result<Vec<ContactFolder>, Error> {
        self.list_at(
            &["contactFolders", id, "childFolders"],
            &[],
            "contact folders",
        )
        .await
    }

    /// Creates a contact folder below `parent` (top level if `None`).
    pub async fn create_contact_folder(
        &self,
        parent: Option<&str>,
        name: &str,
    ) -> Result<ContactFolder, Error> {
        let body = ContactFolder {
            display_name: Some(name.to_owned()),
            ..Default::default()
        };
        let segments: Vec<&str> =
            folder_path(parent, "contactFolders", "childFolders", "contactFolders");
        self.post_entity(&segments, &body, "contact folder").await
    }

    /// The contacts of a folder (`None`: the default Contacts folder).
    pub async fn contacts(
        &self,
        folder: Option<&str>,
        options: &ListOptions,
    ) -> Result<Vec<Contact>, Error> {
        self.list_at(&contacts_path(folder), &options.query(), "contacts")
            .await
    }

    /// One contact.
    pub async fn contact(&self, id: &str, options: &ListOptions) -> Result<Contact, Error> {
        self.get(&["contacts", id], &options.query(), "contact")
            .await
    }

    /// Creates a contact. Never repeated blindly ([`Error::outcome_unknown`]).
    pub async fn create_contact(
        &self,
        folder: Option<&str>,
        contact: &Contact,
    ) -> Result<Contact, Error> {
        self.post_entity(&contacts_path(folder), contact, "contact")
            .await
    }

    /// Updates the properties in `patch` (the typed resource, or a `serde_json::Value` when a
    /// property must be cleared with `null`); with `etag`, 412 gives [`Error::Conflict`].
    pub async fn update_contact(
        &self,
        id: &str,
        patch: &(impl serde::Serialize + Sync),
        etag: Option<&str>,
    ) -> Result<Contact, Error> {
        self.update_entity(&["contacts", id], patch, etag, "contact")
            .await
    }

    /// Deletes a contact; with `etag`, only if unchanged.
    pub async fn delete_contact(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        self.delete_entity(&["contacts", id], etag).await
    }

    /// One delta round over a contact folder (`None`: the default folder).
    pub async fn contacts_delta(
        &self,
        folder: Option<&str>,
        start: DeltaStart<'_>,
        select: &[&str],
        page_size: Option<u32>,
    ) -> Result<DeltaRound<Contact>, Error> {
        let mut segments = contacts_path(folder);
        segments.push("delta");
        let query = select_query(select);
        let url = self.url(&segments, &query)?;
        self.delta_round(url, start, page_size, "contact delta")
            .await
    }
}
