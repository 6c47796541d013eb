//! Response shapes, paging views, restrictions and sort orders: what `FindItem`,
//! `FindFolder`, `GetItem`, `GetFolder` and the sync operations return and in which order.

use chrono::{DateTime, Utc};

use super::ids::string_enum;
use super::paths::PropertyPath;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// The base set of properties returned (`t:DefaultShapeNamesType`).
    BaseShape {
        /// Ids only.
        IdOnly = "IdOnly",
        /// The default set.
        Default = "Default",
        /// All properties (no extended properties, no MIME content).
        AllProperties = "AllProperties",
        /// People search shape.
        PcxPeopleSearch = "PcxPeopleSearch",
    }
}

string_enum! {
    /// Which body format to return (`t:BodyTypeResponseType`).
    BodyTypeResponse {
        /// The server's stored format.
        Best = "Best",
        /// HTML.
        Html = "HTML",
        /// Plain text.
        Text = "Text",
    }
}

fn read_paths<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Vec<PropertyPath>, XmlError> {
    PropertyPath::read_list(r, start)
}

fn write_paths(w: &mut XmlWriter, paths: &[PropertyPath]) {
    if !paths.is_empty() {
        w.element(Ns::Types, "AdditionalProperties", |w| {
            for p in paths {
                p.write(w);
            }
        });
    }
}

/// The item response shape (`m:ItemShape`, `t:ItemResponseShapeType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemShape {
    /// Base property set.
    pub base_shape: BaseShape,
    /// `t:IncludeMimeContent`.
    pub include_mime_content: Option<bool>,
    /// `t:BodyType`.
    pub body_type: Option<BodyTypeResponse>,
    /// `t:FilterHtmlContent`.
    pub filter_html_content: Option<bool>,
    /// `t:ConvertHtmlCodePageToUTF8`.
    pub convert_html_code_page_to_utf8: Option<bool>,
    /// `t:MaximumBodySize` (bytes).
    pub maximum_body_size: Option<i32>,
    /// `t:AdditionalProperties`: field, indexed field and extended property paths.
    pub additional_properties: Vec<PropertyPath>,
}

impl Default for ItemShape {
    fn default() -> Self {
        Self::new(BaseShape::Default)
    }
}

impl ItemShape {
    /// A shape with a base set and nothing else.
    pub fn new(base_shape: BaseShape) -> Self {
        Self {
            base_shape,
            include_mime_content: None,
            body_type: None,
            filter_html_content: None,
            convert_html_code_page_to_utf8: None,
            maximum_body_size: None,
            additional_properties: Vec::new(),
        }
    }

    /// `IdOnly`.
    pub fn id_only() -> Self {
        Self::new(BaseShape::IdOnly)
    }

    /// `AllProperties`.
    pub fn all_properties() -> Self {
        Self::new(BaseShape::AllProperties)
    }

    /// Adds additional properties.
    pub fn with_additional(mut self, paths: impl IntoIterator<Item = PropertyPath>) -> Self {
        self.additional_properties.extend(paths);
        self
    }

    /// Sets the body type.
    pub fn with_body_type(mut self, body_type: BodyTypeResponse) -> Self {
        self.body_type = Some(body_type);
        self
    }

    /// Asks for the MIME content.
    pub fn with_mime_content(mut self) -> Self {
        self.include_mime_content = Some(true);
        self
    }
}

impl WriteXml for ItemShape {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.value(Ns::Types, "BaseShape", &self.base_shape);
            w.opt_value(
                Ns::Types,
                "IncludeMimeContent",
                self.include_mime_content.as_ref(),
            );
            w.opt_value(Ns::Types, "BodyType", self.body_type.as_ref());
            w.opt_value(
                Ns::Types,
                "FilterHtmlContent",
                self.filter_html_content.as_ref(),
            );
            w.opt_value(
                Ns::Types,
                "ConvertHtmlCodePageToUTF8",
                self.convert_html_code_page_to_utf8.as_ref(),
            );
            w.opt_value(
                Ns::Types,
                "MaximumBodySize",
                self.maximum_body_size.as_ref(),
            );
            write_paths(w, &self.additional_properties);
        });
    }
}

