//! Contacts (`t:Contact`, `t:ContactItemType`) with their indexed fields: e-mail addresses,
//! phone numbers, physical addresses and IM addresses.

use super::ids::string_enum;
use super::item::{ItemCommon, read_strings, write_strings};
use super::mailbox::MailboxType;
use super::paths::{ExtendedFieldUri, ExtendedProperty, MapiPropertyType};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};
use chrono::{DateTime, NaiveDate, Utc};

string_enum! {
    /// How a contact is filed (`t:FileAsMappingType`).
    FileAsMapping {
        /// None.
        None = "None",
        /// "Last, First".
        LastCommaFirst = "LastCommaFirst",
        /// "First Last".
        FirstSpaceLast = "FirstSpaceLast",
        /// Company.
        Company = "Company",
        /// "Last, First (Company)".
        LastCommaFirstCompany = "LastCommaFirstCompany",
        /// "Company (Last First)".
        CompanyLastFirst = "CompanyLastFirst",
        /// "Last First".
        LastFirst = "LastFirst",
        /// "Last First (Company)".
        LastFirstCompany = "LastFirstCompany",
        /// "Company (Last, First)".
        CompanyLastCommaFirst = "CompanyLastCommaFirst",
        /// "Last First Suffix".
        LastFirstSuffix = "LastFirstSuffix",
        /// "Last First (Company)" with a space.
        LastSpaceFirstCompany = "LastSpaceFirstCompany",
        /// "Company (Last First)" with a space.
        CompanyLastSpaceFirst = "CompanyLastSpaceFirst",
        /// "Last First" with a space.
        LastSpaceFirst = "LastSpaceFirst",
        /// The display name.
        DisplayName = "DisplayName",
        /// The first name.
        FirstName = "FirstName",
        /// "Last First Middle Suffix".
        LastFirstMiddleSuffix = "LastFirstMiddleSuffix",
        /// The last name.
        LastName = "LastName",
        /// Empty.
        Empty = "Empty",
    }
}

string_enum! {
    /// The slots of a contact's e-mail addresses (`t:EmailAddressKeyType`).
    EmailAddressKey {
        /// First address.
        EmailAddress1 = "EmailAddress1",
        /// Second address.
        EmailAddress2 = "EmailAddress2",
        /// Third address.
        EmailAddress3 = "EmailAddress3",
    }
}

string_enum! {
    /// The kinds of phone numbers (`t:PhoneNumberKeyType`).
    PhoneNumberKey {
        /// Assistant.
        AssistantPhone = "AssistantPhone",
        /// Business fax.
        BusinessFax = "BusinessFax",
        /// Business phone.
        BusinessPhone = "BusinessPhone",
        /// Second business phone.
        BusinessPhone2 = "BusinessPhone2",
        /// Callback.
        Callback = "Callback",
        /// Car phone.
        CarPhone = "CarPhone",
        /// Company main phone.
        CompanyMainPhone = "CompanyMainPhone",
        /// Home fax.
        HomeFax = "HomeFax",
        /// Home phone.
        HomePhone = "HomePhone",
        /// Second home phone.
        HomePhone2 = "HomePhone2",
        /// ISDN.
        Isdn = "Isdn",
        /// Mobile phone.
        MobilePhone = "MobilePhone",
        /// Other fax.
        OtherFax = "OtherFax",
        /// Other phone.
        OtherTelephone = "OtherTelephone",
        /// Pager.
        Pager = "Pager",
        /// Primary phone.
        PrimaryPhone = "PrimaryPhone",
        /// Radio phone.
        RadioPhone = "RadioPhone",
        /// Telex.
        Telex = "Telex",
        /// TTY/TDD phone.
        TtyTddPhone = "TtyTddPhone",
        /// Business mobile.
        BusinessMobile = "BusinessMobile",
        /// IP phone.
        IpPhone = "IPPhone",
        /// MMS.
        Mms = "Mms",
        /// MSN.
        Msn = "Msn",
    }
}

string_enum! {
    /// The kinds of physical addresses (`t:PhysicalAddressKeyType`).
    PhysicalAddressKey {
        /// Home.
        Home = "Home",
        /// Business.
        Business = "Business",
        /// Other.
        Other = "Other",
    }
}

string_enum! {
    /// The slots of a contact's instant messaging addresses (`t:ImAddressKeyType`).
    ImAddressKey {
        /// First address.
        ImAddress1 = "ImAddress1",
        /// Second address.
        ImAddress2 = "ImAddress2",
        /// Third address.
        ImAddress3 = "ImAddress3",
    }
}

