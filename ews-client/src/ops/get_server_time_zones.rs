//! `GetServerTimeZones`: the time zone definitions the server knows.
//!
//! Microsoft reference: [GetServerTimeZones operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getservertimezones-operation).

use crate::operation::Operation;
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::types::timezone::TimeZoneDefinition;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:GetServerTimeZones`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetServerTimeZones {
    /// Only these Windows ids (all when empty).
    pub ids: Vec<String>,
    /// Whether to return periods and transitions (`ReturnFullTimeZoneData`).
    pub return_full_time_zone_data: Option<bool>,
}

impl Operation for GetServerTimeZones {
    const NAME: &'static str = "GetServerTimeZones";
    type Response = ResponseMessages<TimeZoneDefinitions>;
}

impl WriteXml for GetServerTimeZones {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_opt(
                "ReturnFullTimeZoneData",
                self.return_full_time_zone_data.as_ref(),
            )
            .children(|w| {
                if !self.ids.is_empty() {
                    w.element(Ns::Messages, "Ids", |w| {
                        for id in &self.ids {
                            w.text_element(Ns::Types, "Id", id);
                        }
                    });
                }
            });
    }
}

impl ReadXml for GetServerTimeZones {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self {
            ids: Vec::new(),
            return_full_time_zone_data: start.attr_value(r, "ReturnFullTimeZoneData")?,
        };
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "Ids") {
                while let Some(id) = r.next_child(&c)? {
                    if id.is(Ns::Types, "Id") {
                        out.ids.push(r.text(&id)?.into_owned());
                    } else {
                        r.skip(&id)?;
                    }
                }
            } else {
                r.skip(&c)?;
            }
        }
        Ok(out)
    }
}

/// The content of a `GetServerTimeZones` response message (`m:TimeZoneDefinitions`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeZoneDefinitions {
    /// The definitions.
    pub definitions: Vec<TimeZoneDefinition>,
    /// Whether the element was present (it is absent on errors).
    pub present: bool,
}

impl ResponseContent for TimeZoneDefinitions {
    fn write_content(&self, w: &mut XmlWriter) {
        if !self.present {
            return;
        }
        w.element(Ns::Messages, "TimeZoneDefinitions", |w| {
            for d in &self.definitions {
                d.write_xml(w, Ns::Types, "TimeZoneDefinition");
            }
        });
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if !child.is(Ns::Messages, "TimeZoneDefinitions") {
            return Ok(false);
        }
        self.present = true;
        while let Some(c) = r.next_child(child)? {
            if c.is(Ns::Types, "TimeZoneDefinition") {
                self.definitions.push(TimeZoneDefinition::read_xml(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(true)
    }
}
