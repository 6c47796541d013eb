use super::*;

const SAMPLE: &str = r#"<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <!-- a comment -->
  <soap:Body>
    <GetItemResponse xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"
                     xmlns:x="http://schemas.microsoft.com/exchange/services/2006/types">
      <Unknown><Deep><Deeper/></Deep></Unknown>
      <x:Contact>
        <x:DisplayName>A &amp; B</x:DisplayName>
        <x:Birthday>1980-02-29Z</x:Birthday>
        <x:Notes><![CDATA[<raw>]]> tail</x:Notes>
        <x:ItemId Id="AAA=" ChangeKey="CK&quot;1"/>
        <x:Empty/>
      </x:Contact>
    </GetItemResponse>
  </soap:Body>
</soap:Envelope>"#;

#[test]
fn reads_by_namespace_and_local_name_whatever_the_prefix() {
    let mut r = XmlReader::new(SAMPLE.as_bytes());
    let env = r.root().unwrap();
    assert!(env.is(Ns::Soap, "Envelope"));
    let body = r.next_child(&env).unwrap().unwrap();
    assert!(body.is(Ns::Soap, "Body"));
    let resp = r.next_child(&body).unwrap().unwrap();
    assert!(resp.is(Ns::Messages, "GetItemResponse"));
    let unknown = r.next_child(&resp).unwrap().unwrap();
    assert_eq!(unknown.local(), "Unknown");
    r.skip(&unknown).unwrap();
    let contact = r.next_child(&resp).unwrap().unwrap();
    assert!(contact.is(Ns::Types, "Contact"));
    let mut seen = Vec::new();
    while let Some(c) = r.next_child(&contact).unwrap() {
        match c.local() {
            "DisplayName" => assert_eq!(r.text(&c).unwrap(), "A & B"),
            "Birthday" => assert_eq!(
                r.value::<chrono::NaiveDate>(&c).unwrap(),
                chrono::NaiveDate::from_ymd_opt(1980, 2, 29).unwrap()
            ),
            "Notes" => assert_eq!(r.text(&c).unwrap(), "<raw> tail"),
            "ItemId" => {
                assert_eq!(c.attr("Id").unwrap().unwrap(), "AAA=");
                assert_eq!(c.attr("ChangeKey").unwrap().unwrap(), "CK\"1");
                assert!(c.attr("Missing").unwrap().is_none());
            }
            "Empty" => assert_eq!(r.text(&c).unwrap(), ""),
            other => panic!("unexpected {other}"),
        }
        seen.push(c.local().to_owned());
    }
    assert_eq!(
        seen,
        ["DisplayName", "Birthday", "Notes", "ItemId", "Empty"]
    );
    assert!(r.next_child(&resp).unwrap().is_none());
    assert!(r.next_child(&body).unwrap().is_none());
    assert!(r.next_child(&env).unwrap().is_none());
    r.finish().unwrap();
}

#[test]
fn unconsumed_children_are_skipped() {
    let mut r = XmlReader::new(SAMPLE.as_bytes());
    let env = r.root().unwrap();
    let body = r.next_child(&env).unwrap().unwrap();
    let resp = r.next_child(&body).unwrap().unwrap();
    let _unknown = r.next_child(&resp).unwrap().unwrap();
    // not consumed: the reader skips it
    let contact = r.next_child(&resp).unwrap().unwrap();
    assert_eq!(contact.local(), "Contact");
    let _name = r.next_child(&contact).unwrap().unwrap();
    // leave Contact mid-way
    assert!(r.next_child(&resp).unwrap().is_none());
    assert!(r.next_child(&body).unwrap().is_none());
}

