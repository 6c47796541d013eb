//! One linker for mail from every source, and projects for appointments.
//!
//! The CRM stores a sync writes into can be wrapped ([`crate::service::CrmStores::linked`])
//! so that records *created* from Exchange are linked the way received mail is
//! ([`crate::mail_store::LinkerHook`] for IMAP and Exchange mail accounts):
//!
//! * [`LinkingMails`]: a mail filed by the Exchange e-mail rule without links gets the
//!   [`MailLinker`]'s links (sender and recipient addresses, reference numbers in the
//!   subject, the thread from its `In-Reply-To`/`References` headers);
//! * [`LinkingAppointments`]: an appointment without a project gets the project the linker
//!   finds from its subject (a project reference such as `P-2026-0042`, or the project of an
//!   offer or invoice number).
//!
//! Updates are left alone: links the CRM user set are never overwritten. A linker failure is
//! logged and the record is stored unlinked.

use std::sync::Arc;

use async_trait::async_trait;
use conaktiv_model::{Appointment, Mail};

use crate::host::{CrmStore, HostError, ListQuery, MailLinkQuery, MailLinker, RecordMeta, Stored};

/// The linker's question for a CRM mail (thread ids from its raw headers).
pub fn mail_query(mail: &Mail) -> MailLinkQuery {
    let header_ids = |name: &str| -> Vec<String> {
        mail.raw_headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .flat_map(|h| {
                h.value
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    MailLinkQuery {
        from: mail.from.as_ref().map(|m| m.address.clone()),
        recipients: mail
            .to
            .iter()
            .chain(&mail.cc)
            .chain(&mail.bcc)
            .map(|m| m.address.clone())
            .collect(),
        subject: mail.subject.clone(),
        message_id: Some(mail.message_id.clone()).filter(|m| !m.is_empty()),
        in_reply_to: header_ids("In-Reply-To"),
        references: header_ids("References"),
    }
}

/// A mail store that links new mail (see the module docs).
#[derive(Clone)]
pub struct LinkingMails {
    store: Arc<dyn CrmStore<Mail>>,
    linker: Arc<dyn MailLinker>,
}

impl LinkingMails {
    /// Wraps `store`, linking with `linker`.
    pub fn new(store: Arc<dyn CrmStore<Mail>>, linker: Arc<dyn MailLinker>) -> Self {
        Self { store, linker }
    }
}

#[async_trait]
impl CrmStore<Mail> for LinkingMails {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        self.store.list(query).await
    }
    async fn get(&self, id: &str) -> Result<Option<Stored<Mail>>, HostError> {
        self.store.get(id).await
    }
    async fn get_many(&self, ids: &[String]) -> Result<Vec<Stored<Mail>>, HostError> {
        self.store.get_many(ids).await
    }
    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &Mail,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.store.update(id, expected, record, key).await
    }
    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        self.store.delete(id, expected).await
    }
    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        self.store.set_key(id, expected, key).await
    }
    async fn set_keys(
        &self,
        writes: &[crate::host::KeyWrite],
    ) -> Vec<Result<RecordMeta, HostError>> {
        self.store.set_keys(writes).await
    }

    async fn create(
        &self,
        owner: Option<&str>,
        record: &Mail,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        if record.links.is_empty() {
            match self.linker.link(&mail_query(record)).await {
                Ok(links) if !links.is_empty() => {
                    let mut linked = record.clone();
                    linked.links = links;
                    return self.store.create(owner, &linked, key).await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "mail linking failed; storing the mail unlinked")
                }
            }
        }
        self.store.create(owner, record, key).await
    }
}

/// An appointment store that gives new appointments the project their subject names.
#[derive(Clone)]
pub struct LinkingAppointments {
    store: Arc<dyn CrmStore<Appointment>>,
    linker: Arc<dyn MailLinker>,
}

impl LinkingAppointments {
    /// Wraps `store`, asking `linker` for the project of a subject.
    pub fn new(store: Arc<dyn CrmStore<Appointment>>, linker: Arc<dyn MailLinker>) -> Self {
        Self { store, linker }
    }
}