string_enum! {
    /// Which physical address is the postal address (`t:PhysicalAddressIndexType`).
    PhysicalAddressIndex {
        /// None.
        None = "None",
        /// Business.
        Business = "Business",
        /// Home.
        Home = "Home",
        /// Other.
        Other = "Other",
    }
}

/// A contact's e-mail address entry (`t:EmailAddresses/t:Entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddressEntry {
    /// Which slot.
    pub key: EmailAddressKey,
    /// The address.
    pub address: String,
    /// The display name for the address.
    pub name: Option<String>,
    /// The routing type (e.g. `SMTP`).
    pub routing_type: Option<String>,
    /// The mailbox type.
    pub mailbox_type: Option<MailboxType>,
}

impl EmailAddressEntry {
    /// An entry with just an address.
    pub fn new(key: EmailAddressKey, address: impl Into<String>) -> Self {
        Self {
            key,
            address: address.into(),
            name: None,
            routing_type: None,
            mailbox_type: None,
        }
    }
}

impl WriteXml for EmailAddressEntry {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("Key", &self.key)
            .attr_opt("Name", self.name.as_ref())
            .attr_opt("RoutingType", self.routing_type.as_ref())
            .attr_opt("MailboxType", self.mailbox_type.as_ref())
            .text(&self.address);
    }
}

impl ReadXml for EmailAddressEntry {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let key = start.required_attr_value(r, "Key")?;
        let name = start.attr_value(r, "Name")?;
        let routing_type = start.attr_value(r, "RoutingType")?;
        let mailbox_type = start.attr_value(r, "MailboxType")?;
        let address = r.text(start)?.into_owned();
        Ok(Self {
            key,
            address,
            name,
            routing_type,
            mailbox_type,
        })
    }
}

/// A phone number entry (`t:PhoneNumbers/t:Entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumberEntry {
    /// Which kind.
    pub key: PhoneNumberKey,
    /// The number as entered.
    pub number: String,
}

impl PhoneNumberEntry {
    /// An entry.
    pub fn new(key: PhoneNumberKey, number: impl Into<String>) -> Self {
        Self {
            key,
            number: number.into(),
        }
    }
}

impl WriteXml for PhoneNumberEntry {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("Key", &self.key)
            .text(&self.number);
    }
}

impl ReadXml for PhoneNumberEntry {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let key = start.required_attr_value(r, "Key")?;
        let number = r.text(start)?.into_owned();
        Ok(Self { key, number })
    }
}

/// An instant messaging address entry (`t:ImAddresses/t:Entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImAddressEntry {
    /// Which slot.
    pub key: ImAddressKey,
    /// The address.
    pub address: String,
}

impl WriteXml for ImAddressEntry {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("Key", &self.key)
            .text(&self.address);
    }
}

impl ReadXml for ImAddressEntry {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let key = start.required_attr_value(r, "Key")?;
        let address = r.text(start)?.into_owned();
        Ok(Self { key, address })
    }
}

/// A postal address entry (`t:PhysicalAddresses/t:Entry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhysicalAddressEntry {
    /// Which kind.
    pub key: PhysicalAddressKey,
    /// Street (may hold several lines).
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub state: Option<String>,
    /// Country or region.
    pub country_or_region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
}

impl PhysicalAddressEntry {
    /// An empty entry of a kind.
    pub fn new(key: PhysicalAddressKey) -> Self {
        Self {
            key,
            street: None,
            city: None,
            state: None,
            country_or_region: None,
            postal_code: None,
        }
    }

    /// The parts with their dictionary field URIs (`contacts:PhysicalAddress:Street`, ...),
    /// in schema order.
    pub fn parts(&self) -> [(&'static str, &Option<String>); 5] {
        [
            ("contacts:PhysicalAddress:Street", &self.street),
            ("contacts:PhysicalAddress:City", &self.city),
            ("contacts:PhysicalAddress:State", &self.state),
            (
                "contacts:PhysicalAddress:CountryOrRegion",
                &self.country_or_region,
            ),
            ("contacts:PhysicalAddress:PostalCode", &self.postal_code),
        ]
    }

    /// The part named by a dictionary field URI, mutably.
    pub fn part_mut(&mut self, field_uri: &str) -> Option<&mut Option<String>> {
        match field_uri {
            "contacts:PhysicalAddress:Street" => Some(&mut self.street),
            "contacts:PhysicalAddress:City" => Some(&mut self.city),
            "contacts:PhysicalAddress:State" => Some(&mut self.state),
            "contacts:PhysicalAddress:CountryOrRegion" => Some(&mut self.country_or_region),
            "contacts:PhysicalAddress:PostalCode" => Some(&mut self.postal_code),
            _ => None,
        }
    }
}

impl WriteXml for PhysicalAddressEntry {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("Key", &self.key)
            .children(|w| {
                let t = Ns::Types;
                w.opt_value(t, "Street", self.street.as_ref());
                w.opt_value(t, "City", self.city.as_ref());
                w.opt_value(t, "State", self.state.as_ref());
                w.opt_value(t, "CountryOrRegion", self.country_or_region.as_ref());
                w.opt_value(t, "PostalCode", self.postal_code.as_ref());
            });
    }
}