#[test]
fn errors_carry_the_element_path() {
    let doc = br#"<t:Contact xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Birthday>yesterday</t:Birthday></t:Contact>"#;
    let mut r = XmlReader::new(doc);
    let root = r.root().unwrap();
    let child = r.next_child(&root).unwrap().unwrap();
    let err = r.value::<chrono::NaiveDate>(&child).unwrap_err();
    assert_eq!(err.path(), "Contact/Birthday");
    assert!(err.to_string().contains("yesterday"), "{err}");

    let doc = b"<a><b><c></b></a>";
    let mut r = XmlReader::new(doc);
    let a = r.root().unwrap();
    let b = r.next_child(&a).unwrap().unwrap();
    let err = r.skip(&b).unwrap_err();
    assert!(matches!(err, XmlError::Syntax { .. }), "{err:?}");

    let mut r = XmlReader::new(b"<a><b>");
    let a = r.root().unwrap();
    let b = r.next_child(&a).unwrap().unwrap();
    let err = r.text(&b).unwrap_err();
    assert!(matches!(err, XmlError::UnexpectedEof { .. }), "{err:?}");
    assert_eq!(err.path(), "a/b");

    let mut r = XmlReader::new(b"");
    assert!(matches!(r.root(), Err(XmlError::UnexpectedEof { .. })));
}

#[test]
fn writer_escapes_and_round_trips() {
    let mut w = XmlWriter::new();
    w.declaration();
    w.start_root(Ns::Soap, "Envelope").open();
    w.element(Ns::Soap, "Body", |w| {
        w.start(Ns::Types, "ItemId")
            .attr("Id", "a<b>&\"c\"")
            .attr_opt("ChangeKey", None::<&String>)
            .empty();
        w.value(Ns::Types, "IsRead", &true);
        w.text_element(Ns::Types, "Subject", "Grüße <& >");
    });
    w.end(Ns::Soap, "Envelope");
    let xml = w.into_string();
    assert!(
        xml.contains(r#"<t:ItemId Id="a&lt;b&gt;&amp;&quot;c&quot;"/>"#),
        "{xml}"
    );

    let mut r = XmlReader::new(xml.as_bytes());
    let env = r.root().unwrap();
    let body = r.next_child(&env).unwrap().unwrap();
    let id = r.next_child(&body).unwrap().unwrap();
    assert_eq!(id.attr("Id").unwrap().unwrap(), "a<b>&\"c\"");
    let is_read = r.next_child(&body).unwrap().unwrap();
    assert!(r.value::<bool>(&is_read).unwrap());
    let subject = r.next_child(&body).unwrap().unwrap();
    assert_eq!(r.text(&subject).unwrap(), "Grüße <& >");
}

#[test]
fn date_times_accept_offsets_and_write_utc() {
    use chrono::{DateTime, Utc};
    let cases = [
        ("2024-05-01T09:30:00Z", "2024-05-01T09:30:00Z"),
        ("2024-05-01T11:30:00+02:00", "2024-05-01T09:30:00Z"),
        ("2024-05-01T09:30:00", "2024-05-01T09:30:00Z"),
        ("2024-05-01T09:30:00.123Z", "2024-05-01T09:30:00Z"),
    ];
    for (input, written) in cases {
        let dt = DateTime::<Utc>::from_xml_value(input).unwrap();
        assert_eq!(dt.to_xml_value(), written, "{input}");
    }
    assert!(DateTime::<Utc>::from_xml_value("tomorrow").is_err());
}

#[test]
fn forbidden_characters_are_dropped_and_carriage_returns_survive() {
    let mut w = XmlWriter::new();
    w.start_root(Ns::Types, "Root").open();
    w.text_element(Ns::Types, "Notes", "a\u{b}b\r\nc\u{fffe}");
    w.start(Ns::Types, "X").attr("v", "1\u{0}2\r").empty();
    w.end(Ns::Types, "Root");
    let xml = w.into_string();
    assert!(!xml.contains('\u{b}') && !xml.contains('\u{0}'), "{xml:?}");
    let mut r = XmlReader::new(xml.as_bytes());
    let root = r.root().unwrap();
    let notes = r.next_child(&root).unwrap().unwrap();
    assert_eq!(r.text(&notes).unwrap(), "ab\r\nc");
    let x = r.next_child(&root).unwrap().unwrap();
    assert_eq!(x.attr("v").unwrap().unwrap(), "12\r");
    assert_eq!(xml_safe("ok\tfine\n"), "ok\tfine\n");
    assert_eq!(xml_safe("bad\u{1}"), "bad");
}