#[async_trait]
impl CrmStore<Appointment> for LinkingAppointments {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        self.store.list(query).await
    }
    async fn get(&self, id: &str) -> Result<Option<Stored<Appointment>>, HostError> {
        self.store.get(id).await
    }
    async fn get_many(&self, ids: &[String]) -> Result<Vec<Stored<Appointment>>, HostError> {
        self.store.get_many(ids).await
    }
    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &Appointment,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.store.update(id, expected, record, key).await
    }
    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        self.store.delete(id, expected).await
    }
    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        self.store.set_key(id, expected, key).await
    }
    async fn set_keys(
        &self,
        writes: &[crate::host::KeyWrite],
    ) -> Vec<Result<RecordMeta, HostError>> {
        self.store.set_keys(writes).await
    }

    async fn create(
        &self,
        owner: Option<&str>,
        record: &Appointment,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        if record.project.is_none() && !record.subject.trim().is_empty() {
            let query = MailLinkQuery {
                subject: record.subject.clone(),
                ..MailLinkQuery::default()
            };
            match self.linker.link(&query).await {
                Ok(links) if links.project.is_some() => {
                    let mut linked = record.clone();
                    linked.project = links.project;
                    return self.store.create(owner, &linked, key).await;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "project linking failed"),
            }
        }
        self.store.create(owner, record, key).await
    }
}

/// The rules of the embedded linkers (SQLite and PostgreSQL), apart from their queries.
pub(crate) mod rules {
    use conaktiv_model::mail::MailLinks;
    use conaktiv_model::{ContactId, CustomerId, InvoiceId, OfferId, ProjectId};

    use crate::host::MailLinkQuery;
    use crate::sqlite::{ReferenceKind, normalize_message_id};

    /// The message ids of a mail's thread, nearest first: `In-Reply-To`, then `References`
    /// from the newest; normalized, empty ones left out.
    pub(crate) fn thread_ids(mail: &MailLinkQuery) -> Vec<String> {
        mail.in_reply_to
            .iter()
            .chain(mail.references.iter().rev())
            .map(|i| normalize_message_id(i))
            .filter(|i| !i.is_empty())
            .collect()
    }

    /// Adds what a reference number found (the record's id, its customer and project) to
    /// `links`; what an earlier reference gave stays.
    pub(crate) fn merge_reference(
        links: &mut MailLinks,
        kind: ReferenceKind,
        id: String,
        customer: Option<String>,
        project: Option<String>,
    ) {
        match kind {
            ReferenceKind::Project => {
                links.project.get_or_insert(ProjectId::new(id));
            }
            ReferenceKind::Offer => {
                links.offer.get_or_insert(OfferId::new(id));
            }
            ReferenceKind::Invoice => {
                links.invoice.get_or_insert(InvoiceId::new(id));
            }
        }
        if let Some(p) = project
            && links.project.is_none()
        {
            links.project = Some(ProjectId::new(p));
        }
        if let Some(cu) = customer
            && links.customer.is_none()
        {
            links.customer = Some(CustomerId::new(cu));
        }
    }

    /// The addresses a contact person is looked up by: the sender's, then the recipients';
    /// trimmed, empty ones left out.
    pub(crate) fn addresses(mail: &MailLinkQuery) -> impl Iterator<Item = &str> {
        mail.from
            .iter()
            .chain(mail.recipients.iter())
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
    }

    /// Links the first of one address's contacts `(id, customer)` (in the order given: those
    /// with a customer first, then by id) that fits: a contact of another customer than the
    /// one a reference named does not. It gives the customer when nothing named one.
    /// Returns whether a contact was linked.
    pub(crate) fn pick_contact(
        links: &mut MailLinks,
        found: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> bool {
        for (person, customer) in found {
            let fits = match (&links.customer, &customer) {
                (Some(linked), Some(own)) => linked.as_str() == own,
                (Some(_), None) => false,
                (None, _) => true,
            };
            if fits {
                links.contact_person = Some(ContactId::new(person));
                if links.customer.is_none() {
                    links.customer = customer.map(CustomerId::new);
                }
                return true;
            }
        }
        false
    }
}