impl ReadXml for PhysicalAddressEntry {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self::new(start.required_attr_value(r, "Key")?);
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Types {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "Street" => out.street = Some(r.value(&c)?),
                "City" => out.city = Some(r.value(&c)?),
                "State" => out.state = Some(r.value(&c)?),
                "CountryOrRegion" => out.country_or_region = Some(r.value(&c)?),
                "PostalCode" => out.postal_code = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(out)
    }
}

/// The parts of a contact's name as the server composes them (`t:CompleteName`).
///
/// Read-only in EWS: set the name through [`Contact::given_name`], [`Contact::surname`], ...;
/// the title (prefix, "Dr.") has no writable EWS field, use [`Contact::title_property`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompleteName {
    /// Title / prefix ("Dr.").
    pub title: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Middle name.
    pub middle_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Suffix ("Jr.").
    pub suffix: Option<String>,
    /// Initials.
    pub initials: Option<String>,
    /// Full name.
    pub full_name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Phonetic first name.
    pub yomi_first_name: Option<String>,
    /// Phonetic last name.
    pub yomi_last_name: Option<String>,
}

impl WriteXml for CompleteName {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            let t = Ns::Types;
            w.opt_value(t, "Title", self.title.as_ref());
            w.opt_value(t, "FirstName", self.first_name.as_ref());
            w.opt_value(t, "MiddleName", self.middle_name.as_ref());
            w.opt_value(t, "LastName", self.last_name.as_ref());
            w.opt_value(t, "Suffix", self.suffix.as_ref());
            w.opt_value(t, "Initials", self.initials.as_ref());
            w.opt_value(t, "FullName", self.full_name.as_ref());
            w.opt_value(t, "Nickname", self.nickname.as_ref());
            w.opt_value(t, "YomiFirstName", self.yomi_first_name.as_ref());
            w.opt_value(t, "YomiLastName", self.yomi_last_name.as_ref());
        });
    }
}

impl ReadXml for CompleteName {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self::default();
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Types {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "Title" => out.title = Some(r.value(&c)?),
                "FirstName" => out.first_name = Some(r.value(&c)?),
                "MiddleName" => out.middle_name = Some(r.value(&c)?),
                "LastName" => out.last_name = Some(r.value(&c)?),
                "Suffix" => out.suffix = Some(r.value(&c)?),
                "Initials" => out.initials = Some(r.value(&c)?),
                "FullName" => out.full_name = Some(r.value(&c)?),
                "Nickname" => out.nickname = Some(r.value(&c)?),
                "YomiFirstName" => out.yomi_first_name = Some(r.value(&c)?),
                "YomiLastName" => out.yomi_last_name = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(out)
    }
}