impl ReadXml for ItemShape {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut shape = ItemShape::default();
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Types {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "BaseShape" => shape.base_shape = r.value(&c)?,
                "IncludeMimeContent" => shape.include_mime_content = Some(r.value(&c)?),
                "BodyType" => shape.body_type = Some(r.value(&c)?),
                "FilterHtmlContent" => shape.filter_html_content = Some(r.value(&c)?),
                "ConvertHtmlCodePageToUTF8" => {
                    shape.convert_html_code_page_to_utf8 = Some(r.value(&c)?);
                }
                "MaximumBodySize" => shape.maximum_body_size = Some(r.value(&c)?),
                "AdditionalProperties" => shape.additional_properties = read_paths(r, &c)?,
                _ => r.skip(&c)?,
            }
        }
        Ok(shape)
    }
}

/// The folder response shape (`m:FolderShape`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderShape {
    /// Base property set.
    pub base_shape: BaseShape,
    /// Additional properties.
    pub additional_properties: Vec<PropertyPath>,
}

impl Default for FolderShape {
    fn default() -> Self {
        Self::new(BaseShape::Default)
    }
}

impl FolderShape {
    /// A shape with a base set.
    pub fn new(base_shape: BaseShape) -> Self {
        Self {
            base_shape,
            additional_properties: Vec::new(),
        }
    }

    /// Adds additional properties.
    pub fn with_additional(mut self, paths: impl IntoIterator<Item = PropertyPath>) -> Self {
        self.additional_properties.extend(paths);
        self
    }
}

impl WriteXml for FolderShape {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.value(Ns::Types, "BaseShape", &self.base_shape);
            write_paths(w, &self.additional_properties);
        });
    }
}

impl ReadXml for FolderShape {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut shape = FolderShape::default();
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Types, "BaseShape") {
                shape.base_shape = r.value(&c)?;
            } else if c.is(Ns::Types, "AdditionalProperties") {
                shape.additional_properties = read_paths(r, &c)?;
            } else {
                r.skip(&c)?;
            }
        }
        Ok(shape)
    }
}

string_enum! {
    /// Where an indexed page's offset counts from (`t:IndexBasePointType`).
    IndexBasePoint {
        /// From the first entry.
        Beginning = "Beginning",
        /// From the last entry.
        End = "End",
    }
}

/// An indexed page (`m:IndexedPageItemView`, `m:IndexedPageFolderView`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedPageView {
    /// Page size (servers cap it at 1000 for items).
    pub max_entries_returned: Option<u32>,
    /// Offset of the first entry.
    pub offset: u32,
    /// Where the offset counts from.
    pub base_point: IndexBasePoint,
}

impl IndexedPageView {
    /// A page of `max` entries from `offset`, counted from the beginning.
    pub fn new(max: u32, offset: u32) -> Self {
        Self {
            max_entries_returned: Some(max),
            offset,
            base_point: IndexBasePoint::Beginning,
        }
    }
}

impl WriteXml for IndexedPageView {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_opt("MaxEntriesReturned", self.max_entries_returned.as_ref())
            .attr_value("Offset", &self.offset)
            .attr_value("BasePoint", &self.base_point)
            .empty();
    }
}

impl ReadXml for IndexedPageView {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let v = Self {
            max_entries_returned: start.attr_value(r, "MaxEntriesReturned")?,
            offset: start.required_attr_value(r, "Offset")?,
            base_point: start.required_attr_value(r, "BasePoint")?,
        };
        r.skip(start)?;
        Ok(v)
    }
}

/// A calendar view (`m:CalendarView`): expands recurring series into the occurrences that
/// overlap the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarView {
    /// Maximum number of occurrences.
    pub max_entries_returned: Option<u32>,
    /// Window start.
    pub start_date: DateTime<Utc>,
    /// Window end.
    pub end_date: DateTime<Utc>,
}

impl WriteXml for CalendarView {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_opt("MaxEntriesReturned", self.max_entries_returned.as_ref())
            .attr_value("StartDate", &self.start_date)
            .attr_value("EndDate", &self.end_date)
            .empty();
    }
}

impl ReadXml for CalendarView {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let v = Self {
            max_entries_returned: start.attr_value(r, "MaxEntriesReturned")?,
            start_date: start.required_attr_value(r, "StartDate")?,
            end_date: start.required_attr_value(r, "EndDate")?,
        };
        r.skip(start)?;
        Ok(v)
    }
}

/// The paging attributes of a `FindItem`/`FindFolder` result (`RootFolder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PagingInfo {
    /// `IndexedPagingOffset`: the offset of the next page.
    pub indexed_paging_offset: Option<u32>,
    /// `IncludesLastItemInRange`: whether this page reaches the end.
    pub includes_last_item_in_range: Option<bool>,
    /// `TotalItemsInView`.
    pub total_items_in_view: Option<u32>,
}

