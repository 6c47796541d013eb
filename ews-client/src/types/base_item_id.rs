//! Item references in requests (`t:NonEmptyArrayOfBaseItemIdsType` members): an item id, an
//! occurrence of a recurring series, or the series master of an occurrence.

use std::borrow::Cow;

use super::ids::ItemId;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// An item named in a request (`t:ItemId`, `t:OccurrenceItemId`, `t:RecurringMasterItemId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseItemId {
    /// `t:ItemId`.
    Item(ItemId),
    /// `t:OccurrenceItemId`: the `instance_index`-th (1-based) occurrence of a series.
    Occurrence {
        /// The series master's id.
        recurring_master_id: String,
        /// The master's change key.
        change_key: Option<String>,
        /// 1-based index of the occurrence.
        instance_index: u32,
    },
    /// `t:RecurringMasterItemId`: the series an occurrence belongs to.
    RecurringMaster {
        /// The occurrence's id.
        occurrence_id: String,
        /// The occurrence's change key.
        change_key: Option<String>,
    },
}

impl From<ItemId> for BaseItemId {
    fn from(id: ItemId) -> Self {
        BaseItemId::Item(id)
    }
}

impl BaseItemId {
    /// Writes the element of the variant (`t:ItemId`, ...).
    pub fn write(&self, w: &mut XmlWriter) {
        match self {
            BaseItemId::Item(id) => id.write_xml(w, Ns::Types, "ItemId"),
            BaseItemId::Occurrence {
                recurring_master_id,
                change_key,
                instance_index,
            } => w
                .start(Ns::Types, "OccurrenceItemId")
                .attr("RecurringMasterId", recurring_master_id)
                .attr_opt("ChangeKey", change_key.as_ref())
                .attr_value("InstanceIndex", instance_index)
                .empty(),
            BaseItemId::RecurringMaster {
                occurrence_id,
                change_key,
            } => w
                .start(Ns::Types, "RecurringMasterItemId")
                .attr("OccurrenceId", occurrence_id)
                .attr_opt("ChangeKey", change_key.as_ref())
                .empty(),
        }
    }

    /// Reads one of the three elements; `None` (left unread) for other elements.
    pub fn try_read<'a>(
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
    ) -> Result<Option<Self>, XmlError> {
        if start.ns() != Ns::Types {
            return Ok(None);
        }
        let id = match start.local() {
            "ItemId" => BaseItemId::Item(ItemId::read_xml(r, start)?),
            "OccurrenceItemId" => {
                let id = BaseItemId::Occurrence {
                    recurring_master_id: start.required_attr(r, "RecurringMasterId")?.into_owned(),
                    change_key: start.attr("ChangeKey")?.map(Cow::into_owned),
                    instance_index: start.required_attr_value(r, "InstanceIndex")?,
                };
                r.skip(start)?;
                id
            }
            "RecurringMasterItemId" => {
                let id = BaseItemId::RecurringMaster {
                    occurrence_id: start.required_attr(r, "OccurrenceId")?.into_owned(),
                    change_key: start.attr("ChangeKey")?.map(Cow::into_owned),
                };
                r.skip(start)?;
                id
            }
            _ => return Ok(None),
        };
        Ok(Some(id))
    }

    /// Writes an array element (`m:ItemIds`) holding `ids`.
    pub fn write_list(w: &mut XmlWriter, ns: Ns, name: &str, ids: &[BaseItemId]) {
        w.element(ns, name, |w| {
            for id in ids {
                id.write(w);
            }
        });
    }

    /// Reads the id children of an array element, skipping others.
    pub fn read_list<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Vec<Self>, XmlError> {
        let mut out = Vec::new();
        while let Some(c) = r.next_child(start)? {
            match BaseItemId::try_read(r, &c)? {
                Some(id) => out.push(id),
                None => r.skip(&c)?,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let ids = vec![
            BaseItemId::Item(ItemId::with_change_key("A", "CK")),
            BaseItemId::Occurrence {
                recurring_master_id: "M".into(),
                change_key: None,
                instance_index: 2,
            },
            BaseItemId::RecurringMaster {
                occurrence_id: "O".into(),
                change_key: Some("CK2".into()),
            },
        ];
        let mut w = XmlWriter::new();
        w.start_root(Ns::Messages, "ItemIds").open();
        for id in &ids {
            id.write(&mut w);
        }
        w.end(Ns::Messages, "ItemIds");
        let bytes = w.into_bytes();
        let mut r = XmlReader::new(&bytes);
        let root = r.root().unwrap();
        assert_eq!(BaseItemId::read_list(&mut r, &root).unwrap(), ids);
    }
}