/// A contact (`t:Contact`). Notes are the item [`Body`](super::body::Body); categories are in
/// [`ItemCommon`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Contact {
    /// The `t:ItemType` fields.
    pub common: ItemCommon,
    /// How the contact is filed ("Doe, Jane").
    pub file_as: Option<String>,
    /// How `file_as` is composed.
    pub file_as_mapping: Option<FileAsMapping>,
    /// The display name.
    pub display_name: Option<String>,
    /// First name.
    pub given_name: Option<String>,
    /// Initials.
    pub initials: Option<String>,
    /// Middle name.
    pub middle_name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// The composed name parts (read-only; holds the title).
    pub complete_name: Option<CompleteName>,
    /// Company.
    pub company_name: Option<String>,
    /// E-mail addresses (up to three).
    pub email_addresses: Vec<EmailAddressEntry>,
    /// Postal addresses.
    pub physical_addresses: Vec<PhysicalAddressEntry>,
    /// Phone numbers.
    pub phone_numbers: Vec<PhoneNumberEntry>,
    /// The assistant's name.
    pub assistant_name: Option<String>,
    /// Birthday (an `xs:dateTime`; Exchange stores a time of day with it).
    pub birthday: Option<DateTime<Utc>>,
    /// Business web page.
    pub business_home_page: Option<String>,
    /// Children's names.
    pub children: Vec<String>,
    /// Companies.
    pub companies: Vec<String>,
    /// Department.
    pub department: Option<String>,
    /// Generation / suffix ("Jr.").
    pub generation: Option<String>,
    /// Instant messaging addresses.
    pub im_addresses: Vec<ImAddressEntry>,
    /// Job title.
    pub job_title: Option<String>,
    /// Manager's name.
    pub manager: Option<String>,
    /// Mileage.
    pub mileage: Option<String>,
    /// Office location.
    pub office_location: Option<String>,
    /// Which physical address is the postal address.
    pub postal_address_index: Option<PhysicalAddressIndex>,
    /// Profession.
    pub profession: Option<String>,
    /// Spouse's name.
    pub spouse_name: Option<String>,
    /// Last name.
    pub surname: Option<String>,
    /// Wedding anniversary.
    pub wedding_anniversary: Option<DateTime<Utc>>,
    /// Whether the contact has a picture.
    pub has_picture: Option<bool>,
}

impl Contact {
    /// The extended property that holds a contact's title (MAPI `PidTagDisplayNamePrefix`,
    /// tag `0x3A45`), the writable counterpart of `CompleteName/Title`.
    pub fn title_property() -> ExtendedFieldUri {
        ExtendedFieldUri::tagged("0x3A45", MapiPropertyType::String)
    }

    /// The title: the extended property if present, else `CompleteName/Title`.
    pub fn title(&self) -> Option<&str> {
        self.common
            .extended_property(&Self::title_property())
            .and_then(|p| p.as_single())
            .or_else(|| self.complete_name.as_ref()?.title.as_deref())
    }

    /// Sets the title through [`Contact::title_property`] (the only writable way), or removes
    /// it with `None`.
    pub fn set_title(&mut self, title: Option<&str>) {
        let uri = Self::title_property();
        match title {
            Some(t) => self
                .common
                .set_extended_property(ExtendedProperty::string(uri, t)),
            None => self
                .common
                .extended_properties
                .retain(|p| !p.uri.same_property(&uri)),
        }
    }

    /// The birthday as a date. Exchange stores a date-time whose time depends on the client
    /// that set it (local midnight, 11:59, ...); rounding to the nearest UTC midnight gives
    /// the intended day for any client offset within ±12 hours.
    pub fn birthday_date(&self) -> Option<NaiveDate> {
        self.birthday.map(nearest_date)
    }

    /// Sets the birthday to a date, stored at 11:59 UTC (as Exchange does) so that clients
    /// within about ±12 hours of UTC show the same day.
    pub fn set_birthday_date(&mut self, date: Option<NaiveDate>) {
        self.birthday = date.map(before_noon_utc);
    }

    /// The wedding anniversary as a date (see [`Contact::birthday_date`]).
    pub fn wedding_anniversary_date(&self) -> Option<NaiveDate> {
        self.wedding_anniversary.map(nearest_date)
    }

    /// The e-mail address in a slot.
    pub fn email(&self, key: EmailAddressKey) -> Option<&EmailAddressEntry> {
        self.email_addresses.iter().find(|e| e.key == key)
    }

    /// The phone number of a kind.
    pub fn phone(&self, key: PhoneNumberKey) -> Option<&str> {
        self.phone_numbers
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.number.as_str())
    }

    /// The postal address of a kind.
    pub fn address(&self, key: PhysicalAddressKey) -> Option<&PhysicalAddressEntry> {
        self.physical_addresses.iter().find(|e| e.key == key)
    }
}

fn nearest_date(at: DateTime<Utc>) -> NaiveDate {
    (at + chrono::TimeDelta::hours(12)).date_naive()
}

fn before_noon_utc(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc() + chrono::TimeDelta::minutes(11 * 60 + 59)
}

fn write_entries<T: WriteXml>(w: &mut XmlWriter, name: &str, list: &[T]) {
    if list.is_empty() {
        return;
    }
    w.element(Ns::Types, name, |w| w.write_all(Ns::Types, "Entry", list));
}

