//! Received mail into the CRM: the glue between mail-transport's receiving side and the host
//! traits.
//!
//! * [`LinkerHook`] is mail-transport's [`LinkHook`] over a [`MailLinker`]: the receiver asks
//!   it for every mail's links before storing. A linker error is logged and the mail is
//!   stored unlinked (receiving never stops because linking failed).
//! * [`CrmMailSink`] is mail-transport's [`MailSink`] over a [`CrmStore`] of
//!   [`conaktiv_model::Mail`]: it files each received mail for its owner, once: a mail whose
//!   Message-ID the owner already has is a [`StoreOutcome::Duplicate`]. A transient store
//!   error is a transient [`SinkError`], so the receiver keeps the mail on the server and
//!   tries again.

use async_trait::async_trait;
use conaktiv_model::Mail;
use mail_transport::{
    LinkContext, LinkHook, MailLinks, MailSink, ReceivedMail, SinkError, StoreOutcome,
};

use crate::filter::Filter;
use crate::host::{CrmStore, HostError, ListQuery, MailLinkQuery, MailLinker};

/// mail-transport's link hook over a [`MailLinker`].
#[derive(Clone, Debug)]
pub struct LinkerHook<L>(pub L);

/// The linker's question for a received mail.
pub fn link_query(context: &LinkContext) -> MailLinkQuery {
    MailLinkQuery {
        from: context.from.as_ref().map(|m| m.address.clone()),
        recipients: context
            .recipients
            .iter()
            .map(|m| m.address.clone())
            .collect(),
        subject: context.subject.clone().unwrap_or_default(),
        message_id: Some(context.message_id.clone()).filter(|m| !m.is_empty()),
        in_reply_to: context.in_reply_to.clone(),
        references: context.references.clone(),
    }
}

#[async_trait]
impl<L: MailLinker> LinkHook for LinkerHook<L> {
    async fn links(&self, context: &LinkContext) -> MailLinks {
        match self.0.link(&link_query(context)).await {
            Ok(l) => MailLinks {
                customer: l.customer.map(|c| c.into_inner()),
                contact_person: l.contact_person.map(|c| c.into_inner()),
                project: l.project.map(|p| p.into_inner()),
                offer: l.offer.map(|o| o.into_inner()),
                invoice: l.invoice.map(|i| i.into_inner()),
            },
            Err(e) => {
                tracing::warn!(error = %e, message_id = %context.message_id, "mail linking failed; storing the mail unlinked");
                MailLinks::default()
            }
        }
    }
}

/// mail-transport's sink filing received mail into a CRM store. See the module docs.
#[derive(Clone, Debug)]
pub struct CrmMailSink<S> {
    store: S,
    owner: Option<String>,
}

impl<S: CrmStore<Mail>> CrmMailSink<S> {
    /// A sink filing mail for `owner` (the account's user).
    pub fn new(store: S, owner: Option<String>) -> Self {
        Self { store, owner }
    }

    /// The CRM store the mail goes to.
    pub fn crm(&self) -> &S {
        &self.store
    }
}

fn sink_error(e: HostError) -> SinkError {
    if e.is_transient() {
        SinkError::transient(e.to_string())
    } else {
        SinkError::permanent(e.to_string())
    }
}

#[async_trait]
impl<S: CrmStore<Mail>> MailSink for CrmMailSink<S> {
    async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
        let mail: Mail = mail.into();
        let filter = Filter::parse(&format!(
            "message_id = '{}'",
            mail.message_id.replace('\'', "''")
        ))
        .map_err(|e| SinkError::permanent(e.to_string()))?;
        let query = ListQuery {
            filter,
            owner: self.owner.clone(),
        };
        if !self
            .store
            .list(&query)
            .await
            .map_err(sink_error)?
            .is_empty()
        {
            return Ok(StoreOutcome::Duplicate);
        }
        self.store
            .create(self.owner.as_deref(), &mail, None)
            .await
            .map_err(sink_error)?;
        Ok(StoreOutcome::Stored)
    }
}