impl PagingInfo {
    /// Writes the attributes onto a start tag.
    pub fn write_attrs<'w, 'n>(
        &self,
        tag: crate::xml::StartTag<'w, 'n>,
    ) -> crate::xml::StartTag<'w, 'n> {
        tag.attr_opt("IndexedPagingOffset", self.indexed_paging_offset.as_ref())
            .attr_opt("TotalItemsInView", self.total_items_in_view.as_ref())
            .attr_opt(
                "IncludesLastItemInRange",
                self.includes_last_item_in_range.as_ref(),
            )
    }

    /// Reads the attributes of `start`.
    pub fn read_attrs(r: &XmlReader<'_>, start: &Start<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            indexed_paging_offset: start.attr_value(r, "IndexedPagingOffset")?,
            includes_last_item_in_range: start.attr_value(r, "IncludesLastItemInRange")?,
            total_items_in_view: start.attr_value(r, "TotalItemsInView")?,
        })
    }
}

string_enum! {
    /// A two-operand comparison of a restriction.
    CompareOp {
        /// `t:IsEqualTo`.
        IsEqualTo = "IsEqualTo",
        /// `t:IsNotEqualTo`.
        IsNotEqualTo = "IsNotEqualTo",
        /// `t:IsGreaterThan`.
        IsGreaterThan = "IsGreaterThan",
        /// `t:IsGreaterThanOrEqualTo`.
        IsGreaterThanOrEqualTo = "IsGreaterThanOrEqualTo",
        /// `t:IsLessThan`.
        IsLessThan = "IsLessThan",
        /// `t:IsLessThanOrEqualTo`.
        IsLessThanOrEqualTo = "IsLessThanOrEqualTo",
    }
}

string_enum! {
    /// How `t:Contains` matches (`t:ContainmentModeType`).
    ContainmentMode {
        /// The whole value.
        FullString = "FullString",
        /// A prefix.
        Prefixed = "Prefixed",
        /// A substring.
        Substring = "Substring",
        /// A prefix of any word.
        PrefixOnWords = "PrefixOnWords",
        /// An exact phrase.
        ExactPhrase = "ExactPhrase",
    }
}

string_enum! {
    /// How `t:Contains` compares (`t:ContainmentComparisonType`).
    ContainmentComparison {
        /// Exact.
        Exact = "Exact",
        /// Case-insensitive.
        IgnoreCase = "IgnoreCase",
        /// Ignoring non-spacing characters.
        IgnoreNonSpacingCharacters = "IgnoreNonSpacingCharacters",
        /// Loose.
        Loose = "Loose",
        /// Case- and non-spacing-insensitive.
        IgnoreCaseAndNonSpacingCharacters = "IgnoreCaseAndNonSpacingCharacters",
        /// Loose and case-insensitive.
        LooseAndIgnoreCase = "LooseAndIgnoreCase",
        /// Loose, ignoring non-spacing characters.
        LooseAndIgnoreNonSpace = "LooseAndIgnoreNonSpace",
        /// Loose, case-insensitive, ignoring non-spacing characters.
        LooseAndIgnoreCaseAndIgnoreNonSpace = "LooseAndIgnoreCaseAndIgnoreNonSpace",
    }
}

/// The right-hand side of a comparison (`t:FieldURIOrConstant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// `t:Constant Value="..."`.
    Constant(String),
    /// Another property.
    Path(PropertyPath),
}

/// A search expression (`t:SearchExpression` substitution group), the content of a
/// `m:Restriction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restriction {
    /// A comparison: `path op operand`.
    Compare {
        /// The comparison.
        op: CompareOp,
        /// The property compared.
        path: PropertyPath,
        /// What it is compared with.
        operand: Operand,
    },
    /// `t:Contains`: a text property contains a constant.
    Contains {
        /// The property.
        path: PropertyPath,
        /// The constant.
        value: String,
        /// Containment mode.
        mode: Option<ContainmentMode>,
        /// Comparison.
        comparison: Option<ContainmentComparison>,
    },
    /// `t:Exists`: the property is set.
    Exists(PropertyPath),
    /// `t:And`.
    And(Vec<Restriction>),
    /// `t:Or`.
    Or(Vec<Restriction>),
    /// `t:Not`.
    Not(Box<Restriction>),
}