impl WriteXml for Contact {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let t = Ns::Types;
        w.element(ns, name, |w| {
            self.common.write_fields(w);
            w.opt_value(t, "FileAs", self.file_as.as_ref());
            w.opt_value(t, "FileAsMapping", self.file_as_mapping.as_ref());
            w.opt_value(t, "DisplayName", self.display_name.as_ref());
            w.opt_value(t, "GivenName", self.given_name.as_ref());
            w.opt_value(t, "Initials", self.initials.as_ref());
            w.opt_value(t, "MiddleName", self.middle_name.as_ref());
            w.opt_value(t, "Nickname", self.nickname.as_ref());
            w.opt_write(t, "CompleteName", self.complete_name.as_ref());
            w.opt_value(t, "CompanyName", self.company_name.as_ref());
            write_entries(w, "EmailAddresses", &self.email_addresses);
            write_entries(w, "PhysicalAddresses", &self.physical_addresses);
            write_entries(w, "PhoneNumbers", &self.phone_numbers);
            w.opt_value(t, "AssistantName", self.assistant_name.as_ref());
            w.opt_value(t, "Birthday", self.birthday.as_ref());
            w.opt_value(t, "BusinessHomePage", self.business_home_page.as_ref());
            write_strings(w, "Children", &self.children);
            write_strings(w, "Companies", &self.companies);
            w.opt_value(t, "Department", self.department.as_ref());
            w.opt_value(t, "Generation", self.generation.as_ref());
            write_entries(w, "ImAddresses", &self.im_addresses);
            w.opt_value(t, "JobTitle", self.job_title.as_ref());
            w.opt_value(t, "Manager", self.manager.as_ref());
            w.opt_value(t, "Mileage", self.mileage.as_ref());
            w.opt_value(t, "OfficeLocation", self.office_location.as_ref());
            w.opt_value(t, "PostalAddressIndex", self.postal_address_index.as_ref());
            w.opt_value(t, "Profession", self.profession.as_ref());
            w.opt_value(t, "SpouseName", self.spouse_name.as_ref());
            w.opt_value(t, "Surname", self.surname.as_ref());
            w.opt_value(t, "WeddingAnniversary", self.wedding_anniversary.as_ref());
            w.opt_value(t, "HasPicture", self.has_picture.as_ref());
        });
    }
}

impl ReadXml for Contact {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut x = Self::default();
        let t = Ns::Types;
        while let Some(c) = r.next_child(start)? {
            if x.common.read_field(r, &c)? {
                continue;
            }
            if c.ns() != t {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "FileAs" => x.file_as = Some(r.value(&c)?),
                "FileAsMapping" => x.file_as_mapping = Some(r.value(&c)?),
                "DisplayName" => x.display_name = Some(r.value(&c)?),
                "GivenName" => x.given_name = Some(r.value(&c)?),
                "Initials" => x.initials = Some(r.value(&c)?),
                "MiddleName" => x.middle_name = Some(r.value(&c)?),
                "Nickname" => x.nickname = Some(r.value(&c)?),
                "CompleteName" => x.complete_name = Some(CompleteName::read_xml(r, &c)?),
                "CompanyName" => x.company_name = Some(r.value(&c)?),
                "EmailAddresses" => x.email_addresses = r.read_list(&c, t, "Entry")?,
                "PhysicalAddresses" => x.physical_addresses = r.read_list(&c, t, "Entry")?,
                "PhoneNumbers" => x.phone_numbers = r.read_list(&c, t, "Entry")?,
                "AssistantName" => x.assistant_name = Some(r.value(&c)?),
                "Birthday" => x.birthday = Some(r.value(&c)?),
                "BusinessHomePage" => x.business_home_page = Some(r.value(&c)?),
                "Children" => x.children = read_strings(r, &c)?,
                "Companies" => x.companies = read_strings(r, &c)?,
                "Department" => x.department = Some(r.value(&c)?),
                "Generation" => x.generation = Some(r.value(&c)?),
                "ImAddresses" => x.im_addresses = r.read_list(&c, t, "Entry")?,
                "JobTitle" => x.job_title = Some(r.value(&c)?),
                "Manager" => x.manager = Some(r.value(&c)?),
                "Mileage" => x.mileage = Some(r.value(&c)?),
                "OfficeLocation" => x.office_location = Some(r.value(&c)?),
                "PostalAddressIndex" => x.postal_address_index = Some(r.value(&c)?),
                "Profession" => x.profession = Some(r.value(&c)?),
                "SpouseName" => x.spouse_name = Some(r.value(&c)?),
                "Surname" => x.surname = Some(r.value(&c)?),
                "WeddingAnniversary" => x.wedding_anniversary = Some(r.value(&c)?),
                "HasPicture" => x.has_picture = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(x)
    }
}
