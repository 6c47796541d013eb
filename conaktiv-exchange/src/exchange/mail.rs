//! The "email" table's projection: a ConAktiv [`Mail`] as sync-core's [`Record`].
//!
//! Mail is filed, not edited: a mail found in the rule's folders is created in the CRM, a
//! CRM mail is written into the rule's new-items folder, and neither side edits the other's
//! copy afterwards. The record still carries the mail's content so that the created copy is
//! complete and equal content compares equal:
//!
//! * the [`Mail`] fields as JSON (`message_id`, `from`, `to`, `cc`, `bcc`, `reply_to`,
//!   `subject`, `date`, `text_body` / `html_body`, `attachments`), empty lists and absent
//!   values left out;
//! * `text_body` only when there is no `html_body` (Exchange keeps one body: the HTML one);
//! * not `id` (the correlation key), `links` and `direction` (CRM-only) nor `raw_headers`
//!   (read-only in Exchange, so never equal after a round trip).
//!
//! [`MailProjection`] implements the CRM side's [`Projection`] with the same shape, so the
//! CRM side of an email rule projects mail exactly as the Exchange side does; applying a
//! record onto an existing CRM mail keeps its id, links, direction and headers.

use conaktiv_model::Mail;
use conaktiv_model::mail::Direction;
use sync_core::Record;

use crate::crm_side::Projection;

/// The [`Mail`] fields that are not part of the record.
const CRM_ONLY: [&str; 4] = ["id", "links", "direction", "raw_headers"];

/// The record of a mail (see the module docs).
pub fn mail_to_record(mail: &Mail) -> Record {
    let mut out = Record::new();
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(mail) else {
        return out;
    };
    let has_html = mail.html_body.as_deref().is_some_and(|b| !b.is_empty());
    for (k, v) in map {
        let skip = CRM_ONLY.contains(&k.as_str())
            || v.is_null()
            || v.as_array().is_some_and(Vec::is_empty)
            || v.as_str().is_some_and(str::is_empty)
            || (k == "text_body" && has_html);
        if !skip {
            out.fields.insert(k, v);
        }
    }
    out
}

/// The mail a record describes, with `direction`; `Err` if a field has the wrong shape.
pub fn record_to_mail(record: &Record, direction: Direction) -> Result<Mail, String> {
    let map: serde_json::Map<String, serde_json::Value> = record
        .fields
        .iter()
        .filter(|(k, _)| !CRM_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut mail: Mail = serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| format!("not a mail record: {e}"))?;
    mail.direction = direction;
    Ok(mail)
}

/// The CRM side's projection of mail, equal to the Exchange side's (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct MailProjection {
    /// The direction given to mail created in the CRM (`Incoming` for mail filed from an
    /// inbox, `Outgoing` for sent items).
    pub direction: Direction,
}

impl Projection<Mail> for MailProjection {
    fn to_record(&self, record: &Mail) -> Record {
        mail_to_record(record)
    }

    fn apply(&self, current: Option<&Mail>, record: &Record) -> Result<Mail, String> {
        let mut mail = record_to_mail(record, self.direction)?;
        if let Some(cur) = current {
            mail.id = cur.id.clone();
            mail.links = cur.links.clone();
            mail.direction = cur.direction;
            mail.raw_headers = cur.raw_headers.clone();
        }
        Ok(mail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conaktiv_model::mail::Mailbox;

    #[test]
    fn record_round_trip_drops_crm_only_fields() {
        let mail = Mail {
            message_id: "abc@host".into(),
            from: Some(Mailbox::new("Anna", "anna@contoso.test")),
            to: vec![Mailbox::new("", "bob@contoso.test")],
            subject: "Angebot".into(),
            text_body: Some("plain".into()),
            html_body: Some("<p>html</p>".into()),
            direction: Direction::Outgoing,
            ..Mail::default()
        };
        let r = mail_to_record(&mail);
        assert_eq!(r.get("subject"), Some(&serde_json::json!("Angebot")));
        assert!(r.get("text_body").is_none(), "html wins");
        assert!(r.get("direction").is_none() && r.get("cc").is_none());
        let back = record_to_mail(&r, Direction::Incoming).unwrap();
        assert_eq!(back.direction, Direction::Incoming);
        assert_eq!(back.to, mail.to);
        assert_eq!(mail_to_record(&back), r);
        assert!(record_to_mail(&Record::new().with("to", 5), Direction::Incoming).is_err());
    }
}