impl Restriction {
    /// `path == constant`.
    pub fn equals(path: PropertyPath, value: impl Into<String>) -> Self {
        Restriction::Compare {
            op: CompareOp::IsEqualTo,
            path,
            operand: Operand::Constant(value.into()),
        }
    }

    /// A comparison with a constant.
    pub fn compare(op: CompareOp, path: PropertyPath, value: impl Into<String>) -> Self {
        Restriction::Compare {
            op,
            path,
            operand: Operand::Constant(value.into()),
        }
    }

    /// Case-insensitive substring match.
    pub fn contains(path: PropertyPath, value: impl Into<String>) -> Self {
        Restriction::Contains {
            path,
            value: value.into(),
            mode: Some(ContainmentMode::Substring),
            comparison: Some(ContainmentComparison::IgnoreCase),
        }
    }

    /// Writes the expression element itself (`t:IsEqualTo`, `t:And`, ...).
    pub fn write(&self, w: &mut XmlWriter) {
        match self {
            Restriction::Compare { op, path, operand } => {
                w.element(Ns::Types, op.as_str(), |w| {
                    path.write(w);
                    w.element(Ns::Types, "FieldURIOrConstant", |w| match operand {
                        Operand::Constant(v) => {
                            w.start(Ns::Types, "Constant").attr("Value", v).empty()
                        }
                        Operand::Path(p) => p.write(w),
                    });
                });
            }
            Restriction::Contains {
                path,
                value,
                mode,
                comparison,
            } => {
                w.start(Ns::Types, "Contains")
                    .attr_opt("ContainmentMode", mode.as_ref())
                    .attr_opt("ContainmentComparison", comparison.as_ref())
                    .children(|w| {
                        path.write(w);
                        w.start(Ns::Types, "Constant").attr("Value", value).empty();
                    });
            }
            Restriction::Exists(path) => w.element(Ns::Types, "Exists", |w| path.write(w)),
            Restriction::And(list) | Restriction::Or(list) => {
                let name = if matches!(self, Restriction::And(_)) {
                    "And"
                } else {
                    "Or"
                };
                w.element(Ns::Types, name, |w| {
                    for r in list {
                        r.write(w);
                    }
                });
            }
            Restriction::Not(inner) => w.element(Ns::Types, "Not", |w| inner.write(w)),
        }
    }

    /// Reads an expression element; `None` (left unread) if `start` is not one.
    pub fn try_read<'a>(
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
    ) -> Result<Option<Self>, XmlError> {
        if start.ns() != Ns::Types {
            return Ok(None);
        }
        let local = start.local();
        if let Ok(op) = local.parse::<CompareOp>() {
            let mut path = None;
            let mut operand = None;
            while let Some(c) = r.next_child(start)? {
                if c.is(Ns::Types, "FieldURIOrConstant") {
                    while let Some(o) = r.next_child(&c)? {
                        if o.is(Ns::Types, "Constant") {
                            operand =
                                Some(Operand::Constant(o.required_attr(r, "Value")?.into_owned()));
                            r.skip(&o)?;
                        } else if let Some(p) = PropertyPath::try_read(r, &o)? {
                            operand = Some(Operand::Path(p));
                        } else {
                            r.skip(&o)?;
                        }
                    }
                } else if let Some(p) = PropertyPath::try_read(r, &c)? {
                    path = Some(p);
                } else {
                    r.skip(&c)?;
                }
            }
            return Ok(Some(Restriction::Compare {
                op,
                path: r.required(start, path, "Path")?,
                operand: r.required(start, operand, "FieldURIOrConstant")?,
            }));
        }
        let out = match local {
            "Contains" => {
                let mode = start.attr_value(r, "ContainmentMode")?;
                let comparison = start.attr_value(r, "ContainmentComparison")?;
                let mut path = None;
                let mut value = None;
                while let Some(c) = r.next_child(start)? {
                    if c.is(Ns::Types, "Constant") {
                        value = Some(c.required_attr(r, "Value")?.into_owned());
                        r.skip(&c)?;
                    } else if let Some(p) = PropertyPath::try_read(r, &c)? {
                        path = Some(p);
                    } else {
                        r.skip(&c)?;
                    }
                }
                Restriction::Contains {
                    path: r.required(start, path, "Path")?,
                    value: r.required(start, value, "Constant")?,
                    mode,
                    comparison,
                }
            }
            "Exists" => {
                let mut path = None;
                while let Some(c) = r.next_child(start)? {
                    match PropertyPath::try_read(r, &c)? {
                        Some(p) => path = Some(p),
                        None => r.skip(&c)?,
                    }
                }
                Restriction::Exists(r.required(start, path, "Path")?)
            }
            "And" | "Or" => {
                let is_and = local == "And";
                let mut list = Vec::new();
                while let Some(c) = r.next_child(start)? {
                    match Restriction::try_read(r, &c)? {
                        Some(e) => list.push(e),
                        None => r.skip(&c)?,
                    }
                }
                if is_and {
                    Restriction::And(list)
                } else {
                    Restriction::Or(list)
                }
            }
            "Not" => {
                let mut inner = None;
                while let Some(c) = r.next_child(start)? {
                    match Restriction::try_read(r, &c)? {
                        Some(e) if inner.is_none() => inner = Some(e),
                        _ => r.skip(&c)?,
                    }
                }
                Restriction::Not(Box::new(r.required(start, inner, "SearchExpression")?))
            }
            _ => return Ok(None),
        };
        Ok(Some(out))
    }
}

