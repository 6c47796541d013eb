//! Contacts (`t:Contact`, `t:ContactItemType`) with their indexed fields: e-mail addresses,
//! phone numbers, physical addresses and IM addresses.

use super::fields::item_fields;
use super::ids::string_enum;
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

item_fields! {
    /// A contact (`t:Contact`). Notes are the item [`Body`](super::body::Body); categories are in
    /// [`ItemCommon`](super::item::ItemCommon).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Contact: ItemCommon {
        /// How the contact is filed ("Doe, Jane").
        file_as: Option<String> => "FileAs" value, rw "contacts:FileAs";
        /// How `file_as` is composed.
        file_as_mapping: Option<FileAsMapping> => "FileAsMapping" value, rw "contacts:FileAsMapping";
        /// The display name.
        display_name: Option<String> => "DisplayName" value, rw "contacts:DisplayName";
        /// First name.
        given_name: Option<String> => "GivenName" value, rw "contacts:GivenName";
        /// Initials.
        initials: Option<String> => "Initials" value, rw "contacts:Initials";
        /// Middle name.
        middle_name: Option<String> => "MiddleName" value, rw "contacts:MiddleName";
        /// Nickname.
        nickname: Option<String> => "Nickname" value, rw "contacts:Nickname";
        /// The composed name parts (read-only; holds the title).
        complete_name: Option<CompleteName> => "CompleteName" element, ro "contacts:CompleteName";
        /// Company.
        company_name: Option<String> => "CompanyName" value, rw "contacts:CompanyName";
        /// E-mail addresses (up to three).
        email_addresses: Vec<EmailAddressEntry> => "EmailAddresses" list("Entry"), ro "contacts:EmailAddresses";
        /// Postal addresses.
        physical_addresses: Vec<PhysicalAddressEntry> => "PhysicalAddresses" list("Entry"), ro "contacts:PhysicalAddresses";
        /// Phone numbers.
        phone_numbers: Vec<PhoneNumberEntry> => "PhoneNumbers" list("Entry"), ro "contacts:PhoneNumbers";
        /// The assistant's name.
        assistant_name: Option<String> => "AssistantName" value, rw "contacts:AssistantName";
        /// Birthday (an `xs:dateTime`; Exchange stores a time of day with it).
        birthday: Option<DateTime<Utc>> => "Birthday" value, rw "contacts:Birthday";
        /// Business web page.
        business_home_page: Option<String> => "BusinessHomePage" value, rw "contacts:BusinessHomePage";
        /// Children's names.
        children: Vec<String> => "Children" strings, rw "contacts:Children";
        /// Companies.
        companies: Vec<String> => "Companies" strings, rw "contacts:Companies";
        /// Department.
        department: Option<String> => "Department" value, rw "contacts:Department";
        /// Generation / suffix ("Jr.").
        generation: Option<String> => "Generation" value, rw "contacts:Generation";
        /// Instant messaging addresses.
        im_addresses: Vec<ImAddressEntry> => "ImAddresses" list("Entry"), ro "contacts:ImAddresses";
        /// Job title.
        job_title: Option<String> => "JobTitle" value, rw "contacts:JobTitle";
        /// Manager's name.
        manager: Option<String> => "Manager" value, rw "contacts:Manager";
        /// Mileage.
        mileage: Option<String> => "Mileage" value, rw "contacts:Mileage";
        /// Office location.
        office_location: Option<String> => "OfficeLocation" value, rw "contacts:OfficeLocation";
        /// Which physical address is the postal address.
        postal_address_index: Option<PhysicalAddressIndex> => "PostalAddressIndex" value, rw "contacts:PostalAddressIndex";
        /// Profession.
        profession: Option<String> => "Profession" value, rw "contacts:Profession";
        /// Spouse's name.
        spouse_name: Option<String> => "SpouseName" value, rw "contacts:SpouseName";
        /// Last name.
        surname: Option<String> => "Surname" value, rw "contacts:Surname";
        /// Wedding anniversary.
        wedding_anniversary: Option<DateTime<Utc>> => "WeddingAnniversary" value, rw "contacts:WeddingAnniversary";
        /// Whether the contact has a picture.
        has_picture: Option<bool> => "HasPicture" value, ro "contacts:HasPicture";
    }
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