/// A `m:Restriction` wrapper element holding one expression.
impl WriteXml for Restriction {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| self.write(w));
    }
}

impl ReadXml for Restriction {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut found = None;
        while let Some(c) = r.next_child(start)? {
            match Restriction::try_read(r, &c)? {
                Some(e) if found.is_none() => found = Some(e),
                _ => r.skip(&c)?,
            }
        }
        r.required(start, found, "SearchExpression")
    }
}

string_enum! {
    /// Sort direction (`t:SortDirectionType`).
    SortDirection {
        /// Ascending.
        Ascending = "Ascending",
        /// Descending.
        Descending = "Descending",
    }
}

/// One sort key (`t:FieldOrder`); a `m:SortOrder` is a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOrder {
    /// The property.
    pub path: PropertyPath,
    /// The direction.
    pub order: SortDirection,
}

impl FieldOrder {
    /// Ascending by `path`.
    pub fn ascending(path: PropertyPath) -> Self {
        Self {
            path,
            order: SortDirection::Ascending,
        }
    }

    /// Descending by `path`.
    pub fn descending(path: PropertyPath) -> Self {
        Self {
            path,
            order: SortDirection::Descending,
        }
    }
}

impl WriteXml for FieldOrder {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("Order", &self.order)
            .children(|w| self.path.write(w));
    }
}

impl ReadXml for FieldOrder {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let order = start.required_attr_value(r, "Order")?;
        let mut path = None;
        while let Some(c) = r.next_child(start)? {
            match PropertyPath::try_read(r, &c)? {
                Some(p) => path = Some(p),
                None => r.skip(&c)?,
            }
        }
        Ok(Self {
            path: r.required(start, path, "Path")?,
            order,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restriction_round_trip() {
        let restriction = Restriction::And(vec![
            Restriction::equals(PropertyPath::field("item:ItemClass"), "IPM.Contact"),
            Restriction::Not(Box::new(Restriction::Exists(PropertyPath::field(
                "contacts:Birthday",
            )))),
            Restriction::Or(vec![
                Restriction::contains(PropertyPath::field("item:Subject"), "Müller & Co"),
                Restriction::Compare {
                    op: CompareOp::IsGreaterThan,
                    path: PropertyPath::field("item:LastModifiedTime"),
                    operand: Operand::Path(PropertyPath::field("item:DateTimeCreated")),
                },
            ]),
        ]);
        let mut w = XmlWriter::new();
        w.start_root(Ns::Messages, "Root").open();
        restriction.write_xml(&mut w, Ns::Messages, "Restriction");
        FieldOrder::descending(PropertyPath::field("item:DateTimeReceived")).write_xml(
            &mut w,
            Ns::Types,
            "FieldOrder",
        );
        w.end(Ns::Messages, "Root");
        let bytes = w.into_bytes();
        let mut r = XmlReader::new(&bytes);
        let root = r.root().unwrap();
        let c = r.next_child(&root).unwrap().unwrap();
        assert_eq!(Restriction::read_xml(&mut r, &c).unwrap(), restriction);
        let c = r.next_child(&root).unwrap().unwrap();
        assert_eq!(
            FieldOrder::read_xml(&mut r, &c).unwrap(),
            FieldOrder::descending(PropertyPath::field("item:DateTimeReceived"))
        );
    }
}
